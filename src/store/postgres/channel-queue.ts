/**
 * A channel's records waiting in this instance for their group commit. One commit per channel
 * is in flight at a time here (other instances may run theirs: the head row orders them); what
 * arrives meanwhile waits and goes in the next one. Every mode is answered after COMMIT: a seq
 * once answered is never given to another record.
 *
 * When the database fails, callers waiting for an ack get DATABASE_UNAVAILABLE at once (never a
 * success for what is not committed); fire-and-forget records are kept, up to a bound, and sent
 * again once the database answers, then counted as dropped. A commit whose answer was lost is
 * settled by reading the head back: the batch's last hash there means it was committed.
 */
import type pg from 'pg';
import { LogsError, asLogsError } from '../../errors.js';
import type { Ack, AppendMode, ChannelStats } from '../store.js';
import { commitBatch, type BatchContext, type BatchResult, type PendingRecord } from './batch.js';
import type { Partitions } from './partitions.js';
import type { Named } from './keystore.js';
import { commitConfirmed, transaction } from './pool.js';

const MAX_BATCH = 2000;
const RETRY_MS = [100, 250, 500, 1000, 2000];

export interface QueuedRecord extends PendingRecord {
  readonly mode: AppendMode;
  readonly resolve?: (ack: Ack) => void;
  readonly reject?: (err: LogsError) => void;
  readonly bytes: number;
}

/** A batch sent and not yet answered: its records, and the head it leaves if committed. */
export interface InFlight {
  readonly batch: readonly QueuedRecord[];
  expected: BatchResult | undefined;
}

export interface QueueHost {
  /** The keystore: told which people a committed batch stored. */
  readonly stored: (people: readonly Named[]) => void;
  readonly pool: pg.Pool;
  readonly partitions: Partitions;
  readonly maxPendingBytes: number;
  readonly onError: (err: LogsError) => void;
  /** The database answered (ok) or failed (err): readiness follows it. */
  readonly onHealth: (err: LogsError | undefined) => void;
}

export class ChannelQueue {
  readonly stats: ChannelStats = { records: 0, bytes: 0, writes: 0, syncs: 0 };
  private queue: QueuedRecord[] = [];
  private queuedBytes = 0;
  private running: Promise<void> | undefined;
  private failures = 0;
  private dropped = 0;
  private idle: Array<() => void> = [];
  private stopped = false;
  /** The batch being committed, if any (what an exit must settle). */
  inFlight: InFlight | undefined;

  constructor(
    private readonly host: QueueHost,
    private readonly ctx: BatchContext,
  ) {}

  push(r: QueuedRecord): void {
    this.queue.push(r);
    this.queuedBytes += r.bytes;
    this.bound();
    this.kick();
  }

  /** Resolves once everything queued before the call is committed (or refused). */
  drained(): Promise<void> {
    if (this.running === undefined && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.push(resolve));
  }

  /**
   * Stop for good (process exit): nothing more is sent from here. Returns the records that
   * were waiting (not the batch in flight, see `inFlight`).
   */
  stop(): QueuedRecord[] {
    this.stopped = true;
    const left = this.queue;
    this.queue = [];
    this.queuedBytes = 0;
    return left;
  }

  private kick(): void {
    if (this.running !== undefined || this.stopped) return;
    this.running = this.loop().finally(() => {
      this.running = undefined;
      if (this.queue.length > 0 && this.failures === 0) this.kick();
      else if (this.queue.length === 0) for (const f of this.idle.splice(0)) f();
    });
  }

  private async loop(): Promise<void> {
    await new Promise((r) => setImmediate(r)); // let a burst of one turn gather
    while (this.queue.length > 0 && !this.stopped) {
      const batch = this.queue.splice(0, MAX_BATCH);
      for (const r of batch) this.queuedBytes -= r.bytes;
      const ok = await this.commit(batch);
      if (!ok) {
        const wait = RETRY_MS[Math.min(this.failures - 1, RETRY_MS.length - 1)] as number;
        setTimeout(() => this.kick(), wait).unref();
        for (const f of this.idle.splice(0)) f(); // flush() sees the failure through health
        return;
      }
    }
  }

