/**
 * The state of one channel's writer, shared by its parts: channel-writer.ts sequences records,
 * channel-sync.ts writes and syncs them, channel-rotation.ts cuts the active file into a
 * segment. It holds where sequencing stands, what is written and what is synced (each with
 * its Merkle tree), and who waits for which.
 */
import { constants, openSync } from 'node:fs';
import { LogsError } from '../../errors.js';
import { LineBatch } from '../../integrity/line-batch.js';
import type { MerkleState } from '../../integrity/merkle.js';
import { MerkleTracker } from '../../integrity/merkle-tracker.js';
import { FILE_MODE } from '../../util/fs.js';
import type { Ack, ChannelStats } from '../store.js';
import type { ChannelState, ChannelWriterOptions } from './channel-types.js';

/** A caller waiting for its record to be on disk. */
export interface Waiter {
  readonly seq: number;
  readonly hash: string;
  readonly resolve: (ack: Ack) => void;
  readonly reject: (err: LogsError) => void;
  /** Answered once written to the file (accepted), not once synced (durable). */
  readonly onWrite?: boolean;
}

/** Everything a channel's writer keeps between calls; only its own parts touch it. */
export interface WriterState {
  readonly channel: string;
  readonly opts: ChannelWriterOptions;
  fd: number;
  readonly tree: MerkleTracker;
  // The active file holds the records after baseSeq; firstTs/lastTs are its first and last.
  baseSeq: number;
  baseHead: string;
  firstTs: string | undefined;
  // YYYY-MM-DD of firstTs: daily rotation compares each record's ts with it.
  firstDay: string;
  lastTs: string | undefined;
  seqNo: number;
  headHash: string;

  // Sequenced but not yet written.
  readonly batch: LineBatch;
  waiting: Waiter[];
  // Written but not yet synced.
  written: Waiter[];
  writtenState: ChannelState;
  syncedState: ChannelState;
  // The Merkle tree at writtenState.seq and at syncedState.seq.
  writtenTree: MerkleState;
  syncedTree: MerkleState;
  syncing: boolean;
  commitScheduled: boolean;
  writeScheduled: boolean;
  // sync() callers, each waiting until the synced seq reaches its target.
  syncListeners: Array<{ readonly target: number; readonly done: () => void }>;
  failure: LogsError | undefined;
  closed: boolean;
  readonly counters: ChannelStats;
}

/** A writer's state as `opts` describe it, with its active file opened for appending. */
export function openWriterState(opts: ChannelWriterOptions): WriterState {
  const batch = new LineBatch();
  const fd = openAppend(opts.file);
  return {
    channel: opts.channel,
    opts,
    fd,
    tree: new MerkleTracker(opts.merkle, opts.rememberSizes === true),
    baseSeq: opts.base.seq,
    baseHead: opts.base.head,
    firstTs: opts.firstTs,
    firstDay: opts.firstTs?.slice(0, 10) ?? '',
    lastTs: opts.lastTs,
    seqNo: opts.state.seq,
    headHash: opts.state.head,
    batch,
    waiting: [],
    written: [],
    writtenState: opts.state,
    syncedState: opts.state,
    writtenTree: opts.merkle,
    syncedTree: opts.merkle,
    syncing: false,
    commitScheduled: false,
    writeScheduled: false,
    syncListeners: [],
    failure: undefined,
    closed: false,
    counters: { records: 0, bytes: 0, writes: 0, syncs: 0 },
  };
}

// A function, not a field read: writeOut() may set the failure, which narrowing cannot see.
export function hasFailed(s: WriterState): boolean {
  return s.failure !== undefined;
}

/** Throw when the writer no longer takes records: failed, or closed. */
export function assertOpen(s: WriterState): void {
  if (s.failure !== undefined) throw s.failure;
  if (s.closed) throw new LogsError('LOGS_CLOSED', `${s.channel}: the logs are closed`);
}

/** Open a channel's active file for appending (created if missing, never through a link). */
export function openAppend(file: string): number {
  return openSync(
    file,
    constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW,
    FILE_MODE,
  );
}
