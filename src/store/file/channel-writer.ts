import {
  closeSync,
  fdatasync,
  fdatasyncSync,
  ftruncateSync,
  openSync,
  renameSync,
  constants,
} from 'node:fs';
import path from 'node:path';
import { LogsError, asLogsError } from '../../errors.js';
import type { Sealable } from '../../pipeline/prepare.js';
import { sealEvent } from '../../pipeline/prepare.js';
import { PiiSealer } from '../../crypto/pii-cipher.js';
import { levelOfHead, sealBody, type ChannelKey } from '../../crypto/body-cipher.js';
import { LineBatch } from '../../integrity/line-batch.js';
import type { MerkleState } from '../../integrity/merkle.js';
import { MerkleTracker } from '../../integrity/merkle-tracker.js';
import { FILE_MODE, fsyncDir, writeAll } from '../../util/fs.js';
import type { RotationReason } from '../../integrity/segment.js';
import { failpoint } from '../../util/failpoint.js';
import type { Durability } from '../../config/resolve.js';
import type { Ack, ChannelState, ChannelStats } from './channel-types.js';

export interface ChannelWriterOptions {
  readonly channel: string;
  readonly file: string;
  readonly durability: Durability;
  /** Keep what witnesses' consistency proofs need (see MerkleTracker). Default false. */
  readonly rememberSizes?: boolean;
  readonly state: ChannelState;
  /** The Merkle tree at `state.seq`. */
  readonly merkle: MerkleState;
  /** Where the active file starts: the last record of the previous segment (0 and hash_0 if none). */
  readonly base: { readonly seq: number; readonly head: string };
  /** Times of the active file's first and last records (undefined when it is empty). */
  readonly firstTs?: string;
  readonly lastTs?: string;
  /** Rotate at this size, and at the first record of a new UTC day when `daily`. */
  readonly rotate: { readonly maxBytes: number; readonly daily: boolean };
  /** Encrypted channel: each record's body is sealed under this key (see body-cipher.ts). */
  readonly bodyKey?: ChannelKey;
  /** Binds each record's encrypted personal data to this log. */
  readonly logId: string;
  /** Buffered: longest time a record waits in memory before it is written. */
  readonly flushIntervalMs: number;
  /** Bytes waiting in memory beyond which they are written at once (bounded memory). */
  readonly maxPendingBytes: number;
  /**
   * Runs before each sync of records: a promise when something they depend on (new people's
   * keys) must be made durable first, which rejects if it cannot. `beforeSyncSync` is the same,
   * blocking, for exit handlers.
   */
  readonly beforeSync?: () => Promise<void> | undefined;
  readonly beforeSyncSync?: () => void;
  /** A failure no caller is waiting for (buffered records lost, a failed sync). Never throws. */
  readonly onError: (err: LogsError) => void;
}

/** A segment closed by rotation: the active file's records, now set aside. */
export interface Cut {
  readonly channel: string;
  readonly first: number;
  readonly last: number;
  readonly start: string;
  readonly head: string;
  readonly peaks: readonly string[];
  readonly first_ts: string;
  readonly last_ts: string;
  readonly bytes: number;
  readonly reason: RotationReason;
}

interface Waiter {
  readonly seq: number;
  readonly hash: string;
  readonly resolve: (ack: Ack) => void;
  readonly reject: (err: LogsError) => void;
}

// Write at once beyond this many bytes in buffered mode: one large write beats many small ones,
// and the page cache absorbs it in microseconds.
const BUFFERED_WRITE_BYTES = 64 * 1024;

/**
 * The single sequencer and appender of one channel. Every record gets its seq, ts and chain hash
 * here, synchronously, in call order; bytes go to the file in batches (group commit) and a
 * batch's waiters are answered by one fdatasync.
 *
 * Durable mode answers a waiter only after fdatasync; buffered mode writes within
 * `flushIntervalMs`, syncs at checkpoints and on close, and reports (never throws) failures.
 */
export class ChannelWriter {
  readonly channel: string;
  readonly durability: Durability;
  private readonly opts: ChannelWriterOptions;
  private fd: number;
  private readonly tree: MerkleTracker;
  // The active file holds the records after baseSeq; firstTs/lastTs are its first and last.
  private baseSeq: number;
  private baseHead: string;
  private firstTs: string | undefined;
  // YYYY-MM-DD of firstTs: daily rotation compares each record's ts with it.
  private firstDay = '';
  private lastTs: string | undefined;
  private seqNo: number;
  private headHash: string;

