/**
 * The application thread's side of the sequencer: records go out in batches, answers come
 * back and are handed to the callers waiting for them. The thread is started by spawn.ts;
 * in-flight.ts bounds the memory between the two.
 */
import type { Worker } from 'node:worker_threads';
import type { ChannelKey } from '../../../crypto/body-cipher.js';
import { LogsError } from '../../../errors.js';
import type { Sealable } from '../../../pipeline/prepare.js';
import type { Ack, ChannelStats } from '../../store.js';
import { InFlight } from './in-flight.js';
import { spawnSequencer } from './spawn.js';
import {
  KEYS_COMMITTED,
  STATS_FIELDS,
  SYNC_DONE,
  encodeRecord,
  unwire,
  type FromHost,
  type Mode,
  type SequencerInit,
  type ToHost,
  type LifecycleNote,
  type LifecycleOp,
} from './protocol.js';

// A batch is posted at the end of the tick, or at once past this many characters.
const BATCH_CHARS = 256 * 1024;
// How long a synchronous flush (exit handler) waits for the sequencer thread.
const SYNC_TIMEOUT_MS = 10_000;

interface Pending {
  readonly resolve: (ack: Ack) => void;
  readonly reject: (err: LogsError) => void;
  readonly channel: string;
}

/**
 * The application thread's side of the sequencer: it sends validated, serialized records in
 * batches to the sequencer thread and answers the callers waiting for them. Memory stays
 * bounded: past `maxPendingBytes` in flight, the caller waits (blocks) until the sequencer
 * thread has taken them.
 */
export class SequencerClient {
  private out: string[] = [];
  private outChars = 0;
  // The waiting callers of the records in `out` (a batch dropped before it is handed over
  // answers them).
  private outIds: number[] = [];
  // How soon the pending batch is handed over: 0 not scheduled, 1 within a millisecond (nobody
  // waits), 2 next turn of the event loop (someone waits for sequencing), 3 after the current
  // burst of calls (someone waits for a durable write).
  private scheduled = 0;
  private nextId = 1;
  private readonly waiting = new Map<number, Pending>();
  private readonly counters: BigInt64Array;
  private readonly stats: Float64Array;
  private readonly inFlight: InFlight;
  private failure: LogsError | undefined;
  // close() or closeSync() has begun: nothing new is accepted (a record sent now would reach
  // the thread after its close message, and its caller would wait forever).
  private closing = false;
  private stopped = false;

  private constructor(
    private readonly worker: Worker,
    private readonly channels: readonly string[],
    maxPendingChars: number,
    private readonly onError: (err: LogsError) => void,
    private readonly beforePost: () => number,
    init: SequencerInit,
  ) {
    this.counters = new BigInt64Array(init.counters);
    this.stats = new Float64Array(init.stats);
    this.inFlight = new InFlight(this.counters, maxPendingChars);
    worker.on('message', (msg: FromHost) => this.receive(msg));
    worker.on('error', (err) =>
      this.fail(
        new LogsError('CHANNEL_FAILED', `the sequencer thread failed: ${err.message}`, {
          cause: err,
        }),
      ),
    );
    worker.on('exit', (code) => {
      if (!this.stopped)
        this.fail(
          new LogsError('CHANNEL_FAILED', `the sequencer thread stopped (exit code ${code})`),
        );
    });
    // After the listeners (adding one refs the port again): an open Logs must not keep the
    // process alive by itself; ref() is taken back while someone waits for an answer.
    worker.unref();
  }

  /** Start the sequencer thread and wait until it has opened every channel. */
  static async start(
    init: Omit<SequencerInit, 'counters' | 'stats'>,
    onError: (err: LogsError) => void,
    /** Runs before each batch is handed over (the keystore writes new people's keys); returns
     * how many it wrote. */
    beforePost: () => number = () => 0,
  ): Promise<SequencerClient> {
    const full: SequencerInit = {
      ...init,
      counters: new SharedArrayBuffer(24),
      stats: new SharedArrayBuffer(8 * STATS_FIELDS * init.channels.length),
    };
    const { worker, notes } = await spawnSequencer(full, onError);
    const client = new SequencerClient(
      worker,
      init.channels.map((c) => c.channel),
      Math.max(1, Math.floor(init.maxPendingBytes / 2)),
      onError,
      beforePost,
      full,
    );
    client.early.push(...notes);
    return client;
  }

