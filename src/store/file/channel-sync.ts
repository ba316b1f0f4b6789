/**
 * A channel writer's write and sync path (group commit): queued records go to the kernel in
 * one write per batch, and one fdatasync answers every waiter of the batches written before
 * it. A failed write is undone; a failed sync fails the channel closed. Every function works
 * on the writer's state (channel-writer-state.ts).
 */
import { closeSync, fdatasync, fdatasyncSync, ftruncateSync } from 'node:fs';
import { LogsError, asLogsError } from '../../errors.js';
import { injectedFault } from '../../util/failpoint.js';
import { writeAll } from '../../util/fs.js';
import type { Ack } from '../store.js';
import type { ChannelState } from './channel-types.js';
import type { SeenKey } from './idempotency.js';
import { hasFailed, type Waiter, type WriterState } from './channel-writer-state.js';

/** Commit once the records sequenced in this tick are all queued (at most one pending). */
export function scheduleCommit(s: WriterState): void {
  if (s.commitScheduled || s.syncing) return; // a running sync commits the next batch
  s.commitScheduled = true;
  // A microtask: it runs once the caller's current batch of records is all sequenced (the
  // sequencer hands them over in one message), without waiting a turn of the event loop.
  queueMicrotask(() => {
    s.commitScheduled = false;
    commit(s);
  });
}

/**
 * Write what is queued once the records sequenced in this tick are all queued, without a sync:
 * an accepted record is answered once the kernel has it, so that a failed write can never take
 * back a seq that was answered (the write is undone and the seq given again).
 */
export function scheduleWrite(s: WriterState): void {
  if (s.writeScheduled || s.commitScheduled) return;
  s.writeScheduled = true;
  queueMicrotask(() => {
    s.writeScheduled = false;
    if (!s.closed) writeOut(s);
  });
}

/** Write what is queued and start one fdatasync for everything written so far. */
function commit(s: WriterState): void {
  if (s.closed || s.failure !== undefined) return;
  writeOut(s);
  startSync(s);
}

/** Hand queued bytes to the kernel (synchronous write: cheap, and keeps order trivially). */
export function writeOut(s: WriterState): void {
  if (s.batch.count === 0 || s.failure !== undefined) return;
  const count = s.batch.count;
  const waiters = s.waiting;
  const bytes = s.batch.view();
  s.waiting = [];
  try {
    const injected = injectedFault('write');
    if (injected !== undefined) throw injected;
    writeAll(s.fd, bytes);
  } catch (err) {
    s.batch.clear();
    writeFailed(s, err, count, waiters);
    return;
  }
  s.batch.clear();
  s.counters.records += count;
  s.counters.bytes += bytes.length;
  s.counters.writes += 1;
  s.writtenState = {
    seq: s.seqNo,
    head: s.headHash,
    offset: s.writtenState.offset + bytes.length,
  };
  for (const w of waiters) {
    if (w.onWrite === true) w.resolve({ channel: s.channel, seq: w.seq, hash: w.hash });
    else s.written.push(w);
  }
  // Fold the Merkle tree up to what is written (a failed write never goes back below it), a
  // batch at a time: the work is spread evenly instead of falling on the checkpoint.
  s.writtenTree = s.tree.stateAt(s.writtenState.seq);
}

/**
 * A failed write may have left part of a batch on disk: cut the file back to the last good
 * byte and rewind the sequencer, so the batch is rejected as a whole and the chain continues
 * from the last stored record. If even that fails, the channel fails closed.
 */
function writeFailed(s: WriterState, err: unknown, count: number, waiters: Waiter[]): void {
  const cause = asLogsError(err);
  const error = new LogsError(
    'WRITE_FAILED',
    `${s.channel}: write failed (${cause.message}); ${count} record(s) not stored`,
    {
      cause: err,
    },
  );
  try {
    ftruncateSync(s.fd, s.writtenState.offset);
    s.seqNo = s.writtenState.seq;
    s.headHash = s.writtenState.head;
    s.tree.truncate(s.writtenState.seq);
    // Their seqs are given again: a retry of one of them must be stored, not answered.
    s.opts.idempotency?.forgetAfter(s.seqNo);
  } catch (truncErr) {
    s.failure = new LogsError(
      'CHANNEL_FAILED',
      `${s.channel}: stopped after a failed write that could not be undone`,
      {
        cause: truncErr,
      },
    );
  }
  for (const w of waiters) w.reject(error);
  if (waiters.length < count) s.opts.onError(error);
}

