/**
 * Where an instance's commit time goes, seen from the instance: `pg.Client#query` wrapped (in
 * the bench's instance process only) to time each statement from the call to its answer, and
 * each transaction from BEGIN to the answer of COMMIT. A transaction that inserted into
 * dl_records is a group commit; what its statements do not account for is time spent in the
 * instance between them (sealing the records: chain hashes, JSON) and waiting for its event loop.
 */
import pg from 'pg';

/** Mean milliseconds per group commit of each part; `gap`: in the instance between statements. */
export interface CommitTimes {
  readonly commits: number;
  readonly totalMs: number;
  readonly parts: Readonly<Record<string, number>>;
  /** Other transactions (checkpoint rounds, partitions): their count and time. */
  readonly otherTx: number;
  readonly otherTxMs: number;
}

interface Tx {
  readonly started: number;
  readonly parts: Map<string, number>;
}

/** A statement's part of a commit, from its SQL (batch.ts): stable short names. */
function partOf(sql: string): string {
  const s = sql.trimStart().slice(0, 200);
  if (s.startsWith('BEGIN')) return 'begin';
  if (s.startsWith('COMMIT')) return 'commit';
  if (s.includes('FROM dl_heads') && s.includes('FOR UPDATE')) return 'head row (lock)';
  if (s.includes('INSERT INTO dl_records')) return 'insert records';
  if (s.startsWith('UPDATE dl_heads')) return 'update head';
  return 'other statements';
}

type QueryFn = (this: pg.Client, ...args: unknown[]) => unknown;

/** Wrap pg.Client#query once; the returned function reads the figures so far. */
export function timeCommits(): () => CommitTimes {
  const open = new WeakMap<object, Tx>();
  const sum = new Map<string, number>();
  let commits = 0;
  let totalMs = 0;
  let otherTx = 0;
  let otherTxMs = 0;
  const proto = pg.Client.prototype as unknown as { query: QueryFn };
  const original = proto.query;
  const done = (client: object, part: string, t0: number): void => {
    const now = performance.now();
    if (part === 'begin') open.set(client, { started: t0, parts: new Map() });
    const tx = open.get(client);
    if (tx === undefined) return;
    tx.parts.set(part, (tx.parts.get(part) ?? 0) + now - t0);
    if (part !== 'commit') return;
    open.delete(client);
    if (!tx.parts.has('insert records')) {
      otherTx++;
      otherTxMs += now - tx.started;
      return;
    }
    commits++;
    totalMs += now - tx.started;
    for (const [k, v] of tx.parts) sum.set(k, (sum.get(k) ?? 0) + v);
  };
  proto.query = function (this: pg.Client, ...args: unknown[]): unknown {
    const [config] = args;
    const c = config as { text?: unknown; submit?: unknown } | null;
    const text = typeof config === 'string' ? config : c?.text;
    // A Query object (submit) answers through itself, not a promise: left alone.
    if (typeof text !== 'string' || typeof c?.submit === 'function')
      return original.apply(this, args);
    const part = partOf(text);
    const t0 = performance.now();
    const last = args[args.length - 1];
    if (typeof last === 'function') {
      // pg-pool's pool.query(): the answer comes to a callback.
      const cb = last as (err: unknown, res: unknown) => void;
      args[args.length - 1] = (err: unknown, res: unknown): void => {
        done(this, part, t0);
        cb(err, res);
      };
      return original.apply(this, args);
    }
    const result = original.apply(this, args) as Promise<unknown>;
    return result.then(
      (r) => {
        done(this, part, t0);
        return r;
      },
      (err: unknown) => {
        open.delete(this);
        throw err;
      },
    );
  };
  return () => {
    const parts: Record<string, number> = {};
    let accounted = 0;
    for (const [k, v] of sum) {
      parts[k] = v / Math.max(1, commits);
      accounted += v;
    }
    parts.gap = (totalMs - accounted) / Math.max(1, commits);
    return { commits, totalMs, parts, otherTx, otherTxMs };
  };
}