  /**
   * Queue a record for channel number `channel`. With `mode` 'a' or 'd', the returned promise
   * resolves once it is sequenced, or durable.
   */
  send(
    channel: number,
    p: Sealable,
    ts: string,
    skew: number,
    mode: Mode,
  ): Promise<Ack> | undefined {
    if (this.failure !== undefined) throw this.failure;
    if (this.closing) throw new LogsError('LOGS_CLOSED', 'the logs are closed');
    const name = this.channels[channel];
    if (name === undefined) throw new LogsError('CHANNEL_UNKNOWN', `no channel number ${channel}`);
    let promise: Promise<Ack> | undefined;
    let id = 0;
    if (mode !== 'f') {
      id = this.nextId++;
      promise = new Promise<Ack>((resolve, reject) =>
        this.waiting.set(id, { resolve, reject, channel: name }),
      );
      if (this.waiting.size === 1) this.worker.ref();
    }
    const rec = encodeRecord(channel, id, mode, ts, skew, p);
    this.out.push(rec);
    if (id !== 0) this.outIds.push(id);
    this.outChars += rec.length;
    if (this.outChars >= BATCH_CHARS) this.post();
    else {
      const urgency = mode === 'd' ? 3 : mode === 'a' ? 2 : 1;
      if (urgency > this.scheduled) {
        this.scheduled = urgency;
        // Fire-and-forget records gather for a millisecond: one message for a hundred records
        // rather than one per turn; a waiting caller is not kept waiting that long.
        if (urgency === 3) queueMicrotask(() => this.post());
        else if (urgency === 2) setImmediate(() => this.post());
        else setTimeout(() => this.post(), 1);
      }
    }
    return promise;
  }

  private post(): void {
    this.scheduled = 0;
    if (this.out.length === 0 || this.stopped) return;
    try {
      if (this.beforePost() > 0) Atomics.add(this.counters, KEYS_COMMITTED, 1n);
    } catch (err) {
      // Without their keys on disk the records cannot be written: this batch is refused (it
      // never reached the sequencer, so no seq is spent), the rest goes on: a full disk that
      // frees up takes writes again without a restart.
      this.dropBatch(err);
      return;
    }
    // One join: a flat string, which postMessage copies at memory speed (a rope of thousands of
    // pieces it would have to walk).
    const data = this.out.join('');
    this.out = [];
    this.outChars = 0;
    this.outIds = [];
    this.worker.postMessage({ t: 'batch', data } satisfies ToHost);
    // Bounded memory: past the limit, block until the sequencer thread has taken enough.
    if (this.inFlight.add(data.length)) this.inFlight.waitForRoom(() => this.failure !== undefined);
  }

  private receive(msg: FromHost): void {
    switch (msg.t) {
      case 'acks':
        msg.ids.forEach((id, i) => {
          const w = this.take(id);
          w?.resolve({
            channel: w.channel,
            seq: msg.seqs[i] as number,
            hash: msg.hashes[i] as string,
          });
        });
        break;
      case 'reject': {
        const err = unwire(msg.error);
        for (const id of msg.ids) this.take(id)?.reject(err);
        break;
      }
      case 'error':
        this.onError(unwire(msg.error));
        break;
      case 'done':
        this.take(msg.id);
        this.requests.get(msg.id)?.(
          msg.error === undefined ? undefined : unwire(msg.error),
          msg.result,
        );
        this.requests.delete(msg.id);
        break;
      case 'note':
        if (this.noteListener !== undefined) this.noteListener(msg.note);
        else if (this.early.length < 1000) this.early.push(msg.note);
        break;
      case 'ready':
        break;
    }
  }

  private take(id: number): Pending | undefined {
    const w = this.waiting.get(id);
    if (w !== undefined) {
      this.waiting.delete(id);
      // Unref only when nobody waits, and not while a close waits for the thread to end.
      if (this.waiting.size === 0 && this.requests.size === 0 && !this.closing) this.worker.unref();
    }
    return w;
  }

  private readonly requests = new Map<
    number,
    (err: LogsError | undefined, result: unknown) => void
  >();

  private noteListener: ((note: LifecycleNote) => void) | undefined;
  // Notes that came before anyone listened: the seals of segments a crash left unsealed start
  // as soon as the thread is up, before the producer above has set its listener.
  private early: LifecycleNote[] = [];

  /** What the sequencer thread did on its own (rotations, seals), to be recorded as events. */
  get onNote(): ((note: LifecycleNote) => void) | undefined {
    return this.noteListener;
  }

  /** Set the listener; notes that came before it are handed to it first, in order. */
  set onNote(f: ((note: LifecycleNote) => void) | undefined) {
    this.noteListener = f;
    if (f === undefined) return;
    const early = this.early;
    this.early = [];
    for (const note of early) f(note);
  }