  /** Commit one batch; false when the database failed (the batch was answered or kept). */
  private async commit(batch: QueuedRecord[]): Promise<boolean> {
    const flight: InFlight = { batch, expected: undefined };
    this.inFlight = flight;
    let client: pg.PoolClient | undefined;
    try {
      await this.host.partitions.ensure(batch.map((r) => r.ts));
      client = await this.host.pool.connect();
      const result = await commitBatch(client, this.ctx, batch, (r) => (flight.expected = r));
      client.release();
      this.settled(batch, result);
      return true;
    } catch (err) {
      client?.release(err as Error);
      const expected = flight.expected;
      const committed = expected === undefined ? false : await this.wasCommitted(expected);
      if (committed === true && expected !== undefined) {
        this.settled(batch, expected);
        return true;
      }
      this.failed(batch, err, committed);
      return false;
    } finally {
      this.inFlight = undefined;
    }
  }

  /**
   * Whether the batch that would have left the head at `r.head` is stored; undefined: unknown.
   * Asked in a transaction that locks the head row and commits: a lock writes WAL, so with
   * synchronous replication the answer comes only once the standby has everything up to it
   * (a commit still waiting for the standby is visible on the primary, but not yet durable).
   */
  private async wasCommitted(r: BatchResult): Promise<boolean | undefined> {
    if (r.inserted === 0) return false;
    let client: pg.PoolClient | undefined;
    try {
      client = await this.host.pool.connect();
      const c = client;
      const rows = await transaction(
        c,
        async () => {
          await c.query('SELECT seq FROM dl_heads WHERE channel = $1 FOR UPDATE', [
            this.ctx.channel,
          ]);
          return (
            await c.query<{ hash: string }>(
              'SELECT hash FROM dl_records WHERE channel = $1 AND seq = $2',
              [this.ctx.channel, r.head.seq],
            )
          ).rows;
        },
        commitConfirmed,
      );
      client.release();
      return rows[0]?.hash === r.head.hash;
    } catch (err) {
      client?.release(err as Error);
      return undefined;
    }
  }

  private settled(batch: readonly QueuedRecord[], result: BatchResult): void {
    this.failures = 0;
    this.host.onHealth(undefined);
    this.host.stored(result.people);
    this.stats.records += result.inserted;
    this.stats.bytes += result.bytes;
    this.stats.writes += 1;
    this.stats.syncs += 1;
    batch.forEach((r, i) => r.resolve?.(result.acks[i] as Ack));
  }

  private failed(batch: QueuedRecord[], cause: unknown, committed: boolean | undefined): void {
    this.failures += 1;
    const own = cause instanceof LogsError ? (cause as LogsError) : undefined;
    const err =
      own !== undefined && own.code !== 'IO_ERROR'
        ? own
        : new LogsError(
            'DATABASE_UNAVAILABLE',
            `${this.ctx.channel}: the database did not store the records (${describe(cause)})`,
            { cause },
          );
    this.host.onHealth(err);
    if (own !== undefined && own.code !== 'DATABASE_UNAVAILABLE') this.host.onError(err);
    const kept: QueuedRecord[] = [];
    for (const r of batch) {
      if (r.reject !== undefined) r.reject(err);
      // Fire-and-forget records are sent again, unless the batch may have been stored (its
      // answer was lost and the head could not be read back): then sending again could store
      // them twice, and they are counted as dropped instead.
      else if (committed === false) kept.push(r);
      else this.drop(1);
    }
    this.queue = [...kept, ...this.queue];
    for (const r of kept) this.queuedBytes += r.bytes;
    this.bound();
  }

  /** Past the memory bound, the oldest fire-and-forget records are dropped, and counted. */
  private bound(): void {
    while (this.queuedBytes > this.host.maxPendingBytes) {
      const i = this.queue.findIndex((r) => r.mode === 'f');
      if (i < 0) return;
      const [r] = this.queue.splice(i, 1);
      this.queuedBytes -= r?.bytes ?? 0;
      this.drop(1);
    }
  }

  private drop(n: number): void {
    this.dropped += n;
    this.host.onError(
      new LogsError(
        'DATABASE_UNAVAILABLE',
        `${this.ctx.channel}: ${this.dropped} buffered record(s) dropped while the database was unavailable`,
      ),
    );
  }
}

/** A database error as a short phrase: its code and message, never a value of a record. */
function describe(err: unknown): string {
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? `${e.code}: ` : '';
  const msg = typeof e.message === 'string' ? e.message.split('\n')[0]?.slice(0, 200) : '';
  return `${code}${msg ?? ''}`.trim() || asLogsError(err).code;
}