function startSync(s: WriterState): void {
  if (s.syncing || s.failure !== undefined) return;
  if (s.written.length === 0 && s.writtenState.seq === s.syncedState.seq) {
    notifySynced(s);
    return;
  }
  const batch = s.written;
  const target = s.writtenState;
  const targetTree = s.writtenTree;
  s.written = [];
  s.syncing = true;
  s.counters.syncs += 1;
  const fd = s.fd;
  const sync = (): void => {
    const injected = injectedFault('fdatasync');
    const run =
      injected === undefined
        ? (cb: (err: NodeJS.ErrnoException | null) => void) => fdatasync(fd, cb)
        : (cb: (err: NodeJS.ErrnoException | null) => void) => setImmediate(() => cb(injected));
    run((err) => {
      s.syncing = false;
      // The file was rotated meanwhile: its descriptor was kept open for this sync only.
      if (fd !== s.fd) closeSync(fd);
      // Closed meanwhile (closeSync, at process exit): the close synced everything written, this
      // batch included, before it closed the descriptor, so a late error of this sync (EBADF)
      // is not a failure of these records.
      const closedPast = s.closed && target.seq <= s.syncedState.seq;
      if (err && !closedPast) {
        syncFailed(s, err, batch);
        return;
      }
      // A rotation may have synced further already (syncNow): never go back.
      if (target.seq > s.syncedState.seq) {
        s.syncedState = target;
        s.syncedTree = targetTree;
      }
      for (const w of batch) w.resolve({ channel: s.channel, seq: w.seq, hash: w.hash });
      notifySynced(s);
      if (s.closed) return;
      if (s.waiting.length > 0 || s.written.length > 0 || s.syncListeners.length > 0) {
        commit(s);
      }
    });
  };
  // What the records depend on (new people's keys) is made durable first.
  const before = s.opts.beforeSync?.();
  if (before === undefined) sync();
  else {
    before.then(sync, (err: unknown) => {
      s.syncing = false;
      syncFailed(s, err as NodeJS.ErrnoException, batch);
    });
  }
}

/**
 * After a failed fdatasync the kernel may have dropped the dirty pages: nobody can say what is
 * on disk. Fail closed: reject everything pending and refuse further records until reopened.
 */
function syncFailed(s: WriterState, err: NodeJS.ErrnoException, batch: Waiter[]): void {
  s.failure = new LogsError(
    'CHANNEL_FAILED',
    `${s.channel}: fdatasync failed (${err.code ?? err.message}); reopen the logs`,
    {
      cause: err,
    },
  );
  const all = [...batch, ...s.written, ...s.waiting];
  s.written = [];
  s.waiting = [];
  s.batch.clear();
  for (const w of all) w.reject(s.failure);
  s.opts.onError(s.failure);
  notifySynced(s);
}

/**
 * Answer a retry of a record sequenced earlier (`seen`) as that record's own append is
 * answered: at once when it is already as far as asked (written when `onWrite`, else synced),
 * otherwise together with it, sharing its fate (a failed write refuses both).
 */
export function answerAgain(s: WriterState, seen: SeenKey, onWrite: boolean): Promise<Ack> {
  const ack: Ack = { channel: s.channel, seq: seen.seq, hash: seen.hash };
  if (seen.seq <= s.syncedState.seq || (onWrite && seen.seq <= s.writtenState.seq))
    return Promise.resolve(ack);
  return new Promise<Ack>((resolve, reject) => {
    const w: Waiter = { seq: seen.seq, hash: seen.hash, resolve, reject, onWrite };
    if (seen.seq <= s.writtenState.seq) s.written.push(w);
    else s.waiting.push(w);
    if (onWrite && s.opts.durability === 'buffered') scheduleWrite(s);
    else scheduleCommit(s);
  });
}

/** Answer the sync() callers whose records are now synced (or that can never be). */
export function notifySynced(s: WriterState): void {
  const finished = s.closed || s.failure !== undefined;
  const waiting = s.syncListeners;
  s.syncListeners = [];
  for (const l of waiting) {
    if (finished || s.syncedState.seq >= l.target) l.done();
    else s.syncListeners.push(l);
  }
}

/**
 * Write and sync every record sequenced so far; resolves with the synced state. Records
 * sequenced after the call do not delay it, so it completes under a steady stream of writes.
 */
export function syncSequenced(s: WriterState): Promise<ChannelState> {
  if (s.failure !== undefined) return Promise.reject(s.failure);
  const target = s.seqNo;
  if (s.syncedState.seq >= target) return Promise.resolve(s.syncedState);
  return new Promise((resolve, reject) => {
    s.syncListeners.push({
      target,
      done: () => (s.failure === undefined ? resolve(s.syncedState) : reject(s.failure)),
    });
    if (!s.syncing) commit(s);
  });
}

/** Write what is queued, unless closed; failures go to `onError`, never to the caller. */
export function flushQuietly(s: WriterState): void {
  if (!s.closed) writeOut(s);
}

/**
 * Write and sync everything sequenced so far, synchronously: for exit and signal handlers,
 * where nothing asynchronous runs any more. Returns the synced state.
 */
export function syncNow(s: WriterState): ChannelState {
  if (s.closed || s.failure !== undefined) return s.syncedState;
  writeOut(s);
  if (hasFailed(s)) return s.syncedState;
  try {
    s.opts.beforeSyncSync?.();
    s.counters.syncs += 1;
    fdatasyncSync(s.fd);
  } catch (err) {
    syncFailed(s, err as NodeJS.ErrnoException, []);
    return s.syncedState;
  }
  s.syncedState = s.writtenState;
  s.syncedTree = s.writtenTree;
  const done = s.written;
  s.written = [];
  for (const w of done) w.resolve({ channel: s.channel, seq: w.seq, hash: w.hash });
  return s.syncedState;
}
