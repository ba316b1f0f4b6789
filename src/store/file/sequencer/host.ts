import {
  closeSync,
  constants,
  existsSync,
  fdatasync,
  fdatasyncSync,
  openSync,
  unlinkSync,
} from 'node:fs';
import path from 'node:path';
import { LogsError, asLogsError } from '../../../errors.js';
import { importPrivateKey } from '../../../crypto/sign.js';
import type { MerkleState } from '../../../integrity/merkle.js';
import type { Unproven } from '../../../integrity/checkpoint.js';
import { ChannelWriter } from '../channel-writer.js';
import type { Ack, ChannelState } from '../channel-types.js';
import { CheckpointLog } from '../checkpoint-log.js';
import { LogLayout } from '../layout.js';
import { saveState } from '../state-file.js';
import { SegmentLog, type Segment } from '../segment-log.js';
import { sealSegment, type SealResult } from '../sealer.js';
import type { RotationReason } from '../../../integrity/segment.js';
import { ensureDir, fsyncDir } from '../../../util/fs.js';
import type { Cut } from '../channel-writer.js';
import { failpoint } from '../../../util/failpoint.js';
import {
  CONSUMED,
  KEYS_COMMITTED,
  STATS_FIELDS,
  SYNC_DONE,
  decodeBatch,
  type FromHost,
  type LifecycleOp,
  type SequencerInit,
  type ToHost,
  type WireError,
} from './protocol.js';

type Kind = 'due' | 'final' | 'reopen' | 'adopt';

/**
 * The sequencer thread's side: it owns every channel's writer and the checkpoint log. It
 * assigns seq, hashes, writes, syncs and signs; the application's thread only validates and
 * serializes. Acknowledgements go back in batches, one message per turn of the event loop.
 */
export class SequencerHost {
  private readonly layout: LogLayout;
  private readonly writers: ChannelWriter[];
  private readonly checkpoints: CheckpointLog;
  private readonly segments: SegmentLog;
  private readonly archiveLevel: number;
  // Seals run one at a time, in order; `queued` keeps a segment from being queued twice.
  private sealChain: Promise<unknown> = Promise.resolve();
  private readonly queued = new Map<string, Promise<SealResult | undefined>>();
  private readonly checkpointed = new Map<string, number>();
  private readonly counters: BigInt64Array;
  private readonly stats: Float64Array;
  private readonly timer: NodeJS.Timeout;
  private checkpointing: Promise<void> | undefined;
  private closing = false;
  private finished = false;
  private ackIds: number[] = [];
  private ackSeqs: number[] = [];
  private ackHashes: string[] = [];
  private ackScheduled = false;
  private readonly keysWal: string | undefined;
  private keysFd: number | undefined;
  private keysSynced = 0n;

