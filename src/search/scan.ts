import { existsSync } from 'node:fs';
import { scanLines, scanSource, type Source } from '../store/file/index.js';
import type { IndexRow, Position, SegmentRow } from './types.js';
import { lineToRow } from './row.js';
import { keyringOf, type ChannelKeyList, type ChannelKeyring } from '../crypto/body-cipher.js';
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
  const scan = new ChannelScan(plan, sink);
  try {
    await scan.readSources();
  } catch (err) {
    if (err instanceof Replaced) return { outcome: 'replaced', counts: scan.counts };
    throw err;
  }
  return scan.finish();
}

/** One scan of a channel: where it stands in the chain, and the rows not yet given to the sink. */
class ChannelScan {
  readonly counts: ScanCounts = { skipped: 0, gaps: 0 };
  /** The chain hash the index recorded at plan.indexedSeq. */
  private readonly expected: Buffer | undefined;
  private readonly ring: ChannelKeyring;
  private readonly blocks = new BlockRootMaker();
  /** The last seq the sink took. */
  private committed: number;
  /** The last seq read, its hash, and where its line is. */
  private seq: number;
  private hash: Buffer;
  private segFirst: number;
  private lastOffset: number | undefined;
  private nextOffset: number | undefined;
  private rows: IndexRow[] = [];
  /** Still looking for the line of plan.indexedSeq, which must carry the expected hash. */
  private check: boolean;
  private stop: ScanOutcome | undefined;
  /** Bytes read in the sources before the current one. */
  private bytesBefore = 0;

  constructor(
    private readonly plan: ScanPlan,
    private readonly sink: ScanSink,
  ) {
    this.expected = plan.lastHash === undefined ? undefined : Buffer.from(plan.lastHash, 'hex');
    this.committed = plan.indexedSeq;
    this.seq = plan.indexedSeq;
    this.hash = this.expected ?? Buffer.alloc(0);
    this.segFirst = plan.segFirst ?? 0;
    this.lastOffset = plan.lastOffset;
    this.nextOffset = plan.nextOffset;
    this.check = plan.check;
    this.ring = keyringOf(plan.logId, plan.keys);
  }

  /** Read the sources from plan.from on, until the end or a stop. Throws Replaced. */
  async readSources(): Promise<void> {
    const { plan } = this;
    for (let i = plan.from; i < plan.sources.length && this.stop === undefined; i++) {
      const src = plan.sources[i] as Source;
      const seg = plan.segments[i] as SegmentRow;
      if (src.kind === 'deleted') {
        this.skipDeleted(src, seg);
        continue;
      }
      if (!existsSync(src.file)) continue; // damage: the next record found makes a gap
      if (src.kind === 'sealed') await this.readSealed(src, seg);
      else if (!this.readPlain(src, seg, i === plan.from ? plan.offset : 0)) {
        // A staged segment sealed into its archive (or an active file rotated) while we were
        // about to read it: read the segment log again and continue from the archive.
        if (!plan.tolerant) {
          this.stop = 'gap';
          break;
        }
        continue;
      }
      if (this.check) throw new Replaced(); // the line the index ends at is not in the log
    }
    if (this.check) throw new Replaced(); // nor is the file it was in
  }

  /** The outcome once the sources are read: what was read before a gap or the end is kept. */
  finish(): { outcome: ScanOutcome; counts: ScanCounts } {
    const stop = this.stop;
    if (stop === undefined || stop === 'gap' || stop === 'locked') {
      if (!this.flush()) return { outcome: 'busy', counts: this.counts };
    }
    return { outcome: stop ?? 'done', counts: this.counts };
  }

  /** A segment removed by retention: continue from the end its tombstone records. */
  private skipDeleted(src: Source, seg: SegmentRow): void {
    if (src.segment !== undefined && src.segment.last > this.seq) {
      this.seq = src.segment.last;
      this.hash = Buffer.from(src.segment.head, 'hex');
      this.segFirst = seg.first;
      this.lastOffset = undefined;
      this.nextOffset = undefined;
    }
  }

  /** A sealed segment: its archive, decompressed as it is read. */
  private async readSealed(src: Source, seg: SegmentRow): Promise<void> {
    const base = this.bytesBefore;
    let at = 0; // offsets in the uncompressed stream: lines are contiguous from 0
    await scanSource(
      src,
      (bytes) => {
        const offset = at;
        at += bytes.length + 1;
        return this.onLine(bytes, offset, seg);
      },
      (read) => {
        this.bytesBefore = base + read;
        this.sink.read(this.bytesBefore);
      },
    );
  }

  /** A plain file, from byte `start`. False when the file is gone. */
  private readPlain(src: Source, seg: SegmentRow, start: number): boolean {
    const base = this.bytesBefore;
    try {
      scanLines(src.file, ({ bytes, offset }) => this.onLine(bytes, offset, seg), {
        start,
        onChunk: (pos) => {
          this.bytesBefore = base + pos - start;
          this.sink.read(this.bytesBefore);
        },
      });
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      return false;
    }
  }

  /** One line of a segment. False stops reading. */
  private onLine(bytes: Buffer, offset: number, seg: SegmentRow): boolean {
    const row = lineToRow(bytes, this.plan.channel, offset, this.ring);
    if (row === undefined) {
      this.counts.skipped += 1;
      return true;
    }
    // Where the index stands is checked by the readable seq and hash, of a locked row too.
    if (this.check) return this.checkStart(row);
    if ('locked' in row) {
      this.stop = 'locked';
      return false;
    }
    if (row.seq <= this.seq) {
      this.counts.skipped += 1; // out of order: not where the chain says
      return true;
    }
    if (row.seq !== this.seq + 1) {
      if (!this.plan.tolerant) {
        this.stop = 'gap';
        return false;
      }
      this.counts.gaps += 1;
    }
    this.rows.push(row);
    this.blocks.add(row.seq, row.hash);
    this.seq = row.seq;
    this.hash = row.hash;
    this.segFirst = seg.first;
    this.lastOffset = offset;
    this.nextOffset = offset + bytes.length + 1;
    return this.rows.length < this.plan.batchSize || this.flush();
  }

  /** Before the line of plan.indexedSeq: skip up to it, and find it with the expected hash. */
  private checkStart(row: { readonly seq: number; readonly hash: Buffer }): boolean {
    if (row.seq < this.plan.indexedSeq) return true;
    if (row.seq === this.plan.indexedSeq && this.expected?.equals(row.hash) === true) {
      this.check = false;
      return true;
    }
    throw new Replaced();
  }

  /** Give the rows read since the last batch to the sink. False when it refuses them. */
  private flush(): boolean {
    if (this.seq === this.committed) return true;
    const to = {
      indexedSeq: this.seq,
      lastHash: this.hash,
      segFirst: this.segFirst,
      lastOffset: this.lastOffset,
      nextOffset: this.nextOffset,
    };
    if (!this.sink.batch(this.rows, to, this.counts, this.blocks.take())) {
      this.stop = 'busy';
      return false;
    }
    this.committed = this.seq;
    this.rows = [];
    return true;
  }
}
