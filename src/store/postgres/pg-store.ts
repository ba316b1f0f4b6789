/**
 * The PostgreSQL backend (`store: { kind: postgres }`): any number of equal instances append
 * to one database. Per channel a head row orders their group commits (batch.ts); one instance
 * at a time signs checkpoints (checkpointer.ts); segments, seals, tombstones and holds are
 * signed in the file store's formats (lifecycle.ts); `verify` reads it all back (verify.ts).
 */
import type pg from 'pg';
import { LogsError, asLogsError } from '../../errors.js';
import type { ChannelKey } from '../../crypto/body-cipher.js';
import { PiiSealer } from '../../crypto/pii-cipher.js';
import type { Config } from '../../config/resolve.js';
import type { EventInput } from '../../event/record.js';
import { ChainHasher } from '../../integrity/chain.js';
import type { Sealable } from '../../pipeline/prepare.js';
import type { SegmentBook } from '../segment-book.js';
import type {
  Ack,
  AppendMode,
  ChannelStats,
  RotationResult,
  SealResult,
  Segment,
  Store,
  StoreChannel,
  StoreNote,
  StoredRecord,
} from '../store.js';
import type { VerifyOptions, VerifyReport } from '../verify-report.js';
import { ChannelQueue } from './channel-queue.js';
import { checkpointRound, CheckpointLeader } from './checkpointer.js';
import { PgKeystore } from './keystore.js';
import { openFaces, type PgPeople, type PgRecords } from './faces.js';
import { cutChannel, readBook, sealSegment, signHold, tombstoneSegment } from './lifecycle.js';
import type { PgLogIdentity } from './meta.js';
import { Partitions } from './partitions.js';
import { asDatabaseError } from './pool.js';
import { PgTokens } from './tokens.js';
import { commitAtExit } from './exit.js';
import { verifyPostgres } from './verify.js';

const READ_PAGE = 5000;

export interface Parts {
  readonly config: Config;
  readonly pool: pg.Pool;
  readonly identity: PgLogIdentity;
  readonly keys: PgKeystore;
  readonly channels: readonly StoreChannel[];
  readonly findings: readonly EventInput[];
  readonly book: SegmentBook;
  readonly onError: (err: LogsError) => void;
  readonly name: string;
}

export class PostgresStore implements Store {
  readonly kind = 'postgres';
  readonly dir: string;
  readonly logId: string;
  readonly publicKey: string;
  readonly channels: readonly StoreChannel[];
  readonly keys: PgKeystore;
  readonly findings: readonly EventInput[];
  onNote: ((note: StoreNote) => void) | undefined;
  readonly people: PgPeople;
  readonly records: PgRecords;
  /** The service's tokens, in `dl_tokens`: every instance on the schema sees the same. */
  readonly tokens: PgTokens;
  private readonly stopFaces: () => Promise<void>;
  private readonly queues: ChannelQueue[];
  private readonly bodyKeys: Array<ChannelKey | undefined>;
  private readonly leader: CheckpointLeader;
  private book: SegmentBook;
  private health: LogsError | undefined;
  private closed = false;
  /** Lifecycle calls under way: close() lets them finish before the pool goes. */
  private readonly busy = new Set<Promise<unknown>>();

  constructor(private readonly parts: Parts) {
    const { config, identity } = parts;
    this.dir = config.dir;
    this.logId = identity.logId;
    this.publicKey = identity.publicKey;
    this.channels = parts.channels;
    this.keys = parts.keys;
    this.findings = parts.findings;
    this.book = parts.book;
    const partitions = new Partitions(parts.pool);
    const host = {
      stored: parts.keys.stored.bind(parts.keys),
      pool: parts.pool,
      partitions,
      maxPendingBytes: config.writer.maxPendingBytes,
      onError: parts.onError,
      onHealth: (err: LogsError | undefined) => (this.health = err),
    };
    const hasher = new ChainHasher();
    const sealer = new PiiSealer(identity.logId);
    this.bodyKeys = parts.channels.map((c) =>
      config.channels[c.name]?.encrypt === true ? parts.keys.channelKey(c.name) : undefined,
    );
    this.queues = parts.channels.map(
      (c, i) =>
        new ChannelQueue(host, {
          logId: identity.logId,
          channel: c.name,
          keys: parts.keys,
          bodyKey: this.bodyKeys[i],
          idempotencyWindowMs: config.idempotency.windowMs,
          hasher,
          sealer,
        }),
    );
    this.leader = new CheckpointLeader(
      parts.pool,
      () => this.round(),
      config.integrity.checkpointIntervalMs,
      (err) => parts.onError(asDatabaseError(err)),
    );
    this.leader.start();
    const faces = openFaces(parts, () => this.book, this.read.bind(this));
    this.people = faces.people;
    this.records = faces.records;
    this.stopFaces = () => faces.stop();
    this.tokens = new PgTokens(parts.pool);
  }

