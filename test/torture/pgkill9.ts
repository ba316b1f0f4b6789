/**
 * kill -9 of `serve` instances sharing one PostgreSQL schema, under concurrent HTTP ingest:
 * clients retry a failed batch with its Idempotency-Key on another instance until it is
 * answered; every acknowledged audit event must be in the database exactly once at the seq it
 * was acknowledged with, seq gap-free, and `verify` must pass.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import {
  call,
  kill9,
  sleep,
  startServe,
  stopServe,
  verify,
  type Outcome,
  type ScenarioOptions,
  type Server,
  type Workspace,
} from './serve.js';

/** The database the PostgreSQL tests use (test/store/postgres-backend.ts). */
const DATABASE_URL =
  process.env.DIHYA_LOGS_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const INSTANCES = ['a', 'b', 'c'];
const CLIENTS = 6;
/** A batch no instance answered in this long is given up (`unanswered`, a failure). */
const GIVE_UP_MS = 120_000;
/** One batch in ten is sent again after its answer, as a client whose answer was lost would. */
const REPLAY_RATE = 0.1;

/** What the clients and the killer share while the load runs. */
interface Load {
  /** The live instance in each slot; undefined while it restarts. Clients read it per attempt. */
  readonly slots: Array<Server | undefined>;
  stop: boolean;
  /** tid → the audit seq it was acknowledged with. */
  readonly acked: Map<string, number>;
  /** A retried batch's first tid → when its first attempt failed. */
  readonly retried: Map<string, number>;
  readonly statuses: Record<string, number>;
  readonly counts: { answerMismatch: number; unanswered: number; badAnswer: number };
  readonly failures: string[];
  tidNo: number;
  batchNo: number;
  batches: number;
  retries: number;
  replays: number;
}

export async function pgkill9Scenario(o: ScenarioOptions): Promise<Outcome> {
  const cycles = o.short ? 5 : 20;
  const down = await unreachable(DATABASE_URL);
  if (down !== undefined) return { figures: {}, failures: [down] };
  const schema = `dl_torture_${randomBytes(6).toString('hex')}`;
  const ws = pgWorkspace(path.join(o.work, 'pgkill9'), schema);
  const load: Load = {
    slots: INSTANCES.map(() => undefined),
    stop: false,
    acked: new Map(),
    retried: new Map(),
    statuses: {},
    counts: { answerMismatch: 0, unanswered: 0, badAnswer: 0 },
    failures: [],
    tidNo: 0,
    batchNo: 0,
    batches: 0,
    retries: 0,
    replays: 0,
  };
  const { failures } = load;
  let loadSeconds: number;
  try {
    // The first instance makes the schema and prints the admin token; the others find both.
    load.slots[0] = await startServe(ws, { dir: dirOf(ws, 0) });
    const rest = await Promise.all(
      INSTANCES.slice(1).map((_, i) => startServe(ws, { dir: dirOf(ws, i + 1) })),
    );
    rest.forEach((s, i) => (load.slots[i + 1] = s));
    const started = Date.now();
    const clients = Array.from({ length: CLIENTS }, (_, c) => client(o, ws, load, c));
    await killer(o, ws, load, cycles);
    load.stop = true;
    await Promise.all(clients);
    loadSeconds = (Date.now() - started) / 1000;
    for (const [i, s] of load.slots.entries()) {
      if (s === undefined) continue;
      await stopServe(s);
      load.slots[i] = undefined;
      const { code, signal } = await s.exited;
      if (code !== 0)
        failures.push(
          `${INSTANCES[i]!} stopped with ${String(code ?? signal)}: ${s.output().slice(-500)}`,
        );
    }
  } finally {
    // After a throw: no client or instance outlives the scenario.
    load.stop = true;
    for (const s of load.slots) if (s !== undefined) await kill9(s);
  }
  const check = await checkDatabase(DATABASE_URL, schema, load);
  for (const [k, v] of Object.entries({ ...check.counts, ...load.counts }))
    if (v > 0) failures.push(`${k} ${v}`);
  const v = verify(ws);
  if (!v.ok) failures.push(`verify: ${v.summary}`);
  const notes: string[] = [];
  if (failures.length === 0) await dropSchema(DATABASE_URL, schema);
  else notes.push(`(schema ${schema} kept in ${new URL(DATABASE_URL).host})`);
  return {
    figures: {
      cycles,
      instances: INSTANCES.length,
      clients: CLIENTS,
      batches: load.batches,
      acknowledged: load.acked.size,
      retries: load.retries,
      replays: load.replays,
      eventsPerSecond: Math.round(load.acked.size / Math.max(loadSeconds, 0.001)),
      loadSeconds: Math.round(loadSeconds * 10) / 10,
      auditRecords: check.records,
      retriedBatches: load.retried.size,
      retriedAlreadyStored: check.retriedAlreadyStored,
      storedNotAcked: check.storedNotAcked,
      ...check.counts,
      ...load.counts,
      statuses: load.statuses,
      verify: v.summary,
    },
    failures,
    notes,
  };
}

