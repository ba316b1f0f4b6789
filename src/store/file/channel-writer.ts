/**
 * A channel's writer: it sequences records (seq, ts, chain hash, sealed personal data and body)
 * and answers for the channel. Its parts share one state (channel-writer-state.ts): the write
 * and sync path is channel-sync.ts, rotation into segments channel-rotation.ts.
 */
import { closeSync } from 'node:fs';
import { asLogsError } from '../../errors.js';
import type { Sealable } from '../../pipeline/prepare.js';
import { sealEvent } from '../../pipeline/prepare.js';
import { PiiSealer } from '../../crypto/pii-cipher.js';
import { levelOfHead, sealBody, type ChannelKey } from '../../crypto/body-cipher.js';
import type { MerkleState } from '../../integrity/merkle.js';
import type { RotationReason } from '../../integrity/segment.js';
import type { Durability } from '../../config/resolve.js';
import type { Ack, ChannelStats } from '../store.js';
import type { ChannelState, ChannelWriterOptions, Cut } from './channel-types.js';
import {
  assertOpen,
  openWriterState,
  type Waiter,
  type WriterState,
} from './channel-writer-state.js';
import {
  answerAgain,
  flushQuietly,
  notifySynced,
  scheduleCommit,
  scheduleWrite,
  syncNow,
  syncSequenced,
  writeOut,
} from './channel-sync.js';
import { cutSegment, rotationDueAt } from './channel-rotation.js';
import type { SeenKey } from './idempotency.js';

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
  private readonly s: WriterState;
  private readonly sealer: PiiSealer;
  private bodyKey: ChannelKey | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(opts: ChannelWriterOptions) {
    this.channel = opts.channel;
    this.durability = opts.durability;
    this.s = openWriterState(opts);
    this.sealer = new PiiSealer(opts.logId);
    this.bodyKey = opts.bodyKey;
    if (opts.durability === 'buffered') {
      this.timer = setInterval(() => flushQuietly(this.s), opts.flushIntervalMs);
      this.timer.unref();
    }
  }

  /** seq of the last record sequenced. */
  get seq(): number {
    return this.s.seqNo;
  }

  /** Chain hash of the last record sequenced. */
  get head(): string {
    return this.s.headHash;
  }

  /** The last state known to be on disk (fdatasync done). */
  get synced(): ChannelState {
    return this.s.syncedState;
  }

  get stats(): Readonly<ChannelStats> {
    return { ...this.s.counters };
  }

  /**
   * The Merkle tree at `size`: kept for the last written and the last synced states (what
   * checkpoints ask for), else folded from the leaves not yet folded.
   */
  merkleAt(size: number): MerkleState {
    if (size === this.s.syncedState.seq) return this.s.syncedTree;
    if (size === this.s.writtenState.seq) return this.s.writtenTree;
    return this.s.tree.stateAt(size);
  }

  /**
   * The consistency proof (hex) between two sizes this writer folded its tree to lately (each
   * write batch, so every checkpoint's size), or null when either is no longer remembered.
   */
  consistency(from: number, to: number): string[] | null {
    return this.s.tree.consistency(from, to) ?? null;
  }

  /** Encrypt the records sequenced from now on under this key (`keys rotate`). */
  setBodyKey(key: ChannelKey): void {
    this.bodyKey = key;
  }

  /** Whether the writer stopped (a write it could not undo, a failed sync). */
  get failed(): boolean {
    return this.s.failure !== undefined;
  }

  /** Records sequenced but not yet synced. */
  get unsynced(): number {
    return this.s.seqNo - this.s.syncedState.seq;
  }

  /**
   * Sequence a record and queue it; returns its seq. Durable channels commit it within the
   * current tick's batch; buffered ones within flushIntervalMs. A record whose idempotency key
   * the channel stored within the window is not stored again (here, and in appendDurable and
   * appendWritten): it is answered as the first record with that key, once that one is as far.
   */
  append(p: Sealable, ts: string, skew: number): number {
    assertOpen(this.s);
    if (p.idem !== undefined) {
      const seen = this.seen(p.idem, ts);
      if (seen !== undefined) return seen.seq; // a retry: stored once already
    }
    const seq = this.sequence(p, ts, skew);
    if (this.durability === 'durable') scheduleCommit(this.s);
    else if (this.s.batch.bytes >= BUFFERED_WRITE_BYTES) flushQuietly(this.s);
    return seq;
  }

  /** Sequence a record and resolve once it is on disk (after fdatasync), in either mode. */
  appendDurable(p: Sealable, ts: string, skew: number): Promise<Ack> {
    return this.appendAnswered(p, ts, skew, false);
  }

  /**
   * Sequence a record and resolve once it is written to the file (the kernel has it; synced
   * later, as the channel syncs): the answer of an accepted record. Never before the write, so
   * a write that fails rejects it, and its seq, given again, was never answered to anyone.
   */
  appendWritten(p: Sealable, ts: string, skew: number): Promise<Ack> {
    return this.appendAnswered(p, ts, skew, true);
  }

  private appendAnswered(p: Sealable, ts: string, skew: number, onWrite: boolean): Promise<Ack> {
    try {
      assertOpen(this.s);
    } catch (err) {
      return Promise.reject(asLogsError(err));
    }
    if (p.idem !== undefined) {
      const seen = this.seen(p.idem, ts);
      if (seen !== undefined) return answerAgain(this.s, seen, onWrite);
    }
    const promise = new Promise<Ack>((resolve, reject) => {
      this.sequence(p, ts, skew, resolve, reject, onWrite);
    });
    if (onWrite && this.durability === 'buffered') scheduleWrite(this.s);
    else scheduleCommit(this.s);
    return promise;
  }

  private sequence(
    p: Sealable,
    ts: string,
    skew: number,
    resolve?: Waiter['resolve'],
    reject?: Waiter['reject'],
    onWrite = false,
  ): number {
    const s = this.s;
    const sealed = this.bodyKey !== undefined;
    if (!s.batch.fits(p, sealed)) {
      // The batch buffer is full: its bytes go to the kernel now, whatever the mode.
      writeOut(s);
      if (s.failure !== undefined) throw s.failure;
      s.batch.reserve(p, sealed);
    }
    const seq = s.seqNo + 1;
    if (seq === s.baseSeq + 1) {
      s.firstTs = ts;
      s.firstDay = ts.slice(0, 10);
    }
    s.lastTs = ts;
    const pii = p.pii === undefined ? undefined : this.sealer.seal(p.pii);
    let canonical = sealEvent(p, seq, ts, skew, pii);
    if (this.bodyKey !== undefined) {
      const level = levelOfHead(p.pre);
      canonical = sealBody(this.bodyKey, s.opts.logId, this.channel, level, seq, ts, canonical);
    }
    const hash = s.batch.append(s.headHash, canonical);
    s.tree.appendBytes(s.batch.digest);
    s.seqNo = seq;
    s.headHash = hash;
    if (p.idem !== undefined) s.opts.idempotency?.remember(p.idem, seq, hash, Date.parse(ts));
    if (resolve !== undefined && reject !== undefined)
      s.waiting.push({ seq, hash, resolve, reject, onWrite });
    // Bounded memory: past the limit, bytes go to the kernel now, whatever the mode.
    if (s.batch.bytes >= s.opts.maxPendingBytes) writeOut(s);
    return seq;
  }

  /** The record stored with idempotency key `key` within the window before `ts`, if any. */
  private seen(key: string, ts: string): SeenKey | undefined {
    return this.s.opts.idempotency?.find(key, Date.parse(ts));
  }

  /**
   * Write and sync every record sequenced so far; resolves with the synced state. Records
   * sequenced after the call do not delay it, so it completes under a steady stream of writes.
   */
  sync(): Promise<ChannelState> {
    return syncSequenced(this.s);
  }

  /**
   * Write and sync everything sequenced so far, synchronously: for exit and signal handlers,
   * where nothing asynchronous runs any more. Returns the synced state.
   */
  flushSync(): ChannelState {
    return syncNow(this.s);
  }

  /**
   * Why the active file should be rotated before a record stamped `ts` is added, if it should:
   * a new UTC day (daily rotation), or the size limit reached.
   */
  rotationDue(ts: string | undefined): RotationReason | undefined {
    return rotationDueAt(this.s, ts);
  }

  /** Records in the active file (sequenced since the last rotation). */
  get activeRecords(): number {
    return this.s.seqNo - this.s.baseSeq;
  }

  /** Time of the active file's first record. */
  get activeSince(): string | undefined {
    return this.s.seqNo === this.s.baseSeq ? undefined : this.s.firstTs;
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
    return cutSegment(this.s, reason, staging, record);
  }

  /** flushSync, then close the file. Returns the final synced state. */
  closeSync(): ChannelState {
    if (this.s.closed) return this.s.syncedState;
    if (this.timer !== undefined) clearInterval(this.timer);
    const state = syncNow(this.s);
    this.s.closed = true;
    notifySynced(this.s);
    closeSync(this.s.fd);
    return state;
  }

  /** Wait for a running fdatasync, then close. */
  async close(): Promise<ChannelState> {
    if (this.s.closed) return this.s.syncedState;
    if (this.s.syncing) await this.sync().catch(() => undefined);
    return this.closeSync();
  }
}
