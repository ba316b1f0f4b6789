/**
 * The server side of the service scenario, in a process of its own so it never shares an event
 * loop with the load generator. Usage:
 *
 *   node build/bench/service-server.js --dir <empty dir> [--peer]
 *
 * Without `--peer`: a fresh logs directory under `<dir>/logs` and the dihya-logs service on it
 * (`buildApp`, defaults, an `ingest` token). With `--peer`: what a team would build instead, a
 * minimal Fastify app whose `POST /events` writes each event with pino to `<dir>/pino.log`.
 * Prints one JSON line `{ url, token }` once listening. On SIGTERM (or when stdin closes: the
 * parent is gone) it closes everything, prints one JSON line of figures, and exits.
 */
import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import path from 'node:path';
import Fastify, { type FastifyInstance } from 'fastify';
import pino from 'pino';
import { initLogs } from '../src/index.js';
import { LogLayout } from '../src/store/file/index.js';
import { openLogCore } from '../src/log/open.js';
import { buildApp } from '../src/service/app.js';
import { DetectionEngine } from '../src/detect/engine.js';
import { TokenStore } from '../src/access/tokens.js';
import { startWitnessing } from '../src/service/witnessing.js';
import { parsePublicKey } from '../src/crypto/sign.js';
import { channelOrigin, logVerifierKey } from '../src/integrity/checkpoint-note.js';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The first line the server prints. */
export interface ServerReady {
  readonly url: string;
  /** `Authorization: Bearer <token>` (an `ingest` token; the peer ignores it). */
  readonly token: string;
}

/** The last line the server prints, after closing. */
export interface ServerSummary {
  /** Records stored (dihya-logs: all channels; peer: events handed to pino). */
  readonly records: number;
  /** Bytes written to the log files. */
  readonly bytes: number;
  /** fdatasync calls (dihya-logs; 0 for the peer: sonic-boom syncs once, as it closes). */
  readonly syncs: number;
  /** Failures reported to onError (dihya-logs) or by the destination (peer). */
  readonly errors: number;
  /** process.resourceUsage().maxRSS, in MB (10^6 bytes). */
  readonly peakRssMB: number;
  /** With witnesses: records of all channels cosigned by the quorum when it closed. */
  readonly witnessed?: number;
}

interface Server {
  readonly app: FastifyInstance;
  readonly token: string;
  close(): Promise<Omit<ServerSummary, 'peakRssMB'>>;
}

const WITNESS_HOST = fileURLToPath(new URL('./witness-host.js', import.meta.url));

async function dihya(dir: string, witnessCount: number): Promise<Server> {
  const logsDir = path.join(dir, 'logs');
  const masterKey = randomBytes(32);
  const { publicKey, logId } = initLogs({ dir: logsDir, masterKey });
  // Witnesses in a process of their own, as on another machine; the default interval (5 s).
  const { witnesses, stop: stopWitnesses } = await startWitnesses(
    dir,
    witnessCount,
    publicKey,
    logId,
  );
  let errors = 0;
  const logs = await openLogCore({
    dir: logsDir,
    masterKey,
    handleExit: false,
    settings: {
      index: { live: false },
      ...(witnesses.length === 0
        ? {}
        : {
            integrity: {
              witnesses,
              witness_quorum: witnesses.length,
            },
          }),
    },
    onError: () => {
      errors++;
    },
  });
  const tokens = TokenStore.open(new LogLayout(logsDir).keysDir);
  const { token } = tokens.create('ingest', 'bench');
  const app = await buildApp({ logs, tokens, masterKey });
  const witnessing = startWitnessing(logs, app.service.reads.index('witnessing'));
  // The detectors, as `dihya-logs serve` runs them (BENCH_DETECT=0 measures without).
  const detection =
    process.env.BENCH_DETECT === '0'
      ? undefined
      : new DetectionEngine({ logs, masterKey, onError: () => errors++ });
  return {
    app,
    token,
    close: async () => {
      await witnessing?.syncNow();
      const witnessed = witnessing?.status().reduce((n, c) => n + c.witnessed.size, 0);
      await witnessing?.close();
      stopWitnesses();
      await detection?.close();
      await app.close();
      tokens.close();
      await logs.close();
      let records = 0;
      let bytes = 0;
      let syncs = 0;
      for (const s of Object.values(logs.stats())) {
        records += s.records;
        bytes += s.bytes;
        syncs += s.syncs;
      }
      return { records, bytes, syncs, errors, ...(witnessed === undefined ? {} : { witnessed }) };
    },
  };
}

