/**
 * The chain hash before a record whose previous row is not in `dl_records`: the channel's
 * genesis before seq 1, or a signed cut's hash where retention deleted the range before it.
 * Shared by GDPR export (people.ts) and queries (records.ts): both hand the caller what checks a
 * record's own hash.
 */
import { chainGenesis } from '../../integrity/chain.js';
import type { SegmentBook } from '../segment-book.js';

/** The chain hash before `seq` of `channel` from what the log signed; undefined if unknown. */
export function prevFromBook(
  logId: string,
  book: SegmentBook,
  channel: string,
  seq: number,
): string | undefined {
  if (seq === 1) return chainGenesis(logId, channel);
  const segments = book.segments(channel);
  return (
    segments.find((s) => s.first === seq)?.start ?? segments.find((s) => s.last === seq - 1)?.head
  );
}