  // Sequenced but not yet written.
  private readonly batch = new LineBatch();
  private readonly sealer: PiiSealer;
  private bodyKey: ChannelKey | undefined;
  private waiting: Waiter[] = [];
  // Written but not yet synced.
  private written: Waiter[] = [];
  private writtenState: ChannelState;
  private syncedState: ChannelState;
  // The Merkle tree at writtenState.seq and at syncedState.seq.
  private writtenTree: MerkleState;
  private syncedTree: MerkleState;
  private syncing = false;
  private commitScheduled = false;
  // sync() callers, each waiting until the synced seq reaches its target.
  private syncListeners: Array<{ readonly target: number; readonly done: () => void }> = [];
  private timer: NodeJS.Timeout | undefined;
  private failure: LogsError | undefined;
  private closed = false;
  private readonly counters: ChannelStats = { records: 0, bytes: 0, writes: 0, syncs: 0 };

  constructor(opts: ChannelWriterOptions) {
    this.opts = opts;
    this.channel = opts.channel;
    this.durability = opts.durability;
    this.fd = openAppend(opts.file);
    this.baseSeq = opts.base.seq;
    this.baseHead = opts.base.head;
    this.firstTs = opts.firstTs;
    this.firstDay = opts.firstTs?.slice(0, 10) ?? '';
    this.lastTs = opts.lastTs;
    this.seqNo = opts.state.seq;
    this.headHash = opts.state.head;
    this.tree = new MerkleTracker(opts.merkle, opts.rememberSizes === true);
    this.sealer = new PiiSealer(opts.logId);
    this.bodyKey = opts.bodyKey;
    this.writtenState = opts.state;
    this.syncedState = opts.state;
    this.writtenTree = opts.merkle;
    this.syncedTree = opts.merkle;
    if (opts.durability === 'buffered') {
      this.timer = setInterval(() => this.flushQuietly(), opts.flushIntervalMs);
      this.timer.unref();
    }
  }

  /** seq of the last record sequenced. */
  get seq(): number {
    return this.seqNo;
  }

  /** Chain hash of the last record sequenced. */
  get head(): string {
    return this.headHash;
  }

  /** The last state known to be on disk (fdatasync done). */
  get synced(): ChannelState {
    return this.syncedState;
  }

  get stats(): Readonly<ChannelStats> {
    return { ...this.counters };
  }

  /**
   * The Merkle tree at `size`: kept for the last written and the last synced states (what
   * checkpoints ask for), else folded from the leaves not yet folded.
   */
  merkleAt(size: number): MerkleState {
    if (size === this.syncedState.seq) return this.syncedTree;
    if (size === this.writtenState.seq) return this.writtenTree;
    return this.tree.stateAt(size);
  }

  /**
   * The consistency proof (hex) between two sizes this writer folded its tree to lately (each
   * write batch, so every checkpoint's size), or null when either is no longer remembered.
   */
  consistency(from: number, to: number): string[] | null {
    return this.tree.consistency(from, to) ?? null;
  }

  /** Encrypt the records sequenced from now on under this key (`keys rotate`). */
  setBodyKey(key: ChannelKey): void {
    this.bodyKey = key;
  }

  /** Records sequenced but not yet synced. */
  get unsynced(): number {
    return this.seqNo - this.syncedState.seq;
  }

  /**
   * Sequence a record and queue it; returns its seq. Durable channels commit it within the
   * current tick's batch; buffered ones within flushIntervalMs.
   */
  append(p: Sealable, ts: string, skew: number): number {
    this.assertOpen();
    const seq = this.sequence(p, ts, skew);
    if (this.durability === 'durable') this.scheduleCommit();
    else if (this.batch.bytes >= BUFFERED_WRITE_BYTES) this.flushQuietly();
    return seq;
  }

