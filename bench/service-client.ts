import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { cpuMs, systemCpuMs } from './proc.js';
import type { ServerReady, ServerSummary } from './service-server.js';

/** The V8 flag `npm start` gives `dihya-logs serve`. */
export const SERVE_FLAGS = '--max-semi-space-size=64';
const SERVER = fileURLToPath(new URL('./service-server.js', import.meta.url));

/** A server child, listening. */
export interface RunningServer extends ServerReady {
  /** CPU time (user + system, all threads) the server has used so far; undefined off Linux. */
  cpuMs(): number | undefined;
  /** SIGTERM, then the figures it prints once closed. */
  stop(): Promise<ServerSummary>;
}

/**
 * Start `node build/bench/service-server.js --dir <dir> [--peer]` and wait for its first line.
 * Its stderr goes to ours; its stdin stays open to us, so it also ends if we die.
 */
export function startServer(
  dir: string,
  peer: boolean,
  extra: readonly string[] = [],
): Promise<RunningServer> {
  const child: ChildProcessByStdio<Writable, Readable, null> = spawn(
    process.execPath,
    // Both servers run as `npm start` runs the service: with a 64 MiB young generation
    // (docs/service.md, "Performance"). The peer gets the same, so neither is favoured.
    [SERVE_FLAGS, SERVER, '--dir', dir, ...(peer ? ['--peer'] : []), ...extra],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  child.stdout.setEncoding('utf8');
  let out = '';
  const exited = new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve(code));
  });
  return new Promise((resolve, reject) => {
    const onData = (chunk: string): void => {
      out += chunk;
      const nl = out.indexOf('\n');
      if (nl === -1) return;
      child.stdout.off('data', onData);
      const ready = JSON.parse(out.slice(0, nl)) as ServerReady;
      out = out.slice(nl + 1);
      child.stdout.on('data', (more: string) => (out += more));
      resolve({
        ...ready,
        cpuMs: () => cpuMs(child.pid),
        stop: async () => {
          child.kill('SIGTERM');
          const code = await exited;
          child.stdin.destroy();
          if (code !== 0) throw new Error(`the server exited with code ${String(code)}`);
          return JSON.parse(out.trim().split('\n').pop() ?? '') as ServerSummary;
        },
      });
    };
    child.stdout.on('data', onData);
    exited.then(
      (code) => reject(new Error(`the server exited with code ${String(code)} before listening`)),
      reject,
    );
  });
}

/** One autocannon run: what it counted, and the response time of each 2xx answer. */
export interface Load {
  readonly ok: number;
  readonly non2xx: number;
  /** Connection errors and timeouts. */
  readonly errors: number;
  readonly seconds: number;
  /** Response times of the 2xx answers, in ms, sorted. */
  readonly latencies: Float64Array;
  /** CPU time of the server and of this process during the run (percent of one core). */
  readonly serverCpu?: number;
  readonly clientCpu: number;
  /** CPU time of every other process meanwhile (percent of one core): is the machine quiet? */
  readonly otherCpu?: number;
}

export interface LoadOptions {
  readonly server: RunningServer;
  readonly path: string;
  readonly bodies: readonly string[];
  readonly connections: number;
  readonly seconds: number;
  readonly overallRate?: number;
}

/**
 * Run autocannon in this process (one client, no worker threads) against a server child. Each
 * connection sends the bodies in turn. Response times come from autocannon's `response` event:
 * its own latency histogram keeps whole milliseconds only.
 */
export function load(o: LoadOptions): Promise<Load> {
  const headers = {
    authorization: `Bearer ${o.server.token}`,
    'content-type': 'application/json',
  };
  const times: number[] = [];
  const server0 = o.server.cpuMs();
  const system0 = systemCpuMs();
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const instance = autocannon(
      {
        url: o.server.url,
        connections: o.connections,
        duration: o.seconds,
        ...(o.overallRate === undefined ? {} : { overallRate: o.overallRate }),
        requests: o.bodies.map((body) => ({ method: 'POST', path: o.path, headers, body })),
      },
      (err, result) => {
        if (err !== null) {
          reject(err);
          return;
        }
        const wallMs = performance.now() - t0;
        const client = process.cpuUsage(client0);
        const server1 = o.server.cpuMs();
        const system1 = systemCpuMs();
        const latencies = Float64Array.from(times).sort();
        const clientMs = (client.user + client.system) / 1000;
        const serverMs =
          server0 === undefined || server1 === undefined ? undefined : server1 - server0;
        const percent = (ms: number): number => (ms / wallMs) * 100;
        resolve({
          ok: result['2xx'],
          non2xx: result.non2xx,
          errors: result.errors,
          seconds: result.duration,
          latencies,
          clientCpu: percent(clientMs),
          ...(serverMs === undefined ? {} : { serverCpu: percent(serverMs) }),
          ...(serverMs === undefined || system0 === undefined || system1 === undefined
            ? {}
            : { otherCpu: Math.max(0, percent(system1 - system0 - serverMs - clientMs)) }),
        });
      },
    );
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) times.push(ms);
    });
  });
}

/** The q-quantile of sorted values (nearest rank), 0 when there are none. */
export function quantile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0;
}

/** Throw unless every request of the run was answered 2xx. */
export function assertAllOk(what: string, l: Load): void {
  if (l.ok === 0 || l.non2xx > 0 || l.errors > 0)
    throw new Error(
      `${what}: ${l.ok} 2xx, ${l.non2xx} non-2xx, ${l.errors} errors or timeouts: ` +
        'every request must succeed',
    );
}
