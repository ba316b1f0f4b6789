/**
 * The sequencer thread's host: it opens every channel's writer, runs the batch loop (sequence,
 * acknowledge, publish counters), signs checkpoints, and closes. Lifecycle work on segments is
 * in lifecycle.ts, the keystore WAL's syncs in keys-wal.ts.
 */
import { asLogsError } from '../../../errors.js';
import { importPrivateKey } from '../../../crypto/sign.js';
import type { MerkleState } from '../../../integrity/merkle.js';
import type { Unproven } from '../../../integrity/checkpoint.js';
import { ChannelWriter } from '../channel-writer.js';
import { IdempotencyIndex } from '../idempotency.js';
import type { Ack } from '../../store.js';
import type { ChannelState } from '../channel-types.js';
import { CheckpointLog } from '../checkpoint-log.js';
import { LogLayout } from '../layout.js';
import { saveState } from '../state-file.js';
import { SegmentLog } from '../segment-log.js';
import { KeysWal } from './keys-wal.js';
import { HostLifecycle, type HostStatus } from './lifecycle.js';
import {
  CONSUMED,
  STATS_FIELDS,
  SYNC_DONE,
  decodeBatch,
  wire,
  type FromHost,
  type SequencerInit,
  type ToHost,
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
  private readonly lifecycle: HostLifecycle;
  private readonly checkpointed = new Map<string, number>();
  private readonly counters: BigInt64Array;
  private readonly stats: Float64Array;
  private readonly timer: NodeJS.Timeout;
  private checkpointing: Promise<void> | undefined;
  private readonly status: HostStatus = { closing: false, finished: false };
  private ackIds: number[] = [];
  private ackSeqs: number[] = [];
  private ackHashes: string[] = [];
  private ackScheduled = false;
  private readonly keys: KeysWal;

  constructor(
    init: SequencerInit,
    private readonly send: (msg: FromHost) => void,
    /** The idempotency keys the stored records hold (idempotency-scan.ts). */
    idempotency: IdempotencyIndex = new IdempotencyIndex(
      init.idempotency.windowMs,
      init.idempotency.maxKeys,
    ),
  ) {
    this.layout = new LogLayout(init.dir);
    this.counters = new BigInt64Array(init.counters);
    this.keys = new KeysWal(init.keysWal, this.counters);
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
    const adopt = new Map<string, { readonly unproven?: Unproven }>();
    this.writers = init.channels.map(({ checkpointed, adopt: a, ...c }, i) => {
      this.checkpointed.set(c.channel, checkpointed);
      if (a !== undefined) adopt.set(c.channel, a);
      return new ChannelWriter({
        ...c,
        logId: init.logId,
        rememberSizes: init.witnessed === true,
        flushIntervalMs: init.flushIntervalMs,
        maxPendingBytes: init.maxPendingBytes,
        beforeSync: () => this.keys.sync(),
        beforeSyncSync: () => this.keys.syncSync(),
        onError,
        idempotency: idempotency.channel(i),
      });
    });
    this.lifecycle = new HostLifecycle(
      this.layout,
      this.writers,
      this.segments,
      init.archiveLevel,
      this.status,
      this.send,
      (w) => {
        this.sign(w, w.synced);
        this.checkpoints.syncSoon();
      },
    );
    // Reopening after a clean close: say so first, so verify does not take the records that
    // follow for records added behind the writer's back.
    for (const w of this.writers) {
      if (init.reopen.includes(w.channel)) this.sign(w, w.synced, 'reopen');
      // Records open checked (or could not prove) are signed before anything new is written,
      // with what open found said in the checkpoint itself when they were not proven.
      const a = adopt.get(w.channel);
      if (a !== undefined) this.sign(w, w.synced, 'adopt', a.unproven);
    }
    // On disk before any record is acknowledged: a `reopen` line lost to a power loss would
    // leave the records written after it looking added behind a closed writer's back (the next
    // open would set them aside and give their seqs again). A sync that fails fails the open.
    this.checkpoints.syncNow();
    this.timer = setInterval(() => void this.checkpoint(), init.checkpointIntervalMs);
    // Segments a crash or a close left unsealed are sealed now, in the background.
    for (const w of this.writers) {
      for (const seg of this.segments.book.segments(w.channel)) {
        if (seg.state === 'staging') void this.lifecycle.seal(seg);
        else this.lifecycle.removeStaged(seg); // a crash after the seal, before the staged copy went
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
        this.lifecycle.op(msg.op).then(
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
        if (due !== undefined) this.lifecycle.rotate(w, due);
        if (r.mode === 'f') w.append(r.event, r.ts, r.skew);
        else {
          // Durable: answered once synced; accepted: once written (never before: a failed
          // write undoes its records and their seqs are given again).
          const id = r.id;
          const written =
            r.mode === 'd'
              ? w.appendDurable(r.event, r.ts, r.skew)
              : w.appendWritten(r.event, r.ts, r.skew);
          written.then(
            (ack) => this.ack(id, ack),
            (err: unknown) => this.send({ t: 'reject', ids: [id], error: wire(err) }),
          );
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
    if (this.status.closing) return Promise.resolve();
    this.checkpointing ??= this.runCheckpoint().finally(() => {
      this.checkpointing = undefined;
    });
    return this.checkpointing;
  }

  private async runCheckpoint(): Promise<void> {
    const due = this.writers.filter((w) => w.seq > (this.checkpointed.get(w.channel) ?? 0));
    if (due.length === 0) return;
    const states = await Promise.allSettled(due.map((w) => w.sync()));
    if (this.status.closing) return;
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
    if (this.status.closing) return;
    for (const w of this.writers) this.sign(w, w.flushSync());
    this.publishStats();
  }

  private closeSync(): void {
    if (this.status.finished) return;
    this.status.closing = true;
    for (const w of this.writers) this.sign(w, w.closeSync(), closing(w));
    this.finish();
  }

  private async close(): Promise<void> {
    if (this.status.closing) return;
    this.status.closing = true;
    await this.checkpointing?.catch(() => undefined);
    await this.lifecycle.sealing.catch(() => undefined); // the running seal finishes; the rest wait for the next open
    const states = await Promise.all(
      this.writers.map(async (w) => ({ w, state: await w.close() })),
    );
    for (const { w, state } of states) this.sign(w, state, closing(w));
    this.finish();
  }

  private finish(): void {
    if (this.status.finished) return;
    this.status.finished = true;
    clearInterval(this.timer);
    this.keys.close();
    this.publishStats();
    try {
      this.checkpoints.closeSync();
    } catch (err) {
      this.send({ t: 'error', error: wire(err) });
    }
    this.segments.close();
  }

  private syncDone(): void {
    Atomics.add(this.counters, SYNC_DONE, 1n);
    Atomics.notify(this.counters, SYNC_DONE);
  }
}

/**
 * The checkpoint a close signs: `final` (nothing may follow) for a writer that closed cleanly;
 * only a due one for a writer that failed, whose file may hold records written after its last
 * good sync (their callers were refused): the next open checks and adopts them.
 */
function closing(w: ChannelWriter): Kind {
  return w.failed ? 'due' : 'final';
}