  /** Sequence a record and resolve once it is on disk (after fdatasync), in either mode. */
  appendDurable(p: Sealable, ts: string, skew: number): Promise<Ack> {
    try {
      this.assertOpen();
    } catch (err) {
      return Promise.reject(asLogsError(err));
    }
    const promise = new Promise<Ack>((resolve, reject) => {
      this.sequence(p, ts, skew, resolve, reject);
    });
    this.scheduleCommit();
    return promise;
  }

  private sequence(
    p: Sealable,
    ts: string,
    skew: number,
    resolve?: Waiter['resolve'],
    reject?: Waiter['reject'],
  ): number {
    const sealed = this.bodyKey !== undefined;
    if (!this.batch.fits(p, sealed)) {
      // The batch buffer is full: its bytes go to the kernel now, whatever the mode.
      this.writeOut();
      if (this.failure !== undefined) throw this.failure;
      this.batch.reserve(p, sealed);
    }
    const seq = this.seqNo + 1;
    if (seq === this.baseSeq + 1) {
      this.firstTs = ts;
      this.firstDay = ts.slice(0, 10);
    }
    this.lastTs = ts;
    const pii = p.pii === undefined ? undefined : this.sealer.seal(p.pii);
    let canonical = sealEvent(p, seq, ts, skew, pii);
    if (this.bodyKey !== undefined) {
      const level = levelOfHead(p.pre);
      canonical = sealBody(this.bodyKey, this.opts.logId, this.channel, level, seq, ts, canonical);
    }
    const hash = this.batch.append(this.headHash, canonical);
    this.tree.appendBytes(this.batch.digest);
    this.seqNo = seq;
    this.headHash = hash;
    if (resolve !== undefined && reject !== undefined)
      this.waiting.push({ seq, hash, resolve, reject });
    // Bounded memory: past the limit, bytes go to the kernel now, whatever the mode.
    if (this.batch.bytes >= this.opts.maxPendingBytes) this.writeOut();
    return seq;
  }

  private scheduleCommit(): void {
    if (this.commitScheduled || this.syncing) return; // a running sync commits the next batch
    this.commitScheduled = true;
    // A microtask: it runs once the caller's current batch of records is all sequenced (the
    // sequencer hands them over in one message), without waiting a turn of the event loop.
    queueMicrotask(() => {
      this.commitScheduled = false;
      this.commit();
    });
  }

  /** Write what is queued and start one fdatasync for everything written so far. */
  private commit(): void {
    if (this.closed || this.failure !== undefined) return;
    this.writeOut();
    this.startSync();
  }

  /** Hand queued bytes to the kernel (synchronous write: cheap, and keeps order trivially). */
  private writeOut(): void {
    if (this.batch.count === 0 || this.failure !== undefined) return;
    const count = this.batch.count;
    const waiters = this.waiting;
    const bytes = this.batch.view();
    this.waiting = [];
    try {
      writeAll(this.fd, bytes);
    } catch (err) {
      this.batch.clear();
      this.writeFailed(err, count, waiters);
      return;
    }
    this.batch.clear();
    this.counters.records += count;
    this.counters.bytes += bytes.length;
    this.counters.writes += 1;
    this.writtenState = {
      seq: this.seqNo,
      head: this.headHash,
      offset: this.writtenState.offset + bytes.length,
    };
    for (const w of waiters) this.written.push(w);
    // Fold the Merkle tree up to what is written (a failed write never goes back below it), a
    // batch at a time: the work is spread evenly instead of falling on the checkpoint.
    this.writtenTree = this.tree.stateAt(this.writtenState.seq);
  }

  /**
   * A failed write may have left part of a batch on disk: cut the file back to the last good
   * byte and rewind the sequencer, so the batch is rejected as a whole and the chain continues
   * from the last stored record. If even that fails, the channel fails closed.
   */
  private writeFailed(err: unknown, count: number, waiters: Waiter[]): void {
    const cause = asLogsError(err);
    const error = new LogsError(
      'WRITE_FAILED',
      `${this.channel}: write failed (${cause.message}); ${count} record(s) not stored`,
      {
        cause: err,
      },
    );
    try {
      ftruncateSync(this.fd, this.writtenState.offset);
      this.seqNo = this.writtenState.seq;
      this.headHash = this.writtenState.head;
      this.tree.truncate(this.writtenState.seq);
    } catch (truncErr) {
      this.failure = new LogsError(
        'CHANNEL_FAILED',
        `${this.channel}: stopped after a failed write that could not be undone`,
        {
          cause: truncErr,
        },
      );
    }
    for (const w of waiters) w.reject(error);
    if (waiters.length < count) this.opts.onError(error);
  }

