import { checkpointNote } from '../integrity/checkpoint-note.js';
import { cosignaturesOf, findLatestCheckpoint, type LogLayout } from '../store/file/index.js';

/**
 * A channel's newest checkpoint as a C2SP signed note, with the cosignatures witnesses gave
 * it (c2sp.org/tlog-tiles' `checkpoint`): what a tile client or a witness checks, hashes only.
 */
export function latestCheckpointNote(
  layout: LogLayout,
  logId: string,
  channel: string,
): string | undefined {
  const cp = findLatestCheckpoint(layout, { log_id: logId }, channel);
  if (cp === undefined) return undefined;
  const note = checkpointNote(cp);
  if (note === undefined || cp.origin === undefined) return undefined;
  const cosigs = cosignaturesOf(layout, { origin: cp.origin, size: cp.size, root: cp.root });
  return note + cosigs.map((c) => `${c.line}\n`).join('');
}
