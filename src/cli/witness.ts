import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { LogsError } from '../errors.js';
import {
  createWitnessKey,
  loadWitnessConfig,
  loadWitnessKey,
  serveWitness,
  witnessVerifierKey,
} from '../witness/index.js';
import type { Io } from './context.js';
import { escapeTerminal } from './terminal.js';

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

/** `dihya-logs witness init|key|serve`: a c2sp.org/tlog-witness for other logs. */
export function registerWitness(program: Command, io: Io): void {
  const witness = program
    .command('witness')
    .description(
      'a transparency log witness (c2sp.org/tlog-witness): cosign other logs’ checkpoints',
    );
  witness
    .command('init')
    .description('make the witness key (mode 0600) and print its verifier key for log operators')
    .argument('<key-file>', 'where to write the key; never replaced, kept apart from any logs')
    .requiredOption('--name <name>', 'the witness name, e.g. witness.example.org/w1')
    .action((keyFile: string, opts: { name: string }) => {
      const vkey = createWitnessKey(keyFile, opts.name);
      io.out(`${vkey}\n`);
      io.err(
        `witness key written to ${escapeTerminal(keyFile)}; give the verifier key above to the operators of the logs it witnesses\n`,
      );
    });
  witness
    .command('key')
    .description('print the witness verifier key (from its key file or its configuration)')
    .argument('<file>', 'the witness key file, or the witness configuration')
    .action((file: string) => {
      io.out(`${witnessVerifierKey(keyFromFile(file))}\n`);
    });
  witness
    .command('serve')
    .description('run the witness HTTP server: POST /add-checkpoint, GET /<origin hash>/checkpoint')
    .argument('<config>', 'the witness configuration (YAML or JSON)')
    .option('--host <host>', 'address to listen on (default: host in the configuration, 127.0.0.1)')
    .option('--port <port>', 'port (default: port in the configuration, 7380; 0 picks a free one)')
    .addHelpText('after', '\nSIGINT or SIGTERM stops it once the requests under way are answered.')
    .action(async (file: string, opts: { host?: string; port?: string }) => {
      const config = loadWitnessConfig(file);
      const key = loadWitnessKey(config.keyFile, { name: config.name, stateDir: config.stateDir });
      const served = await serveWitness(
        config,
        {
          key,
          onRefused: (origin, err) =>
            io.err(
              escapeTerminal(`witness: refused ${origin}: ${err.code}: ${err.message}`) + '\n',
            ),
        },
        {
          ...(opts.host === undefined ? {} : { host: opts.host }),
          ...(opts.port === undefined ? {} : { port: portOf(opts.port) }),
        },
      );
      io.out(`witness ${escapeTerminal(config.name)} listening on ${served.url}\n`);
      io.out(`verifier key: ${witnessVerifierKey(key)}\n`);
      io.out(`witnessing ${config.logs.size} log(s)\n`);
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        const listener = (s: NodeJS.Signals): void => {
          for (const x of STOP_SIGNALS) process.removeListener(x, listener);
          resolve(s);
        };
        for (const s of STOP_SIGNALS) process.on(s, listener);
      });
      io.err(`dihya-logs witness: ${signal}: stopping\n`);
      await served.close();
    });
}

/** A key file starts with PRIVATE+KEY+; anything else is read as a configuration. */
function keyFromFile(file: string): ReturnType<typeof loadWitnessKey> {
  let head: string;
  try {
    head = readFileSync(file, 'utf8').slice(0, 12);
  } catch (err) {
    throw new LogsError('CONFIG_NOT_FOUND', `${file} cannot be read`, { cause: err });
  }
  if (head === 'PRIVATE+KEY+') return loadWitnessKey(file);
  const config = loadWitnessConfig(file);
  return loadWitnessKey(config.keyFile, { name: config.name, stateDir: config.stateDir });
}

function portOf(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new LogsError('USAGE', '--port: expected 0-65535');
  return n;
}