  get failed(): LogsError | undefined {
    return this.health;
  }

  append(
    channel: number,
    record: Sealable,
    ts: string,
    skew: number,
    mode: AppendMode,
  ): Promise<Ack> | undefined {
    if (this.closed) {
      const err = new LogsError('LOGS_CLOSED', 'the store is closed');
      if (mode === 'f') throw err;
      return Promise.reject(err);
    }
    const q = this.queues[channel];
    if (q === undefined) {
      const err = new LogsError('CHANNEL_UNKNOWN', `no channel number ${channel} in this store`);
      if (mode === 'f') throw err;
      return Promise.reject(err);
    }
    const bytes = record.pre.length + record.post.length + record.mid.length + 160;
    if (mode === 'f') {
      q.push({ p: record, ts, skew, mode, bytes });
      return undefined;
    }
    return new Promise<Ack>((resolve, reject) =>
      q.push({ p: record, ts, skew, mode, bytes, resolve, reject }),
    );
  }

  async flush(): Promise<void> {
    this.open();
    await Promise.all(this.queues.map((q) => q.drained()));
    if (this.health !== undefined) throw this.health;
    await this.round();
  }

  flushSync(): void {
    // Nothing synchronous reaches a database: records still queued are committed by close(),
    // or lost with the process (docs/postgres.md: the loss budget of buffered channels).
  }

  stats(): Record<string, ChannelStats> {
    return Object.fromEntries(
      this.queues.map((q, i) => [this.channels[i]?.name ?? String(i), { ...q.stats }]),
    );
  }

  setChannelKey(_channel: string, _key: ChannelKey): void {
    throw new LogsError(
      'STORE_UNSUPPORTED',
      'rotating a channel key is not available on the PostgreSQL store yet',
    );
  }

  consistency(): Promise<string[] | null> {
    return Promise.resolve(null); // proofs come from the index, as for the file store
  }

  rotate(request: { channel?: string; dueAt?: string }): Promise<RotationResult[]> {
    return this.track(() => this.rotateNow(request));
  }

  private async rotateNow(request: {
    channel?: string;
    dueAt?: string;
  }): Promise<RotationResult[]> {
    this.open();
    if (request.channel !== undefined) this.known(request.channel);
    const names =
      request.channel === undefined ? this.channels.map((c) => c.name) : [request.channel];
    await Promise.all(this.queues.map((q) => q.drained()));
    await this.round();
    const out: RotationResult[] = [];
    for (const name of names) {
      const r = await cutChannel(this.parts.pool, this.parts.identity, name, request.dueAt);
      if (r.rotated) {
        this.onNote?.({
          kind: 'rotated',
          channel: name,
          first: r.first ?? 0,
          last: r.last ?? 0,
          reason: request.dueAt === undefined ? 'manual' : 'day',
          bytes: 0,
        });
      }
      out.push(r);
    }
    await this.refreshBook();
    const sealed = await this.sealNow().catch(() => []);
    return out.map((r) => {
      const seal = sealed.find((s) => s.channel === r.channel && s.first === r.first);
      return seal === undefined ? r : { ...r, seal };
    });
  }

  seal(): Promise<SealResult[]> {
    return this.track(() => this.sealNow());
  }

  private async sealNow(): Promise<SealResult[]> {
    this.open();
    await this.refreshBook();
    const out: SealResult[] = [];
    for (const c of this.channels)
      for (const s of this.book.segments(c.name).filter((x) => x.state === 'staging')) {
        const r = await sealSegment(
          this.parts.pool,
          this.parts.identity,
          s,
          this.parts.config.archive.level,
        );
        if (r === undefined) continue; // another instance sealed it first
        this.onNote?.({ kind: 'sealed', seal: r });
        out.push(r);
      }
    await this.refreshBook();
    return out;
  }

  hold(channel: string, set: boolean, reason: string): Promise<void> {
    return this.track(() => this.holdNow(channel, set, reason));
  }

  private async holdNow(channel: string, set: boolean, reason: string): Promise<void> {
    this.open();
    this.known(channel);
    await signHold(this.parts.pool, this.parts.identity, channel, set, reason);
    await this.refreshBook();
  }