  private startSync(): void {
    if (this.syncing || this.failure !== undefined) return;
    if (this.written.length === 0 && this.writtenState.seq === this.syncedState.seq) {
      this.notifySynced();
      return;
    }
    const batch = this.written;
    const target = this.writtenState;
    const targetTree = this.writtenTree;
    this.written = [];
    this.syncing = true;
    this.counters.syncs += 1;
    const fd = this.fd;
    const sync = (): void =>
      fdatasync(fd, (err) => {
        this.syncing = false;
        // The file was rotated meanwhile: its descriptor was kept open for this sync only.
        if (fd !== this.fd) closeSync(fd);
        if (err) {
          this.syncFailed(err, batch);
          return;
        }
        // A rotation may have synced further already (flushSync): never go back.
        if (target.seq > this.syncedState.seq) {
          this.syncedState = target;
          this.syncedTree = targetTree;
        }
        for (const w of batch) w.resolve({ channel: this.channel, seq: w.seq, hash: w.hash });
        this.notifySynced();
        if (this.closed) return;
        if (this.waiting.length > 0 || this.written.length > 0 || this.syncListeners.length > 0) {
          this.commit();
        }
      });
    // What the records depend on (new people's keys) is made durable first.
    const before = this.opts.beforeSync?.();
    if (before === undefined) sync();
    else {
      before.then(sync, (err: unknown) => {
        this.syncing = false;
        this.syncFailed(err as NodeJS.ErrnoException, batch);
      });
    }
  }

  /**
   * After a failed fdatasync the kernel may have dropped the dirty pages: nobody can say what is
   * on disk. Fail closed: reject everything pending and refuse further records until reopened.
   */
  private syncFailed(err: NodeJS.ErrnoException, batch: Waiter[]): void {
    this.failure = new LogsError(
      'CHANNEL_FAILED',
      `${this.channel}: fdatasync failed (${err.code ?? err.message}); reopen the logs`,
      {
        cause: err,
      },
    );
    const all = [...batch, ...this.written, ...this.waiting];
    this.written = [];
    this.waiting = [];
    this.batch.clear();
    for (const w of all) w.reject(this.failure);
    this.opts.onError(this.failure);
    this.notifySynced();
  }

  /** Answer the sync() callers whose records are now synced (or that can never be). */
  private notifySynced(): void {
    const finished = this.closed || this.failure !== undefined;
    const waiting = this.syncListeners;
    this.syncListeners = [];
    for (const l of waiting) {
      if (finished || this.syncedState.seq >= l.target) l.done();
      else this.syncListeners.push(l);
    }
  }