/**
 * `count` tlog-witness servers on loopback, each configured with the log's keys, in a process
 * of their own (bench/witness-host.ts), every channel's checkpoints witnessed.
 */
async function startWitnesses(
  dir: string,
  count: number,
  publicKey: string,
  logId: string,
): Promise<{ witnesses: Array<{ url: string; key: string }>; stop: () => void }> {
  if (count === 0) return { witnesses: [], stop: () => undefined };
  const key = parsePublicKey(publicKey);
  const logs = ['app', 'audit', 'security', 'scheduler', 'api'].map((c) => {
    const origin = channelOrigin(undefined, logId, c);
    return { origin, keys: [logVerifierKey(origin, key)] };
  });
  const child = spawn(
    process.execPath,
    [WITNESS_HOST, path.join(dir, 'witnesses'), String(count), JSON.stringify(logs)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  child.stdout.setEncoding('utf8');
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      const nl = out.indexOf('\n');
      if (nl !== -1) resolve(out.slice(0, nl));
    });
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`witness host exited (${String(code)})`)));
  });
  return {
    witnesses: JSON.parse(line) as Array<{ url: string; key: string }>,
    stop: () => child.kill('SIGTERM'),
  };
}

async function peer(dir: string): Promise<Server> {
  const file = path.join(dir, 'pino.log');
  const dest = pino.destination({ dest: file, sync: false });
  await new Promise<void>((resolve, reject) => {
    dest.once('ready', resolve);
    dest.once('error', reject);
  });
  let errors = 0;
  dest.on('error', () => {
    errors++;
  });
  const logger = pino(dest);
  let records = 0;
  const app = Fastify({ logger: false });
  app.post('/events', (request, reply) => {
    const body: unknown = request.body;
    const events = Array.isArray(body) ? (body as unknown[]) : [body];
    for (const event of events) logger.info(event);
    records += events.length;
    return reply.send({ stored: events.length });
  });
  await app.ready();
  return {
    app,
    token: 'none',
    close: async () => {
      await app.close();
      await new Promise<void>((resolve, reject) => {
        dest.once('close', resolve);
        dest.once('error', reject);
        dest.flush();
        dest.end();
      });
      return { records, bytes: statSync(file).size, syncs: 0, errors };
    },
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const at = args.indexOf('--dir');
  const dir = at === -1 ? undefined : args[at + 1];
  if (dir === undefined) throw new Error('usage: service-server.js --dir <dir> [--peer]');
  const w = args.indexOf('--witnesses');
  const witnessCount = w === -1 ? 0 : Number(args[w + 1]);
  const server = args.includes('--peer') ? await peer(dir) : await dihya(dir, witnessCount);
  const url = await server.app.listen({ host: '127.0.0.1', port: 0 });

  let closing = false;
  const stop = (): void => {
    if (closing) return;
    closing = true;
    server
      .close()
      .then((figures) => {
        const peakRssMB = (process.resourceUsage().maxRSS * 1024) / 1e6;
        const summary: ServerSummary = { ...figures, peakRssMB };
        process.stdout.write(`${JSON.stringify(summary)}\n`, () => process.exit(0));
      })
      .catch((err: unknown) => {
        process.stderr.write(`bench server: ${String(err)}\n`);
        process.exit(1);
      });
  };
  process.once('SIGTERM', stop);
  // The parent holds our stdin: when it goes away without a SIGTERM, so do we.
  process.stdin.on('end', stop).resume();
  const ready: ServerReady = { url, token: server.token };
  process.stdout.write(`${JSON.stringify(ready)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench server: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