  constructor(
    init: SequencerInit,
    private readonly send: (msg: FromHost) => void,
  ) {
    this.layout = new LogLayout(init.dir);
    this.keysWal = init.keysWal;
    this.counters = new BigInt64Array(init.counters);
    this.stats = new Float64Array(init.stats);
    const onError = (err: unknown): void => this.send({ t: 'error', error: wire(err) });
    this.checkpoints = new CheckpointLog(
      this.layout,
      { log_id: init.logId, kid: init.kid },
      importPrivateKey(init.privateKey),
      { prev: init.checkpointPrev, latest: new Map(init.latestCheckpoints) },
      onError,
      init.logName,
    );
    this.segments = new SegmentLog(
      this.layout,
      { log_id: init.logId, kid: init.kid },
      importPrivateKey(init.privateKey),
      { entries: init.segments, prev: init.segmentsPrev },
      () => this.checkpoints.pin(),
    );
    this.archiveLevel = init.archiveLevel;
    const adopt = new Map<string, { readonly unproven?: Unproven }>();
    this.writers = init.channels.map(({ checkpointed, adopt: a, ...c }) => {
      this.checkpointed.set(c.channel, checkpointed);
      if (a !== undefined) adopt.set(c.channel, a);
      return new ChannelWriter({
        ...c,
        logId: init.logId,
        rememberSizes: init.witnessed === true,
        flushIntervalMs: init.flushIntervalMs,
        maxPendingBytes: init.maxPendingBytes,
        beforeSync: () => this.syncKeys(),
        beforeSyncSync: () => this.syncKeysSync(),
        onError,
      });
    });
    // Reopening after a clean close: say so first, so verify does not take the records that
    // follow for records added behind the writer's back.
    for (const w of this.writers) {
      if (init.reopen.includes(w.channel)) this.sign(w, w.synced, 'reopen');
      // Records open checked (or could not prove) are signed before anything new is written,
      // with what open found said in the checkpoint itself when they were not proven.
      const a = adopt.get(w.channel);
      if (a !== undefined) this.sign(w, w.synced, 'adopt', a.unproven);
    }
    this.timer = setInterval(() => void this.checkpoint(), init.checkpointIntervalMs);
    // Segments a crash or a close left unsealed are sealed now, in the background.
    for (const w of this.writers) {
      for (const seg of this.segments.book.segments(w.channel)) {
        if (seg.state === 'staging') void this.seal(seg);
        else this.removeStaged(seg); // a crash after the seal, before the staged copy went
      }
    }
  }

  handle(msg: ToHost): void {
    switch (msg.t) {
      case 'batch':
        this.batch(msg.data);
        break;
      case 'flush':
        this.checkpoint().then(
          () => this.send({ t: 'done', id: msg.id }),
          (err: unknown) => this.send({ t: 'done', id: msg.id, error: wire(err) }),
        );
        break;
      case 'close':
        this.close().then(
          () => this.send({ t: 'done', id: msg.id }),
          (err: unknown) => this.send({ t: 'done', id: msg.id, error: wire(err) }),
        );
        break;
      case 'op':
        this.op(msg.op).then(
          (result) => this.send({ t: 'done', id: msg.id, result }),
          (err: unknown) => this.send({ t: 'done', id: msg.id, error: wire(err) }),
        );
        break;
      case 'key':
        this.writers.find((w) => w.channel === msg.channel)?.setBodyKey(msg.key);
        break;
      case 'flush-sync':
        this.flushSync();
        this.syncDone();
        break;
      case 'close-sync':
        this.closeSync();
        this.syncDone();
        break;
    }
  }

  private batch(data: string): void {
    decodeBatch(data, (r) => {
      const w = this.writers[r.channel];
      if (w === undefined) return;
      try {
        const due = w.rotationDue(r.ts);
        if (due !== undefined) this.rotate(w, due);
        if (r.mode === 'd') {
          const id = r.id;
          w.appendDurable(r.event, r.ts, r.skew).then(
            (ack) => this.ack(id, ack),
            (err: unknown) => this.send({ t: 'reject', ids: [id], error: wire(err) }),
          );
        } else {
          const seq = w.append(r.event, r.ts, r.skew);
          if (r.mode === 'a') this.ack(r.id, { channel: w.channel, seq, hash: w.head });
        }
      } catch (err) {
        if (r.mode === 'f') this.send({ t: 'error', error: wire(err) });
        else this.send({ t: 'reject', ids: [r.id], error: wire(err) });
      }
    });
    Atomics.add(this.counters, CONSUMED, 1n);
    Atomics.notify(this.counters, CONSUMED);
    this.publishStats();
  }