  tombstone(
    channel: string,
    first: number,
    last: number,
    reason: string,
  ): Promise<{ file: string; size: number }> {
    return this.track(() => this.tombstoneNow(channel, first, last, reason));
  }

  private async tombstoneNow(
    channel: string,
    first: number,
    last: number,
    reason: string,
  ): Promise<{ file: string; size: number }> {
    this.open();
    this.known(channel);
    await this.refreshBook();
    const s = this.book.segments(channel).find((x) => x.first === first && x.last === last);
    if (s === undefined || s.state !== 'sealed')
      throw new LogsError('SEGMENT_UNKNOWN', `${channel}: no sealed segment ${first}-${last}`);
    if (this.book.hold(channel) !== undefined)
      throw new LogsError('RETENTION_HOLD', `${channel} is under a legal hold: nothing is deleted`);
    // The tree and its stored leaves cover the segment before its records go.
    await this.round({ channel, seq: last });
    const out = await tombstoneSegment(this.parts.pool, this.parts.identity, s, reason);
    await this.refreshBook();
    return out;
  }

  segments(channel: string): readonly Segment[] {
    return this.book.segments(channel);
  }

  async *read(channel: string, fromSeq: number): AsyncIterable<StoredRecord> {
    this.known(channel);
    let after = fromSeq - 1;
    for (;;) {
      const { rows } = await this.parts.pool.query<{ seq: string; line: string }>(
        'SELECT seq, line FROM dl_records WHERE channel = $1 AND seq > $2 ORDER BY seq LIMIT $3',
        [channel, after, READ_PAGE],
      );
      for (const r of rows) yield { seq: Number(r.seq), line: r.line };
      if (rows.length < READ_PAGE) return;
      after = Number(rows[rows.length - 1]?.seq);
    }
  }

  verify(options: Omit<VerifyOptions, 'dir'> = {}): Promise<VerifyReport> {
    return verifyPostgres(
      {
        pool: this.parts.pool,
        name: this.parts.name,
        logId: this.logId,
        publicKey: this.publicKey,
        channels: this.channels.map((c) => c.name),
      },
      { publicKey: this.publicKey, ...options },
    );
  }

  async close(beforeRelease?: () => Promise<void>): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    try {
      await Promise.allSettled([...this.busy]);
      await Promise.all(this.queues.map((q) => q.drained()));
      await this.leader.stop();
      await this.round().catch((err: unknown) => this.parts.onError(asDatabaseError(err)));
      await beforeRelease?.();
    } finally {
      await this.stopFaces();
      await this.parts.pool.end().catch(() => undefined);
    }
  }

  closeSync(): void {
    if (this.closed) return;
    this.closed = true;
    void this.leader.stop();
    void this.stopFaces();
    const { config, pool, identity, keys } = this.parts;
    if (config.store.kind !== 'postgres') return;
    const stored = commitAtExit(pool, {
      url: config.store.url,
      schema: config.store.schema,
      logId: identity.logId,
      idempotencyWindowMs: config.idempotency.windowMs,
      subjects: keys.allPending(),
      channels: this.channels.map((c, i) => ({
        name: c.name,
        queue: this.queues[i] as ChannelQueue,
        bodyKey: this.bodyKeys[i],
      })),
    });
    if (stored === undefined)
      this.parts.onError(
        new LogsError('DATABASE_UNAVAILABLE', 'records waiting at exit could not be stored'),
      );
    void pool.end().catch(() => undefined);
  }

  /** Run a lifecycle call; refused once closed, awaited by close() while under way. */
  private track<T>(fn: () => Promise<T>): Promise<T> {
    try {
      this.open();
    } catch (err) {
      return Promise.reject(asLogsError(err));
    }
    const p = fn();
    this.busy.add(p);
    void p.finally(() => this.busy.delete(p)).catch(() => undefined);
    return p;
  }

  private round(leavesUpTo?: { channel: string; seq: number }): Promise<number> {
    return checkpointRound(
      this.parts.pool,
      this.parts.identity,
      this.channels.map((c) => c.name),
      this.parts.onError,
      leavesUpTo,
    );
  }

  private async refreshBook(): Promise<void> {
    this.book = await readBook(this.parts.pool);
  }

  private open(): void {
    if (this.closed) throw new LogsError('LOGS_CLOSED', 'the store is closed');
  }

  private known(channel: string): void {
    if (!this.channels.some((c) => c.name === channel))
      throw new LogsError('CHANNEL_UNKNOWN', 'no such channel in this store');
  }
}
