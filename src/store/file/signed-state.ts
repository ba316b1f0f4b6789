import type { Unproven } from '../../integrity/checkpoint.js';
import type { SegmentEntry } from '../../integrity/segment.js';
import { checkpointLinkAt } from './checkpoint-log.js';
import type { LogLayout } from './layout.js';
import type { RecoveredChannel } from './recovery.js';
import { olderThanSigned } from '../../integrity/record-time.js';

/** What open decided about each channel's unsigned records, and about the checkpoint log. */
export interface OpenFindings {
  /** The checkpoint log contradicts the rest of the signed state (it was emptied or cut). */
  readonly checkpointsCut?: string;
  /** Per channel with records past its last signed state: what to sign, and whether proven. */
  readonly adopt: ReadonlyMap<string, { readonly unproven?: Unproven }>;
}

/**
 * Decide, before anything is signed, whether the records found past each channel's last signed
 * state can be signed as they are. They can when they continue the chain from the last signed
 * head, span no more time than a crash explains, are not older than records other channels got
 * signed meanwhile, and the checkpoint log is whole (not empty, and not shorter or other than
 * what the segment log's signed entries saw). Otherwise they are signed only as found, with an
 * `unproven` note that keeps verify reporting them: the log goes on, and nothing is blessed.
 */
export function checkOpenState(
  layout: LogLayout,
  checkpointBytes: number,
  segments: readonly SegmentEntry[],
  recovered: ReadonlyMap<string, RecoveredChannel>,
): OpenFindings {
  const checkpointsCut = checkpointLogCut(layout, checkpointBytes, segments, recovered);
  // The newest record any channel has signed: a crash leaves unsigned only records written
  // after it (give or take the interval), never records older than it.
  let newestSigned = 0;
  for (const r of recovered.values()) {
    newestSigned = Math.max(newestSigned, r.proof.anchorTsMs ?? 0, r.cutTsMs ?? 0);
  }
  const adopt = new Map<string, { readonly unproven?: Unproven }>();
  for (const [channel, r] of recovered) {
    const p = r.proof;
    if (p.unsigned === 0 && p.unproven === undefined) continue;
    let unproven = p.unproven;
    const first = p.first;
    if (unproven === undefined && checkpointsCut !== undefined && first !== undefined) {
      unproven = { first: first.seq, last: r.state.seq, reason: checkpointsCut };
    }
    if (unproven === undefined && first !== undefined) {
      if (olderThanSigned(first.tsMs, newestSigned)) {
        unproven = {
          first: first.seq,
          last: r.state.seq,
          reason: `seq ${first.seq} (${first.ts}) was never signed, though records written after it were: the checkpoints that covered it were removed`,
        };
      }
    }
    adopt.set(channel, unproven === undefined ? {} : { unproven });
  }
  return { ...(checkpointsCut === undefined ? {} : { checkpointsCut }), adopt };
}

function checkpointLogCut(
  layout: LogLayout,
  bytes: number,
  segments: readonly SegmentEntry[],
  recovered: ReadonlyMap<string, RecoveredChannel>,
): string | undefined {
  const hasRecords = [...recovered.values()].some((r) => r.state.seq > 0);
  if (bytes === 0 && (hasRecords || segments.length > 0)) {
    return 'the checkpoint log is empty, though the log holds records: it was emptied';
  }
  // Each pin covers the ones before it through the checkpoints' own chain: the last suffices.
  let pin: { bytes: number; last: string } | undefined;
  for (const e of segments) if (e.ck !== undefined && e.ck.bytes >= (pin?.bytes ?? 0)) pin = e.ck;
  if (pin === undefined || pin.bytes === 0) return undefined;
  if (bytes < pin.bytes) {
    return `the checkpoint log holds ${bytes} bytes, but the segment log signed it at ${pin.bytes}: it was cut back`;
  }
  if (checkpointLinkAt(layout.checkpointsFile, pin.bytes) !== pin.last) {
    return `the checkpoint log differs from what the segment log signed at byte ${pin.bytes}: it was rewritten`;
  }
  return undefined;
}