  /**
   * Write and sync every record sequenced so far; resolves with the synced state. Records
   * sequenced after the call do not delay it, so it completes under a steady stream of writes.
   */
  sync(): Promise<ChannelState> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    const target = this.seqNo;
    if (this.syncedState.seq >= target) return Promise.resolve(this.syncedState);
    return new Promise((resolve, reject) => {
      this.syncListeners.push({
        target,
        done: () => (this.failure === undefined ? resolve(this.syncedState) : reject(this.failure)),
      });
      if (!this.syncing) this.commit();
    });
  }

  private flushQuietly(): void {
    if (!this.closed) this.writeOut();
  }

  // A method, not a field read: writeOut() may set the failure, which narrowing cannot see.
  private hasFailed(): boolean {
    return this.failure !== undefined;
  }

  private assertOpen(): void {
    if (this.failure !== undefined) throw this.failure;
    if (this.closed) throw new LogsError('LOGS_CLOSED', `${this.channel}: the logs are closed`);
  }

  /**
   * Write and sync everything sequenced so far, synchronously: for exit and signal handlers,
   * where nothing asynchronous runs any more. Returns the synced state.
   */
  flushSync(): ChannelState {
    if (this.closed || this.failure !== undefined) return this.syncedState;
    this.writeOut();
    if (this.hasFailed()) return this.syncedState;
    try {
      this.opts.beforeSyncSync?.();
      this.counters.syncs += 1;
      fdatasyncSync(this.fd);
    } catch (err) {
      this.syncFailed(err as NodeJS.ErrnoException, []);
      return this.syncedState;
    }
    this.syncedState = this.writtenState;
    this.syncedTree = this.writtenTree;
    const done = this.written;
    this.written = [];
    for (const w of done) w.resolve({ channel: this.channel, seq: w.seq, hash: w.hash });
    return this.syncedState;
  }

  /**
   * Why the active file should be rotated before a record stamped `ts` is added, if it should:
   * a new UTC day (daily rotation), or the size limit reached.
   */
  rotationDue(ts: string | undefined): RotationReason | undefined {
    if (this.closed || this.failure !== undefined || this.seqNo === this.baseSeq) return undefined;
    if (
      this.opts.rotate.daily &&
      ts !== undefined &&
      this.firstDay !== '' &&
      !ts.startsWith(this.firstDay)
    )
      return 'day';
    if (this.writtenState.offset + this.batch.bytes >= this.opts.rotate.maxBytes) return 'size';
    return undefined;
  }

  /** Records in the active file (sequenced since the last rotation). */
  get activeRecords(): number {
    return this.seqNo - this.baseSeq;
  }

  /** Time of the active file's first record. */
  get activeSince(): string | undefined {
    return this.seqNo === this.baseSeq ? undefined : this.firstTs;
  }

  /**
   * Close the active file as a segment: write and sync it, let `record` sign the cut (it must
   * be durable before anything moves), rename the file to `staging` and start a new, empty
   * active file. Synchronous: no record is sequenced in between. Returns undefined when the
   * active file is empty. A crash at any point is finished by the next open (recovery.ts).
   */
  rotate(
    reason: RotationReason,
    staging: (cut: Cut) => string,
    record: (cut: Cut) => void,
  ): Cut | undefined {
    this.assertOpen();
    if (this.seqNo === this.baseSeq) return undefined;
    const state = this.flushSync();
    const failed = this.failure;
    if (failed !== undefined) throw failed;
    const cut: Cut = {
      channel: this.channel,
      first: this.baseSeq + 1,
      last: state.seq,
      start: this.baseHead,
      head: state.head,
      peaks: this.syncedTree.peaks,
      first_ts: this.firstTs ?? '',
      last_ts: this.lastTs ?? '',
      bytes: state.offset,
      reason,
    };
    failpoint('rotate.synced');
    record(cut);
    failpoint('rotate.cut');
    const target = staging(cut);
    try {
      renameSync(this.opts.file, target);
      failpoint('rotate.renamed');
      const fd = openAppend(this.opts.file);
      failpoint('rotate.created');
      fsyncDir(path.dirname(target));
      fsyncDir(path.dirname(this.opts.file));
      if (!this.syncing) closeSync(this.fd); // else the running sync closes it
      this.fd = fd;
    } catch (err) {
      // The cut is signed: the next open finishes the move. Until then, refuse records.
      this.failure = new LogsError(
        'CHANNEL_FAILED',
        `${this.channel}: rotation failed after the segment was cut (${asLogsError(err).message}); reopen the logs to finish it`,
        { cause: err },
      );
      this.opts.onError(this.failure);
      throw this.failure;
    }
    this.baseSeq = state.seq;
    this.baseHead = state.head;
    this.firstTs = undefined;
    this.firstDay = '';
    this.lastTs = undefined;
    this.writtenState = { seq: state.seq, head: state.head, offset: 0 };
    this.syncedState = this.writtenState;
    this.writtenTree = this.syncedTree;
    return cut;
  }

  /** flushSync, then close the file. Returns the final synced state. */
  closeSync(): ChannelState {
    if (this.closed) return this.syncedState;
    if (this.timer !== undefined) clearInterval(this.timer);
    const state = this.flushSync();
    this.closed = true;
    this.notifySynced();
    closeSync(this.fd);
    return state;
  }

  /** Wait for a running fdatasync, then close. */
  async close(): Promise<ChannelState> {
    if (this.closed) return this.syncedState;
    if (this.syncing) await this.sync().catch(() => undefined);
    return this.closeSync();
  }
}

function openAppend(file: string): number {
  return openSync(
    file,
    constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW,
    FILE_MODE,
  );
}