  private request(t: 'flush' | 'close', op?: LifecycleOp): Promise<unknown> {
    this.post();
    const id = this.nextId++;
    const promise = new Promise<unknown>((resolve, reject) =>
      this.requests.set(id, (err, result) => (err === undefined ? resolve(result) : reject(err))),
    );
    this.worker.ref();
    this.worker.postMessage((op === undefined ? { t, id } : { t: 'op', id, op }) satisfies ToHost);
    return promise;
  }

  /** Rotation, sealing, holds and tombstones: done by the sequencer thread, which owns the files. */
  lifecycle(op: LifecycleOp): Promise<unknown> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.closing) return Promise.reject(new LogsError('LOGS_CLOSED', 'the logs are closed'));
    return this.request('flush', op);
  }

  /** The failure that stopped the writer thread, if it stopped. */
  get failed(): LogsError | undefined {
    return this.failure;
  }

  /** Encrypt a channel's records from the next one on under `key` (after those already sent). */
  setChannelKey(channel: string, key: ChannelKey): void {
    if (this.closing) throw new LogsError('LOGS_CLOSED', 'the logs are closed');
    this.post();
    this.worker.postMessage({ t: 'key', channel, key } satisfies ToHost);
  }

  /** Write and sync every channel and sign checkpoints. */
  flush(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.closing) return Promise.resolve();
    return this.request('flush').then(() => undefined);
  }

  /** Flush, sign final checkpoints, close the files and stop the thread. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    if (this.failure === undefined) await this.request('close');
    this.stopped = true;
    await this.worker.terminate();
    this.rejectWaiting();
  }

  /** As flush(), blocking: for exit and signal handlers. */
  flushSync(): void {
    this.syncOp('flush-sync');
  }

  /** As close(), blocking: for exit handlers. */
  closeSync(): void {
    if (this.closing) return;
    this.syncOp('close-sync');
    this.closing = true;
    this.stopped = true;
    void this.worker.terminate();
    this.rejectWaiting();
  }

  // After the thread ended: no caller waits forever for an answer that cannot come.
  private rejectWaiting(): void {
    const err = new LogsError('LOGS_CLOSED', 'the logs were closed before the record was stored');
    for (const [id, w] of this.waiting) {
      this.waiting.delete(id);
      w.reject(err);
    }
  }

  private syncOp(t: 'flush-sync' | 'close-sync'): void {
    if (this.stopped || this.failure !== undefined) return;
    this.post();
    const before = Atomics.load(this.counters, SYNC_DONE);
    this.worker.postMessage({ t } satisfies ToHost);
    const deadline = Date.now() + SYNC_TIMEOUT_MS;
    while (Atomics.load(this.counters, SYNC_DONE) === before) {
      const left = deadline - Date.now();
      if (left <= 0) {
        this.onError(
          new LogsError(
            'WRITE_FAILED',
            `the sequencer thread did not finish a ${t} within ${SYNC_TIMEOUT_MS} ms`,
          ),
        );
        return;
      }
      Atomics.wait(this.counters, SYNC_DONE, before, left);
    }
  }

  /** Counters per channel, as last published by the sequencer thread. */
  channelStats(): Record<string, ChannelStats> {
    return Object.fromEntries(
      this.channels.map((name, i) => {
        const at = i * STATS_FIELDS;
        const s = this.stats;
        return [
          name,
          {
            records: s[at] ?? 0,
            bytes: s[at + 1] ?? 0,
            writes: s[at + 2] ?? 0,
            syncs: s[at + 3] ?? 0,
          },
        ];
      }),
    );
  }

  /** Refuse the batch not yet handed over: its callers get WRITE_FAILED, the loss is reported. */
  private dropBatch(cause: unknown): void {
    const n = this.out.length;
    const err = new LogsError(
      'WRITE_FAILED',
      `the keystore could not be written (${(cause as Error).message}): ${n} record(s) not stored`,
      { cause },
    );
    const ids = this.outIds;
    this.out = [];
    this.outChars = 0;
    this.outIds = [];
    for (const id of ids) this.take(id)?.reject(err);
    this.onError(err);
  }

  private fail(err: LogsError): void {
    if (this.failure !== undefined) return;
    this.failure = err;
    for (const [id, w] of this.waiting) {
      this.waiting.delete(id);
      w.reject(err);
    }
    for (const [id, r] of this.requests) {
      this.requests.delete(id);
      r(err, undefined);
    }
    this.onError(err);
  }
}
