/**
 * Live tails on PostgreSQL, across every instance writing to the schema. Each group commit
 * (batch.ts) notifies `dihya_logs_appended` with its schema and channel in the transaction that
 * stores the records, so the notice arrives only once they are visible. A store listens on one
 * connection of its own, opened with the first follower and shared by all; a follower reads its
 * channels' rows after the last seq it returned. The notice only wakes it: a missed one (the
 * connection was lost meanwhile) delays a tail by at most its wait, never loses a record.
 */
import pg from 'pg';
import type { RecordFollower, StoredRecord } from '../store.js';
import { asDatabaseError } from './pool.js';

/**
 * The notification channel, one per database as erasure.ts' (a name per schema could pass the
 * 63 bytes PostgreSQL allows one: pg_notify would then refuse it, and the commit with it). The
 * payload is the schema and the channel, a space between them (neither can hold one).
 */
export const APPENDED_CHANNEL = 'dihya_logs_appended';

const RETRY_MS = 1000;
// Rows per channel a poll returns at most: a tail far behind catches up page by page.
const PAGE = 1000;

/** Told of a commit to `channel`, or (undefined) that commits may have gone unnoticed. */
type Wake = (channel: string | undefined) => void;

/**
 * The store's LISTEN connection: opened by the first subscriber, reopened after an error (the
 * subscribers are then woken: a commit may have been missed while it was down), ended by stop.
 */
export class AppendListener {
  private readonly wakers = new Set<Wake>();
  private client: pg.Client | undefined;
  private started: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lost = false;
  private stopped = false;

  constructor(
    private readonly url: string,
    private readonly schema: string,
  ) {}

  /**
   * Wake `wake` on each commit from now on. Resolves once the connection listens, or its first
   * attempt failed (it is retried; meanwhile followers poll at the end of each wait).
   */
  async subscribe(wake: Wake): Promise<() => void> {
    this.wakers.add(wake);
    this.started ??= this.start();
    await this.started;
    return () => this.wakers.delete(wake);
  }

  /** End the connection; every subscriber is woken a last time. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const c = this.client;
    this.client = undefined;
    this.wake(undefined);
    this.wakers.clear();
    await c?.end().catch(() => undefined);
  }

  private wake(channel: string | undefined): void {
    for (const w of this.wakers) w(channel);
  }

  private again(): void {
    this.client = undefined;
    this.lost = true;
    if (!this.stopped) this.timer = setTimeout(() => void this.start(), RETRY_MS).unref();
  }

  private async start(): Promise<void> {
    const c = new pg.Client({
      connectionString: this.url,
      application_name: 'dihya-logs follow',
      connectionTimeoutMillis: 5000,
    });
    c.on('error', () => undefined);
    c.on('notification', (n) => {
      if (n.channel !== APPENDED_CHANNEL) return;
      const [schema, channel] = (n.payload ?? '').split(' ');
      if (schema === this.schema && channel !== undefined) this.wake(channel);
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${APPENDED_CHANNEL}`);
    } catch {
      await c.end().catch(() => undefined);
      this.again();
      return;
    }
    if (this.stopped) {
      await c.end().catch(() => undefined);
      return;
    }
    this.client = c;
    c.on('end', () => {
      if (this.client === c) this.again();
    });
    if (this.lost) this.wake(undefined);
    this.lost = false;
  }
}

interface FollowRow {
  channel: string;
  seq: string;
  line: string;
}

/** One tail: the rows of its channels after the last seq it returned of each. */
export class PgFollower implements RecordFollower {
  private readonly last: Map<string, number>;
  private waiters: Array<() => void> = [];
  /** Something may be waiting: a notice since the last poll, or a poll that hit its page. */
  private pending = false;
  private polling: Promise<unknown> = Promise.resolve();
  private closed = false;
  private unsubscribe: () => void = () => undefined;

  constructor(
    private readonly pool: pg.Pool,
    channels: readonly string[],
    private readonly onClose: (f: PgFollower) => void,
  ) {
    this.last = new Map(channels.map((c) => [c, 0]));
  }

  /** Listen through `listener`: before the heads are read, so no commit after them is missed. */
  async attach(listener: AppendListener): Promise<void> {
    this.unsubscribe = await listener.subscribe((channel) => {
      if (channel !== undefined && !this.last.has(channel)) return;
      this.pending = true;
      this.release();
    });
  }

  /** Start after these seqs (the channels' heads once listening). */
  start(heads: ReadonlyMap<string, number>): void {
    for (const [channel, seq] of heads) if (this.last.has(channel)) this.last.set(channel, seq);
  }

  /** In time order over its channels (each channel's by seq), at most PAGE of each. */
  poll(): Promise<Array<StoredRecord & { readonly channel: string }>> {
    // One at a time: two polls under way at once would both return the same records.
    const p = this.polling.then(() => this.pollNow());
    this.polling = p.catch(() => undefined);
    return p;
  }

  wait(ms: number): Promise<void> {
    if (this.pending || this.closed) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.waiters.push(done);
    });
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.unsubscribe();
    this.release();
    this.onClose(this);
  }

  private release(): void {
    for (const w of this.waiters.slice()) w();
  }

  private async pollNow(): Promise<Array<StoredRecord & { readonly channel: string }>> {
    if (this.closed) return [];
    this.pending = false; // a notice arriving during the query sets it again
    const channels = [...this.last.keys()];
    const rows = await this.pool
      .query<FollowRow>(
        `SELECT r.channel, r.seq, r.line
           FROM unnest($1::text[], $2::bigint[]) AS f(channel, after)
           CROSS JOIN LATERAL (
             SELECT d.channel, d.seq, d.ts, d.line FROM dl_records d
              WHERE d.channel = f.channel AND d.seq > f.after ORDER BY d.seq LIMIT $3) r
          ORDER BY r.ts, r.channel, r.seq`,
        [channels, channels.map((c) => this.last.get(c) ?? 0), PAGE],
      )
      .then(
        (r) => r.rows,
        (err: unknown) => {
          this.pending = true; // nothing was returned: what is waiting still is
          throw asDatabaseError(err);
        },
      );
    const out = rows.map((r) => ({ channel: r.channel, seq: Number(r.seq), line: r.line }));
    const counts = new Map<string, number>();
    for (const r of out) {
      if (r.seq > (this.last.get(r.channel) ?? 0)) this.last.set(r.channel, r.seq);
      counts.set(r.channel, (counts.get(r.channel) ?? 0) + 1);
    }
    if ([...counts.values()].some((n) => n >= PAGE)) this.pending = true;
    return out;
  }
}
