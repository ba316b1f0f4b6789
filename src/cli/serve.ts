import type { Command } from 'commander';
import { TOKEN_DEFAULT_DAYS } from '../access/tokens.js';
import { loadMasterKey, masterKeySource } from '../crypto/masterkey.js';
import { LogsError } from '../errors.js';
import { startService } from '../service/serve.js';
import { LogLayout } from '../store/file/index.js';
import { configFor, globals, type Io } from './context.js';
import { openForCli } from './open.js';
import { registerToken } from './token.js';

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export function registerServe(program: Command, io: Io): void {
  program
    .command('serve')
    .description(
      'run the HTTP service: ingest (JSON, NDJSON, OTLP), query, live tail, integrity, GDPR, tokens; and the scheduled jobs',
    )
    .option('--host <host>', 'address to listen on (default: service.host, 127.0.0.1)')
    .option('--port <port>', 'port (default: service.port, 8080; 0 picks a free one)')
    .option('--no-scheduler', 'do not run the built-in jobs in this process')
    .addHelpText(
      'after',
      '\nOn first start with no admin token, one is created and printed once; it expires in\n' +
        `${TOKEN_DEFAULT_DAYS} days (dihya-logs token rotate ID, the service stopped, replaces it).\n` +
        'SIGINT or SIGTERM stops it: no new connections, requests under way finish, buffered\n' +
        'records are written and checkpointed, then it exits.',
    )
    .action(async (opts: { host?: string; port?: string; scheduler: boolean }, cmd: Command) => {
      const config = configFor(cmd, { postgres: true });
      const port = opts.port === undefined ? undefined : portOf(opts.port);
      const layout = new LogLayout(config.dir);
      const masterKey = loadMasterKey(
        masterKeySource(globals(cmd).keyFile, config.masterKeyFile),
        layout.dir,
      );
      const logs = await openForCli(cmd, 'serve');
      let service;
      try {
        service = await startService({
          logs,
          masterKey,
          config,
          ...(opts.host === undefined ? {} : { host: opts.host }),
          ...(port === undefined ? {} : { port }),
          scheduler: opts.scheduler,
          say: (line) => io.out(`${line}\n`),
        });
      } catch (err) {
        await logs.close();
        throw err;
      }
      const signal = await new Promise<NodeJS.Signals>((resolve) => {
        // While these listeners are there, the open Logs only flush on a signal (exit.ts).
        const listener = (s: NodeJS.Signals): void => {
          for (const x of STOP_SIGNALS) process.removeListener(x, listener);
          resolve(s);
        };
        for (const s of STOP_SIGNALS) process.on(s, listener);
      });
      io.err(`dihya-logs serve: ${signal}: stopping\n`);
      try {
        await service.stop();
      } finally {
        await logs.close();
      }
      io.err('dihya-logs serve: stopped\n');
    });

  // Tokens are who may call the service: their commands (token.ts) come right after it.
  registerToken(program, io);
}

function portOf(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new LogsError('USAGE', '--port: expected 0-65535');
  return n;
}
