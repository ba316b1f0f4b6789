/**
 * A channel writer's rotation: when the active file is due to become a segment (a new UTC day,
 * or its size limit), and the cut itself: sync, sign, move aside, start a new active file.
 * Both work on the writer's state (channel-writer-state.ts).
 */
import { closeSync, renameSync } from 'node:fs';
import path from 'node:path';
import { LogsError, asLogsError } from '../../errors.js';
import type { RotationReason } from '../../integrity/segment.js';
import { failpoint } from '../../util/failpoint.js';
import { fsyncDir } from '../../util/fs.js';
import type { Cut } from './channel-types.js';
import { syncNow } from './channel-sync.js';
import { assertOpen, openAppend, type WriterState } from './channel-writer-state.js';

/**
 * Why the active file should be rotated before a record stamped `ts` is added, if it should:
 * a new UTC day (daily rotation), or the size limit reached.
 */
export function rotationDueAt(s: WriterState, ts: string | undefined): RotationReason | undefined {
  if (s.closed || s.failure !== undefined || s.seqNo === s.baseSeq) return undefined;
  if (s.opts.rotate.daily && ts !== undefined && s.firstDay !== '' && !ts.startsWith(s.firstDay))
    return 'day';
  if (s.writtenState.offset + s.batch.bytes >= s.opts.rotate.maxBytes) return 'size';
  return undefined;
}

/**
 * Close the active file as a segment: write and sync it, let `record` sign the cut (it must
 * be durable before anything moves), rename the file to `staging` and start a new, empty
 * active file. Synchronous: no record is sequenced in between. Returns undefined when the
 * active file is empty. A crash at any point is finished by the next open (recovery.ts).
 */
export function cutSegment(
  s: WriterState,
  reason: RotationReason,
  staging: (cut: Cut) => string,
  record: (cut: Cut) => void,
): Cut | undefined {
  assertOpen(s);
  if (s.seqNo === s.baseSeq) return undefined;
  const state = syncNow(s);
  const failed = s.failure;
  if (failed !== undefined) throw failed;
  const cut: Cut = {
    channel: s.channel,
    first: s.baseSeq + 1,
    last: state.seq,
    start: s.baseHead,
    head: state.head,
    peaks: s.syncedTree.peaks,
    first_ts: s.firstTs ?? '',
    last_ts: s.lastTs ?? '',
    bytes: state.offset,
    reason,
  };
  failpoint('rotate.synced');
  record(cut);
  failpoint('rotate.cut');
  const target = staging(cut);
  try {
    renameSync(s.opts.file, target);
    failpoint('rotate.renamed');
    const fd = openAppend(s.opts.file);
    failpoint('rotate.created');
    fsyncDir(path.dirname(target));
    fsyncDir(path.dirname(s.opts.file));
    if (!s.syncing) closeSync(s.fd); // else the running sync closes it
    s.fd = fd;
  } catch (err) {
    // The cut is signed: the next open finishes the move. Until then, refuse records.
    s.failure = new LogsError(
      'CHANNEL_FAILED',
      `${s.channel}: rotation failed after the segment was cut (${asLogsError(err).message}); reopen the logs to finish it`,
      { cause: err },
    );
    s.opts.onError(s.failure);
    throw s.failure;
  }
  s.baseSeq = state.seq;
  s.baseHead = state.head;
  s.firstTs = undefined;
  s.firstDay = '';
  s.lastTs = undefined;
  s.writtenState = { seq: state.seq, head: state.head, offset: 0 };
  s.syncedState = s.writtenState;
  s.writtenTree = s.syncedTree;
  return cut;
}