  private async op(op: LifecycleOp): Promise<unknown> {
    if (this.closing) throw new LogsError('LOGS_CLOSED', 'the logs are closing');
    switch (op.kind) {
      case 'rotate': {
        const targets = this.writers.filter(
          (w) => op.channel === undefined || w.channel === op.channel,
        );
        if (targets.length === 0)
          throw new LogsError('CHANNEL_UNKNOWN', `no channel named ${op.channel ?? ''}`);
        const due = op.dueAt;
        const cuts = targets
          .map((w) => ({ w, reason: due === undefined ? 'manual' : w.rotationDue(due) }))
          .filter((x): x is { w: ChannelWriter; reason: RotationReason } => x.reason !== undefined)
          .map(({ w, reason }) => ({ channel: w.channel, cut: this.rotate(w, reason) }));
        return Promise.all(
          cuts.map(async ({ channel, cut }) => ({
            channel,
            ...(cut === undefined
              ? { rotated: false }
              : { rotated: true, first: cut.first, last: cut.last }),
            ...(cut === undefined ? {} : { seal: await this.queued.get(key(cut)) }),
          })),
        );
      }
      case 'seal': {
        const pending: Array<Promise<SealResult | undefined>> = [];
        for (const w of this.writers) {
          for (const seg of this.segments.book.segments(w.channel)) {
            if (seg.state === 'staging') pending.push(this.seal(seg));
          }
        }
        return (await Promise.all(pending)).filter((r) => r !== undefined);
      }
      case 'hold': {
        const e = this.segments.append(
          { kind: 'hold', channel: op.channel, set: op.set, reason: op.reason },
          new Date(),
        );
        return { channel: e.channel, set: op.set, ts: e.ts };
      }
      case 'tombstone':
        return this.tombstone(op.channel, op.first, op.last, op.reason);
      case 'consistency':
        // For witnesses: from the subtrees the writer's own fold completed, no hashing again.
        return (
          this.writers.find((w) => w.channel === op.channel)?.consistency(op.from, op.to) ?? null
        );
    }
  }

  /** Cut a channel's active file into a segment, checkpoint it, and queue its seal. */
  private rotate(w: ChannelWriter, reason: RotationReason): Cut | undefined {
    const cut = w.rotate(
      reason,
      (c) => {
        ensureDir(this.layout.stagingDir);
        return this.layout.stagingFile(c.channel, c.first, c.last);
      },
      (c) => {
        this.segments.append({ kind: 'cut', ...c }, new Date());
      },
    );
    if (cut === undefined) return undefined;
    this.sign(w, w.synced);
    this.checkpoints.syncSoon();
    this.send({
      t: 'note',
      note: {
        kind: 'rotated',
        channel: cut.channel,
        first: cut.first,
        last: cut.last,
        reason,
        bytes: cut.bytes,
      },
    });
    const seg = this.segments.book.lastCut(w.channel);
    if (seg !== undefined) void this.seal(seg);
    return cut;
  }

  private removeStaged(seg: Segment): void {
    const staged = this.layout.stagingFile(seg.channel, seg.first, seg.last);
    try {
      if (existsSync(staged)) {
        unlinkSync(staged);
        fsyncDir(this.layout.stagingDir);
      }
    } catch (err) {
      this.send({ t: 'error', error: wire(err) });
    }
  }

  /** Queue a segment's seal (once); resolves with its result, or undefined if it failed. */
  private seal(seg: Segment): Promise<SealResult | undefined> {
    const k = key(seg);
    const existing = this.queued.get(k);
    if (existing !== undefined) return existing;
    const run = this.sealChain.then(async () => {
      if (this.closing) return undefined;
      try {
        const result = await sealSegment(this.layout, seg, this.archiveLevel, (entry) => {
          if (this.finished) throw new LogsError('LOGS_CLOSED', 'the logs closed during a seal');
          this.segments.append(entry, new Date());
        });
        this.send({ t: 'note', note: { kind: 'sealed', seal: result } });
        return result;
      } catch (err) {
        this.send({
          t: 'note',
          note: {
            kind: 'seal_failed',
            channel: seg.channel,
            first: seg.first,
            last: seg.last,
            error: wire(err),
          },
        });
        return undefined;
      } finally {
        this.queued.delete(k);
      }
    });
    this.queued.set(k, run);
    this.sealChain = run;
    return run;
  }

