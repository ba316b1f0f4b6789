import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { asEvent, eventPool, type BenchFields } from '../event.js';
import { round2, type Measured, type WorkerTask } from '../result.js';
import type { ServerSummary } from '../service-server.js';
import {
  assertAllOk,
  load,
  quantile,
  startServer,
  type Load,
  type RunningServer,
} from '../service-client.js';

/** Events per request of the batched run: the service's default limit. */
export const BATCH = 1000;
/**
 * Connections of the batched run. Tried 2 to 16 on the 2-core machine: from 4 on, the server is
 * CPU-bound (about 35,000 events per second of its CPU at any count); 2 were slower, and 12 or
 * more only add queueing and garbage (more 320 KB bodies alive at once). 4 was a few per cent
 * faster than 8 (63,000 against 59,000 events/s, one quiet run each): 8 is the bottom of the
 * issue's 8-16, and closer to a service with many producers.
 */
export const BATCH_CONNECTIONS = 8;
/** The steady load of the latency runs: requests per second, over this many connections. */
export const RATE = 1000;
export const RATE_CONNECTIONS = 10;
const SECONDS = 10;
// Before each timed run, the same load for this long: the server's code is compiled by then.
const WARM_UP_SECONDS = 1;
// Distinct bodies each connection cycles through.
const SINGLE_BODIES = 256;

/** An ingest event: 1 in 10 of a batch is AUDIT (each such request waits for an fdatasync). */
function ingestEvent(fields: BenchFields, audit: boolean): Record<string, unknown> {
  return audit ? { level: 'AUDIT', ...asEvent(fields) } : asEvent(fields);
}

/** Arrays of BATCH events, 1 in 10 of them AUDIT: each request waits for an fdatasync. */
export function batchBodies(pool: readonly BenchFields[]): string[] {
  const bodies: string[] = [];
  for (let at = 0; at + BATCH <= pool.length; at += BATCH)
    bodies.push(
      JSON.stringify(pool.slice(at, at + BATCH).map((f, i) => ingestEvent(f, (at + i) % 10 === 0))),
    );
  return bodies;
}

function singleBodies(pool: readonly BenchFields[], audit: boolean): string[] {
  return pool.slice(0, SINGLE_BODIES).map((f) => JSON.stringify(ingestEvent(f, audit)));
}

interface Latency {
  readonly p50: number;
  readonly p99: number;
  /** Requests answered per second. */
  readonly rate: number;
  /** CPU of other processes meanwhile, percent of one core (-1: unknown). */
  readonly otherCpu: number;
  /** Failures the server reported (dihya-logs: to onError). */
  readonly errors: number;
}

/** A fresh server in `dir`, warmed up, then the timed run; stopped after. */
async function withServer<T>(
  dir: string,
  peer: boolean,
  run: (server: RunningServer) => Promise<T>,
  extra: readonly string[] = [],
): Promise<T & { summary: ServerSummary }> {
  mkdirSync(dir, { recursive: true });
  const server = await startServer(dir, peer, extra);
  let result: T;
  try {
    result = await run(server);
  } catch (err) {
    await server.stop().catch(() => undefined);
    throw err;
  }
  return { ...result, summary: await server.stop() };
}

async function latency(
  what: string,
  dir: string,
  peer: boolean,
  urlPath: string,
  bodies: readonly string[],
): Promise<Latency> {
  const opts = { path: urlPath, bodies, connections: RATE_CONNECTIONS, overallRate: RATE };
  const { timed, summary } = await withServer(dir, peer, async (server) => {
    assertAllOk(`${what} warm-up`, await load({ ...opts, server, seconds: WARM_UP_SECONDS }));
    const timed = await load({ ...opts, server, seconds: SECONDS });
    assertAllOk(what, timed);
    return { timed };
  });
  return {
    p50: round2(quantile(timed.latencies, 0.5)),
    p99: round2(quantile(timed.latencies, 0.99)),
    rate: Math.round(timed.ok / timed.seconds),
    otherCpu: Math.round(timed.otherCpu ?? -1),
    errors: summary.errors,
  };
}