/**
 * A working directory whose dihya-logs.yaml names the schema (made by the first `serve`: no
 * `init`); each instance gets its own local directory with `--dir`.
 */
function pgWorkspace(cwd: string, schema: string): Workspace {
  mkdirSync(cwd, { recursive: true });
  writeFileSync(
    path.join(cwd, 'dihya-logs.yaml'),
    `dir: ./logs\nstore: { kind: postgres, schema: ${schema} }\nservice: { min_free_bytes: 0 }\n`,
  );
  return {
    cwd,
    dir: path.join(cwd, 'logs'),
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      DIHYA_LOGS_DATABASE_URL: DATABASE_URL,
      DIHYA_LOGS_MASTER_KEY: randomBytes(32).toString('base64'),
    },
  };
}

function dirOf(ws: Workspace, slot: number): string {
  return path.join(ws.cwd, `state-${INSTANCES[slot]!}`);
}

/** Why the database cannot be reached, or undefined: no server is a FAIL, not a skip. */
async function unreachable(url: string): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (err) {
    // A refused connection (AggregateError over ::1 and 127.0.0.1) may have no message.
    const why = (err as Error).message || ((err as { code?: string }).code ?? String(err));
    return `PostgreSQL not reachable at ${new URL(url).host} (${why}): pgkill9 needs a running server with a database "${new URL(url).pathname.slice(1)}" (.ci/run starts one; DIHYA_LOGS_TEST_DATABASE_URL names another)`;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Batches of 1-12 audit events, each with its own Idempotency-Key, until the load stops. */
async function client(o: ScenarioOptions, ws: Workspace, load: Load, c: number): Promise<void> {
  while (!load.stop) {
    const n = 1 + Math.floor(o.random() * 12);
    const tids = Array.from({ length: n }, () => `p${(load.tidNo++).toString(36)}`);
    const body = JSON.stringify(
      tids.map((tid) => ({
        level: 'AUDIT',
        event: 'torture.pgkill9',
        msg: `${tid} ${'x'.repeat(Math.floor(o.random() * 200))}`,
        data: { tid },
      })),
    );
    const key = `pgk9-${c}-${(load.batchNo++).toString(36)}`;
    const answer = await postUntilAnswered(o, ws, load, body, key, n);
    if (answer === undefined) continue;
    const { seqs, failedAt } = answer;
    load.batches += 1;
    tids.forEach((tid, i) => load.acked.set(tid, seqs[i]!));
    if (failedAt !== undefined) load.retried.set(tids[0]!, failedAt);
    if (o.random() < REPLAY_RATE) {
      // The same batch again, to whichever instance: the first answer, nothing stored twice.
      load.replays += 1;
      const again = await postUntilAnswered(o, ws, load, body, key, n);
      if (again !== undefined && again.seqs.join() !== seqs.join()) load.counts.answerMismatch += 1;
    }
  }
}

/**
 * POST the batch to a random live instance; on a network error, a timeout, a 5xx or a 429,
 * send it again (same body, same key) to another one, until a 2xx. Returns the audit seq of
 * each event and when the first attempt failed (if one did), or undefined when given up.
 */
async function postUntilAnswered(
  o: ScenarioOptions,
  ws: Workspace,
  load: Load,
  body: string,
  key: string,
  n: number,
): Promise<{ seqs: number[]; failedAt?: number } | undefined> {
  const limit = Date.now() + GIVE_UP_MS;
  let failed: Server | undefined;
  let failedAt: number | undefined;
  for (let attempt = 0; Date.now() < limit; attempt++) {
    const live = load.slots.filter((s): s is Server => s !== undefined);
    const others = live.filter((s) => s !== failed);
    const pool = others.length > 0 ? others : live;
    const server = pool[Math.floor(o.random() * pool.length)];
    if (server === undefined) {
      if (load.stop) break; // the scenario threw and its instances are gone
      await sleep(50);
      continue;
    }
    if (attempt > 0) load.retries += 1;
    const a = await call(
      server,
      ws,
      'POST',
      '/v1/events',
      body,
      { 'idempotency-key': key },
      10_000,
    );
    load.statuses[a.status] = (load.statuses[a.status] ?? 0) + 1;
    if (a.status >= 200 && a.status < 300) {
      const seqs = seqsOf(a.body, n, load);
      return seqs === undefined
        ? undefined
        : { seqs, ...(failedAt === undefined ? {} : { failedAt }) };
    }
    if (a.status !== 0 && a.status !== 429 && a.status < 500) {
      load.failures.push(`answered ${a.status}: ${JSON.stringify(a.body).slice(0, 300)}`);
      return undefined;
    }
    failed = server;
    failedAt ??= Date.now();
    await sleep(10 + o.random() * 40);
  }
  load.counts.unanswered += 1;
  return undefined;
}

/** `{ stored, events: [{ channel, seq }] }`: one audit seq per event sent, or a `badAnswer`. */
function seqsOf(body: unknown, n: number, load: Load): number[] | undefined {
  const events = (body as { events?: unknown } | undefined)?.events;
  const seqs = Array.isArray(events)
    ? events.map((e: { channel?: unknown; seq?: unknown }) =>
        e.channel === 'audit' && Number.isInteger(e.seq) ? (e.seq as number) : undefined,
      )
    : [];
  if (seqs.length === n && seqs.every((s) => s !== undefined)) return seqs;
  load.counts.badAnswer += 1;
  load.failures.push(`bad answer: ${JSON.stringify(body).slice(0, 300)}`);
  return undefined;
}

/** Every 0.3-2.5 s, SIGKILL a random instance and start it again (on a new port). */
async function killer(
  o: ScenarioOptions,
  ws: Workspace,
  load: Load,
  cycles: number,
): Promise<void> {
  for (let k = 1; k <= cycles; k++) {
    await sleep(300 + o.random() * 2200);
    const i = Math.floor(o.random() * INSTANCES.length);
    const victim = load.slots[i];
    if (victim === undefined) throw new Error(`instance ${INSTANCES[i]!} is not running`);
    await kill9(victim);
    load.slots[i] = undefined;
    const { signal } = await victim.exited;
    if (signal !== 'SIGKILL')
      load.failures.push(
        `cycle ${k}: ${INSTANCES[i]!} had ended with ${String(signal)}: ${victim.output().slice(-500)}`,
      );
    const t = Date.now();
    const restarted = await startServe(ws, { dir: dirOf(ws, i) });
    load.slots[i] = restarted;
    o.log(
      `  pgkill9 cycle ${k}/${cycles}: killed ${INSTANCES[i]!}, listening again in ${Date.now() - t} ms on ${restarted.url}, acked ${load.acked.size}`,
    );
  }
}

/**
 * Read the audit channel back from the database: seq 1..head without a gap, and each
 * acknowledged tid exactly once at its seq. A retried batch whose record was stamped before
 * its first attempt failed was stored by that attempt: its answer was lost on the way, and the
 * retry was answered from the idempotency key.
 */
async function checkDatabase(
  url: string,
  schema: string,
  load: Pick<Load, 'acked' | 'retried'>,
): Promise<{
  records: number;
  storedNotAcked: number;
  retriedAlreadyStored: number;
  counts: Record<string, number>;
}> {
  const { rows, head } = await readAudit(url, schema);
  const counts = { gaps: 0, lost: 0, duplicated: 0, wrongSeq: 0 };
  const found = new Map<string, number[]>(); // tid → the seqs it is stored at
  const stamped = new Map<string, number>(); // a retried batch's first tid → its record's ts
  let last = 0;
  for (const row of rows) {
    const seq = Number(row.seq);
    if (seq !== last + 1) counts.gaps += 1;
    last = seq;
    const r = JSON.parse(row.line) as { ts?: string; data?: { tid?: unknown } };
    const tid = r.data?.tid;
    if (typeof tid !== 'string') continue;
    found.set(tid, [...(found.get(tid) ?? []), seq]);
    if (load.retried.has(tid)) stamped.set(tid, Date.parse(r.ts ?? ''));
  }
  if (last !== head) counts.gaps += 1; // the head names a seq the table does not hold
  for (const [tid, seq] of load.acked) {
    const seqs = found.get(tid) ?? [];
    if (seqs.length === 0) counts.lost += 1;
    else if (!seqs.includes(seq)) counts.wrongSeq += 1;
  }
  for (const seqs of found.values()) if (seqs.length > 1) counts.duplicated += 1;
  const storedNotAcked = [...found.keys()].filter((tid) => !load.acked.has(tid)).length;
  const retriedAlreadyStored = [...load.retried].filter(
    ([tid, failedAt]) => (stamped.get(tid) ?? Infinity) < failedAt,
  ).length;
  return { records: rows.length, storedNotAcked, retriedAlreadyStored, counts };
}

/** The audit channel's rows in seq order, and its head's seq. */
async function readAudit(
  url: string,
  schema: string,
): Promise<{ rows: Array<{ seq: string; line: string }>; head: number }> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ seq: string; line: string }>(
      `SELECT seq, line FROM ${schema}.dl_records WHERE channel = 'audit' ORDER BY seq`,
    );
    const h = await client.query<{ seq: string }>(
      `SELECT seq FROM ${schema}.dl_heads WHERE channel = 'audit'`,
    );
    return { rows, head: Number(h.rows[0]?.seq ?? 0) };
  } finally {
    await client.end();
  }
}

async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  } finally {
    await client.end();
  }
}