  /**
   * Delete a sealed archive on purpose: the signed tombstone goes first, so a crash in between
   * leaves a removed-on-purpose segment whose file is still there (deleted on the next run),
   * never a missing archive without an explanation.
   */
  private tombstone(
    channel: string,
    first: number,
    last: number,
    reason: string,
  ): { file: string; size: number } {
    const book = this.segments.book;
    const hold = book.hold(channel);
    if (hold !== undefined) {
      throw new LogsError(
        'RETENTION_HOLD',
        `${channel} is under a legal hold (${hold.reason}); nothing is deleted until it is cleared`,
      );
    }
    const seg = book.segments(channel).find((s) => s.first === first && s.last === last);
    if (seg === undefined || seg.file === undefined || seg.sha256 === undefined) {
      throw new LogsError(
        'SEGMENT_UNKNOWN',
        `${channel}: no sealed segment ${first}-${last} to delete`,
      );
    }
    if (seg.state === 'sealed') {
      failpoint('retention.before');
      this.segments.append(
        {
          kind: 'tombstone',
          channel,
          first,
          last,
          start: seg.start,
          head: seg.head,
          file: seg.file,
          sha256: seg.sha256,
          reason,
        },
        new Date(),
      );
    }
    failpoint('retention.tombstoned');
    const file = this.layout.resolve(seg.file);
    if (existsSync(file)) {
      unlinkSync(file);
      failpoint('retention.unlinked');
      fsyncDir(path.dirname(file));
    }
    return { file: seg.file, size: seg.size ?? 0 };
  }

  private ack(id: number, ack: Ack): void {
    this.ackIds.push(id);
    this.ackSeqs.push(ack.seq);
    this.ackHashes.push(ack.hash);
    if (this.ackScheduled) return;
    this.ackScheduled = true;
    // After the current batch or sync callback, whose acknowledgements are all queued by then.
    queueMicrotask(() => {
      this.ackScheduled = false;
      this.publishStats();
      this.send({ t: 'acks', ids: this.ackIds, seqs: this.ackSeqs, hashes: this.ackHashes });
      this.ackIds = [];
      this.ackSeqs = [];
      this.ackHashes = [];
    });
  }

  private publishStats(): void {
    this.writers.forEach((w, i) => {
      const s = w.stats;
      const at = i * STATS_FIELDS;
      this.stats[at] = s.records;
      this.stats[at + 1] = s.bytes;
      this.stats[at + 2] = s.writes;
      this.stats[at + 3] = s.syncs;
    });
  }

  /**
   * Sign a checkpoint for every channel with records newer than its last checkpoint, once those
   * records are synced (a checkpoint never names a record a crash could still take away).
   */
  private checkpoint(): Promise<void> {
    if (this.closing) return Promise.resolve();
    this.checkpointing ??= this.runCheckpoint().finally(() => {
      this.checkpointing = undefined;
    });
    return this.checkpointing;
  }

  private async runCheckpoint(): Promise<void> {
    const due = this.writers.filter((w) => w.seq > (this.checkpointed.get(w.channel) ?? 0));
    if (due.length === 0) return;
    const states = await Promise.allSettled(due.map((w) => w.sync()));
    if (this.closing) return;
    states.forEach((s, i) => {
      if (s.status === 'fulfilled') this.sign(due[i] as ChannelWriter, s.value);
    });
    this.checkpoints.syncSoon();
    this.publishStats();
  }

