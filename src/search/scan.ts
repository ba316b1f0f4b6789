import { existsSync } from 'node:fs';
import { scanLines } from '../store/file/lines.js';
import { scanSource, type Source } from '../store/file/sources.js';
import type { IndexRow, Position, SegmentRow } from './types.js';
import { lineToRow } from './row.js';
import { keyringOf, type ChannelKeyList } from '../crypto/body-cipher.js';
import { BlockRootMaker, type BlockRoots } from './leaves.js';

/** What to read of one channel. Plain data: it crosses to a worker thread. */
export interface ScanPlan {
  readonly channel: string;
  /** Where the index stands (indexedSeq 0: nothing indexed). */
  readonly indexedSeq: number;
  /** Hex of the chain hash at indexedSeq. */
  readonly lastHash: string | undefined;
  readonly segFirst: number | undefined;
  readonly lastOffset: number | undefined;
  readonly nextOffset: number | undefined;
  readonly sources: readonly Source[];
  /** The segment of each source (same order). */
  readonly segments: readonly SegmentRow[];
  /** First source to read, and the byte offset to start at in it (plain files only). */
  readonly from: number;
  readonly offset: number;
  /** The line of indexedSeq is read first and must carry lastHash. */
  readonly check: boolean;
  /** Accept gaps in seq (counted) instead of stopping at the first. */
  readonly tolerant: boolean;
  readonly batchSize: number;
  /** The log's id and this channel's keys, to open the records of an encrypted channel. */
  readonly logId: string;
  readonly keys: ChannelKeyList;
}

/** Where the rows of a scan go. */
export interface ScanSink {
  /**
   * Store a batch and the position after it, with the roots of the blocks of leaves the scan
   * completed in it; false stops the scan ('busy').
   */
  batch(rows: IndexRow[], to: Position, counts: ScanCounts, roots: BlockRoots): boolean;
  /** Bytes of log files read so far by this scan. */
  read(bytes: number): void;
}

export interface ScanCounts {
  /** Lines that are not records of the channel, or out of order. */
  skipped: number;
  /** Places where the next record found was not the next seq. */
  gaps: number;
}

/**
 * - done: read to the end of the log;
 * - gap: stopped before a missing seq (not tolerant): the caller reads the segment log again;
 * - busy: the sink refused a batch (another process indexed the channel meanwhile);
 * - replaced: the log does not hold, at indexedSeq, the hash the index recorded;
 * - locked: stopped before an encrypted record there is no key for (no master key given).
 */
export type ScanOutcome = 'done' | 'gap' | 'busy' | 'replaced' | 'locked';

/** Thrown out of a line callback to end the scan as replaced. */
class Replaced extends Error {}

/**
 * Read a channel's records after plan.indexedSeq from its sources, in batches. Pure reading:
 * runs the same inline or in a worker thread; the sink does the writing.
 */
export async function scanChannel(
  plan: ScanPlan,
  sink: ScanSink,
): Promise<{ outcome: ScanOutcome; counts: ScanCounts }> {
  const counts: ScanCounts = { skipped: 0, gaps: 0 };
  const expected = plan.lastHash === undefined ? undefined : Buffer.from(plan.lastHash, 'hex');
  let committed = plan.indexedSeq;
  let seq = committed;
  let hash: Buffer = expected ?? Buffer.alloc(0);
  let segFirst = plan.segFirst ?? 0;
  let lastOffset = plan.lastOffset;
  let nextOffset = plan.nextOffset;
  let rows: IndexRow[] = [];
  let check = plan.check;
  let stop: ScanOutcome | undefined;
  let bytesBefore = 0;
  const ring = keyringOf(plan.logId, plan.keys);
  const blocks = new BlockRootMaker();

  const flush = (): boolean => {
    if (seq === committed) return true;
    const to = { indexedSeq: seq, lastHash: hash, segFirst, lastOffset, nextOffset };
    if (!sink.batch(rows, to, counts, blocks.take())) {
      stop = 'busy';
      return false;
    }
    committed = seq;
    rows = [];
    return true;
  };

  try {
    for (let i = plan.from; i < plan.sources.length && stop === undefined; i++) {
      const src = plan.sources[i] as Source;
      const seg = plan.segments[i] as SegmentRow;
      if (src.kind === 'deleted') {
        // Removed by retention: continue from the end its tombstone records.
        if (src.segment !== undefined && src.segment.last > seq) {
          seq = src.segment.last;
          hash = Buffer.from(src.segment.head, 'hex');
          segFirst = seg.first;
          lastOffset = undefined;
          nextOffset = undefined;
        }
        continue;
      }
      if (!existsSync(src.file)) continue; // damage: the next record found makes a gap
      const onLine = (bytes: Buffer, offset: number): boolean => {
        const row = lineToRow(bytes, plan.channel, offset, ring);
        if (row !== undefined && 'locked' in row) {
          // Where the index stands is still checked by the readable seq and hash.
          if (check && row.seq < plan.indexedSeq) return true;
          if (check && row.seq === plan.indexedSeq && expected?.equals(row.hash) === true) {
            check = false;
            return true;
          }
          if (check) throw new Replaced();
          stop = 'locked';
          return false;
        }
        if (row === undefined) {
          counts.skipped += 1;
          return true;
        }
        if (check) {
          if (row.seq < plan.indexedSeq) return true;
          if (row.seq === plan.indexedSeq && expected?.equals(row.hash) === true) {
            check = false;
            return true;
          }
          throw new Replaced();
        }
        if (row.seq <= seq) {
          counts.skipped += 1; // out of order: not where the chain says
          return true;
        }
        if (row.seq !== seq + 1) {
          if (!plan.tolerant) {
            stop = 'gap';
            return false;
          }
          counts.gaps += 1;
        }
        rows.push(row);
        blocks.add(row.seq, row.hash);
        seq = row.seq;
        hash = row.hash;
        segFirst = seg.first;
        lastOffset = offset;
        nextOffset = offset + bytes.length + 1;
        return rows.length < plan.batchSize || flush();
      };
      const base = bytesBefore;
      if (src.kind === 'sealed') {
        let at = 0; // offsets in the uncompressed stream: lines are contiguous from 0
        await scanSource(
          src,
          (bytes) => {
            const offset = at;
            at += bytes.length + 1;
            return onLine(bytes, offset);
          },
          (read) => {
            bytesBefore = base + read;
            sink.read(bytesBefore);
          },
        );
      } else {
        const start = i === plan.from ? plan.offset : 0;
        try {
          scanLines(src.file, ({ bytes, offset }) => onLine(bytes, offset), {
            start,
            onChunk: (pos) => {
              bytesBefore = base + pos - start;
              sink.read(bytesBefore);
            },
          });
        } catch (err) {
          // A staged segment sealed into its archive (or an active file rotated) while we were
          // about to read it: read the segment log again and continue from the archive.
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
          if (!plan.tolerant) {
            stop = 'gap';
            break;
          }
          continue;
        }
      }
      if (check) throw new Replaced(); // the line the index ends at is not in the log
    }
    if (check) throw new Replaced(); // nor is the file it was in
  } catch (err) {
    if (err instanceof Replaced) return { outcome: 'replaced', counts };
    throw err;
  }
  if (stop === undefined || stop === 'gap' || stop === 'locked') {
    // Keep what was read before the gap or the end.
    if (!flush()) return { outcome: 'busy', counts };
  }
  return { outcome: stop ?? 'done', counts };
}