export async function batched(
  what: string,
  dir: string,
  peer: boolean,
  urlPath: string,
  bodies: readonly string[],
  extra: readonly string[] = [],
): Promise<{ timed: Load; summary: ServerSummary }> {
  const opts = { path: urlPath, bodies, connections: BATCH_CONNECTIONS };
  let acknowledged = 0;
  const out = await withServer(
    dir,
    peer,
    async (server) => {
      const warm = await load({ ...opts, server, seconds: WARM_UP_SECONDS });
      assertAllOk(`${what} warm-up`, warm);
      const timed = await load({ ...opts, server, seconds: SECONDS });
      assertAllOk(what, timed);
      acknowledged = (warm.ok + timed.ok) * BATCH;
      return { timed };
    },
    extra,
  );
  // Requests still in flight when autocannon stops are stored but not counted: at least.
  if (out.summary.records < acknowledged)
    throw new Error(`${what}: ${acknowledged} events acknowledged, ${out.summary.records} stored`);
  return out;
}

/** The figures of a batched run common to both servers. */
function batchedFigures(b: { timed: Load; summary: ServerSummary }): Record<string, number> {
  const s = b.summary;
  return {
    connections: BATCH_CONNECTIONS,
    requests: b.timed.ok,
    serverPeakRssMB: round2(s.peakRssMB),
    bytesPerRecord: s.records > 0 ? Math.round(s.bytes / s.records) : 0,
    serverRecords: s.records,
    syncs: s.syncs,
    batchP50: round2(quantile(b.timed.latencies, 0.5)),
    batchP99: round2(quantile(b.timed.latencies, 0.99)),
    clientCpu: Math.round(b.timed.clientCpu),
    ...(b.timed.serverCpu === undefined ? {} : { serverCpu: Math.round(b.timed.serverCpu) }),
    ...(b.timed.otherCpu === undefined ? {} : { otherCpu: Math.round(b.timed.otherCpu) }),
  };
}

function latencyFigures(prefix: string, l: Latency): Record<string, number> {
  return {
    [`${prefix}P50`]: l.p50,
    [`${prefix}P99`]: l.p99,
    [`${prefix}Rate`]: l.rate,
    [`${prefix}OtherCpu`]: l.otherCpu,
  };
}

/**
 * The dihya-logs service (`buildApp`, defaults) in a child process, loaded by autocannon here:
 * one `app` event per request at a steady RATE (p50, p99), the same with one `audit` event
 * (acknowledged after fdatasync), then POSTs of BATCH events (1 in 10 AUDIT) from
 * BATCH_CONNECTIONS connections as fast as they are answered. A fresh server for each run.
 */
export async function serviceLib(task: WorkerTask): Promise<Measured> {
  const pool = eventPool();
  const app = await latency(
    'one app event',
    path.join(task.dir, 'app'),
    false,
    '/v1/events',
    singleBodies(pool, false),
  );
  const audit = await latency(
    'one audit event',
    path.join(task.dir, 'audit'),
    false,
    '/v1/events',
    singleBodies(pool, true),
  );
  const b = await batched(
    'batched ingest',
    path.join(task.dir, 'batch'),
    false,
    '/v1/events',
    batchBodies(pool),
  );
  return {
    events: b.timed.ok * BATCH,
    ms: b.timed.seconds * 1000,
    extra: {
      ...batchedFigures(b),
      ...latencyFigures('app', app),
      ...latencyFigures('audit', audit),
      recordsPerSync: b.summary.syncs > 0 ? round2(b.summary.records / b.summary.syncs) : 0,
      errors: app.errors + audit.errors + b.summary.errors,
    },
  };
}

/**
 * The peer, measured the same way: a minimal Fastify app whose `POST /events` hands each event
 * to pino (async destination). It has no durable path, so no audit run.
 */
export async function servicePeer(task: WorkerTask): Promise<Measured> {
  const pool = eventPool();
  const app = await latency(
    'peer, one event',
    path.join(task.dir, 'app'),
    true,
    '/events',
    singleBodies(pool, false),
  );
  const b = await batched(
    'peer, batched ingest',
    path.join(task.dir, 'batch'),
    true,
    '/events',
    batchBodies(pool),
  );
  return {
    events: b.timed.ok * BATCH,
    ms: b.timed.seconds * 1000,
    extra: {
      ...batchedFigures(b),
      ...latencyFigures('app', app),
      writeErrors: app.errors + b.summary.errors,
    },
  };
}