  /**
   * Sign a checkpoint of a synced state. `due`: only when it has records the last checkpoint
   * does not cover. `final` (clean close): also without new records, so records found after it
   * on the next open are known to come from elsewhere. `reopen`: the first one after a final
   * one, which ends its claim.
   */
  private sign(
    w: ChannelWriter,
    synced: ChannelState,
    kind: Kind = 'due',
    unproven?: Unproven,
  ): void {
    // A rotation or another sync may have synced further while this one waited: sign the
    // latest synced state (its tree is kept; the one at the older size may be folded away).
    const state = w.synced.seq > synced.seq ? w.synced : synced;
    const last = this.checkpoints.last(w.channel);
    if (kind === 'due' && state.seq <= (this.checkpointed.get(w.channel) ?? 0)) return;
    if (kind === 'final' && (state.seq === 0 || (last?.final === true && last.size === state.seq)))
      return;
    if (kind === 'adopt' && state.seq === 0) return;
    try {
      const merkle: MerkleState = w.merkleAt(state.seq);
      this.checkpoints.append(w.channel, state, merkle, new Date(), kind === 'final', unproven);
      this.checkpointed.set(w.channel, state.seq);
      saveState(this.layout, w.channel, state, merkle, this.checkpoints.lastOffset);
    } catch (err) {
      this.send({
        t: 'error',
        error: {
          code: 'WRITE_FAILED',
          message: `${w.channel}: checkpoint not written: ${asLogsError(err).message}`,
        },
      });
    }
  }

  private flushSync(): void {
    if (this.closing) return;
    for (const w of this.writers) this.sign(w, w.flushSync());
    this.publishStats();
  }

  private closeSync(): void {
    if (this.finished) return;
    this.closing = true;
    for (const w of this.writers) this.sign(w, w.closeSync(), 'final');
    this.finish();
  }

  private async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.checkpointing?.catch(() => undefined);
    await this.sealChain.catch(() => undefined); // the running seal finishes; the rest wait for the next open
    const states = await Promise.all(
      this.writers.map(async (w) => ({ w, state: await w.close() })),
    );
    for (const { w, state } of states) this.sign(w, state, 'final');
    this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    clearInterval(this.timer);
    if (this.keysFd !== undefined) closeSync(this.keysFd);
    this.publishStats();
    try {
      this.checkpoints.closeSync();
    } catch (err) {
      this.send({ t: 'error', error: wire(err) });
    }
    this.segments.close();
  }

  /**
   * Before records are synced, sync the keystore's WAL if new people were committed since: a
   * record on disk must never outlive the key that decrypts it. Undefined when nothing is due;
   * the promise rejects if the sync fails (the records' sync then fails closed).
   */
  private syncKeys(): Promise<void> | undefined {
    const fd = this.keysDue();
    if (fd === undefined) return undefined;
    const committed = Atomics.load(this.counters, KEYS_COMMITTED);
    return new Promise((resolve, reject) => {
      fdatasync(fd, (err) => {
        if (err) reject(err);
        else {
          if (committed > this.keysSynced) this.keysSynced = committed;
          resolve();
        }
      });
    });
  }

  private syncKeysSync(): void {
    const fd = this.keysDue();
    if (fd === undefined) return;
    const committed = Atomics.load(this.counters, KEYS_COMMITTED);
    fdatasyncSync(fd);
    if (committed > this.keysSynced) this.keysSynced = committed;
  }

  /** The WAL's descriptor when new people were committed since its last sync. */
  private keysDue(): number | undefined {
    if (
      this.keysWal === undefined ||
      Atomics.load(this.counters, KEYS_COMMITTED) === this.keysSynced
    )
      return undefined;
    if (this.keysFd === undefined) {
      if (!existsSync(this.keysWal)) return undefined; // checkpointed into the database, which SQLite synced
      this.keysFd = openSync(this.keysWal, constants.O_RDONLY);
    }
    return this.keysFd;
  }

  private syncDone(): void {
    Atomics.add(this.counters, SYNC_DONE, 1n);
    Atomics.notify(this.counters, SYNC_DONE);
  }
}

/** An error as it crosses threads: code and message (never a stack, never record content). */
export function wire(err: unknown): WireError {
  const e = asLogsError(err);
  return { code: e.code, message: e.message };
}

/** Back on the application's thread. */
export function unwire(e: WireError): LogsError {
  return new LogsError(e.code as LogsError['code'], e.message);
}

function key(s: { readonly channel: string; readonly first: number }): string {
  return `${s.channel}:${s.first}`;
}
