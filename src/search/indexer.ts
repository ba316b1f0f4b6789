import { existsSync, statSync } from 'node:fs';
import { LogsError } from '../errors.js';
import { erasedPseudonyms } from '../crypto/keystore.js';
import {
  channelSources,
  readMeta,
  readSegmentBook,
  type LogLayout,
  type SegmentBook,
  type Source,
} from '../store/file/index.js';
import { isCorruption, isMoved } from './connect.js';
import type { IndexDb } from './index-db.js';
import type { RecreateReason, SegmentRow } from './types.js';
import {
  scanChannel,
  type ScanCounts,
  type ScanOutcome,
  type ScanPlan,
  type ScanSink,
} from './scan.js';
import { scanInWorker } from './scan-thread.js';
import type { ChannelKeyring } from '../crypto/body-cipher.js';

/** Progress of a catch-up: records inserted and bytes of log files read so far. */
export interface IndexProgress {
  /** Reading the log, or building the secondary indexes after loading into an empty index. */
  readonly phase: 'reading' | 'indexing';
  readonly channel: string;
  readonly records: number;
  readonly bytes: number;
  /** Bytes the catch-up expects to read (compressed size for archives). */
  readonly totalBytes: number;
}

export interface CatchUpOptions {
  /** Called after each chunk read and each batch committed. */
  readonly onProgress?: (p: IndexProgress) => void;
  /** Records per transaction (default 10,000). */
  readonly batchSize?: number;
  /**
   * Read and parse in a worker thread when a channel has more than this many bytes to read
   * (default 16 MiB; Infinity: never). Below it, starting a thread costs more than it saves.
   */
  readonly workerThreshold?: number;
  /** Checked between batches: true ends the catch-up early (what is committed stays). */
  readonly shouldStop?: () => boolean;
  /**
   * Keys of the encrypted channels. Without them, an encrypted channel is indexed up to its
   * first encrypted record (its report says `locked`).
   */
  readonly channelKeys?: ChannelKeyring;
}

export interface ChannelIndexReport {
  readonly channel: string;
  /** The channel is indexed up to this seq. */
  readonly indexedSeq: number;
  /** Records added by this catch-up. */
  readonly records: number;
  /** Lines that are not records of the channel (damage: `verify` says what and where). */
  readonly skipped: number;
  /** Places where records are missing from the log (a missing archive, a removed line). */
  readonly gaps: number;
  /** Another process was indexing this channel; it finishes it. */
  readonly busy: boolean;
  /** Stopped at an encrypted record: no key for it was given (index with the master key). */
  readonly locked: boolean;
}

export interface CatchUpReport {
  /** Records added. */
  readonly records: number;
  /** Bytes of log files read. */
  readonly bytes: number;
  /** Records removed because retention deleted their segment. */
  readonly dropped: number;
  /** Set when the index was built from nothing: why (missing, corrupt, replaced...). */
  readonly rebuilt: RecreateReason | undefined;
  readonly durationMs: number;
  readonly channels: ChannelIndexReport[];
}

const BATCH = 10_000;
const WORKER_THRESHOLD = 16 * 1024 * 1024;

/**
 * Bring the index up to date with the log files: for each channel, read the records after the
 * last indexed one from its segments (archives, staging, active file; deleted segments are
 * skipped and their rows dropped) and insert them in batches. Only reads the log: safe beside
 * the writer, and without its lock.
 *
 * The index is never trusted: if the log no longer holds, at the last indexed seq, the hash the
 * index recorded (the log was replaced or rewritten), or SQLite reports corruption, the index is
 * deleted and built again from the files.
 */
export async function catchUp(
  layout: LogLayout,
  logId: string,
  db: IndexDb,
  options: CatchUpOptions = {},
): Promise<CatchUpReport> {
  const started = performance.now();
  const meta = readMeta(layout);
  if (meta.log_id !== logId) {
    throw new LogsError('INTEGRITY_STATE', `${layout.dir} holds log ${meta.log_id}, not ${logId}`);
  }
  let rebuilt = db.takeRecreated();
  for (let attempt = 0; ; attempt++) {
    db.setErased(erasedPseudonyms(layout.subjectsFile));
    const run = new Run(layout, db, options);
    try {
      const reports = await run.all(meta.channels);
      if (db.moved()) throw new Restart('moved');
      return {
        records: run.records,
        bytes: run.bytes,
        dropped: run.dropped,
        rebuilt,
        durationMs: performance.now() - started,
        channels: reports,
      };
    } catch (err) {
      if (attempt >= 3) throw err;
      if ((err instanceof Restart && err.reason === 'moved') || isMoved(err) || db.moved()) {
        // Another process rebuilt the index meanwhile (SQLite's errors then vary: a moved
        // database, or a virtual table whose shadow tables vanished): continue in its new file.
        db.reopen();
        rebuilt = db.takeRecreated() ?? rebuilt;
        continue;
      }
      const reason =
        err instanceof Restart ? 'replaced' : isCorruption(err) ? 'corrupt' : undefined;
      if (reason === undefined) throw err;
      db.recreate(reason);
      rebuilt = db.takeRecreated();
    }
  }
}

/** Delete the index and build it again from every segment. */
export async function rebuild(
  layout: LogLayout,
  logId: string,
  db: IndexDb,
  options: CatchUpOptions = {},
): Promise<CatchUpReport> {
  db.recreate('rebuild');
  return catchUp(layout, logId, db, options);
}

/**
 * Ends a run to start again: the log does not hold what the index recorded ('replaced'), or
 * another process replaced the index file under this one ('moved').
 */
class Restart extends Error {
  constructor(readonly reason: 'replaced' | 'moved') {
    super(`index ${reason}`);
  }
}

class Run {
  records = 0;
  bytes = 0;
  dropped = 0;
  private totalBytes = 0;
  private channel = '';
  private phase: IndexProgress['phase'] = 'reading';

  constructor(
    private readonly layout: LogLayout,
    private readonly db: IndexDb,
    private readonly options: CatchUpOptions,
  ) {}

  async all(metaChannels: readonly string[]): Promise<ChannelIndexReport[]> {
    const book = readSegmentBook(this.layout, this.db.logId);
    const names = [
      ...new Set([...metaChannels, ...book.channels(), ...this.db.states().map((s) => s.channel)]),
    ];
    // Loading into an empty index: build the secondary indexes once at the end, by sorting.
    if (this.db.isEmpty()) this.db.dropIndexes();
    const plans = names.map((c) => this.plan(book, c, false));
    this.totalBytes = plans.reduce((n, p) => n + p.bytes, 0);
    const reports: ChannelIndexReport[] = [];
    for (const { plan, bytes } of plans) {
      if (this.stopped()) return reports;
      this.channel = plan.channel;
      let result = await this.scan(plan, bytes);
      if (result.outcome === 'gap') {
        // Records missing between two segments: most likely a rotation while we read. Read the
        // segment log again; what is still missing then is missing from the log.
        const again = this.plan(readSegmentBook(this.layout, this.db.logId), plan.channel, true);
        this.totalBytes += again.bytes;
        const before = result.counts;
        result = await this.scan(again.plan, again.bytes);
        result.counts.skipped += before.skipped;
      }
      if (result.outcome === 'replaced') throw new Restart('replaced');
      reports.push({
        channel: plan.channel,
        indexedSeq: this.db.state(plan.channel)?.indexedSeq ?? 0,
        records: result.records,
        skipped: result.counts.skipped,
        gaps: result.counts.gaps,
        busy: result.outcome === 'busy',
        locked: result.outcome === 'locked',
      });
    }
    if (this.stopped()) return reports;
    if (!this.db.hasIndexes()) {
      this.phase = 'indexing';
      this.report();
      this.db.ensureIndexes();
    }
    this.db.optimize();
    return reports;
  }

  /** Where a channel's catch-up starts, checking the log still holds what was indexed. */
  private plan(
    book: SegmentBook,
    channel: string,
    tolerant: boolean,
  ): { plan: ScanPlan; bytes: number } {
    const state = this.db.channel(channel);
    const sources = channelSources(this.layout, book, channel);
    const segments = segmentRows(sources);
    this.dropped += this.db.syncSegments(state, segments);
    const n = state.indexedSeq;
    let from = 0;
    let offset = 0;
    let check = false;
    if (n > 0) {
      from = segments.findIndex((s) => s.first <= n && (s.last === undefined || n <= s.last));
      const src = sources[from];
      const seg = segments[from];
      if (src === undefined || seg === undefined) throw new Restart('replaced'); // the log ends before n
      if (src.segment !== undefined && src.segment.last === n) {
        // The signed segment log has the hash at the segment's end: no need to read the file.
        if (state.lastHash?.toString('hex') !== src.segment.head) throw new Restart('replaced');
        from += 1;
      } else if (src.kind !== 'deleted') {
        check = true;
        // A segment's bytes never change (active, staging, archive): resume at the last line.
        if (src.kind !== 'sealed' && state.segFirst === seg.first && state.lastOffset !== undefined)
          offset = state.lastOffset;
      }
    }
    let bytes = 0;
    for (let i = from; i < sources.length; i++)
      bytes += sizeToRead(sources[i] as Source, i === from ? offset : 0);
    const plan: ScanPlan = {
      channel,
      indexedSeq: n,
      lastHash: state.lastHash?.toString('hex'),
      segFirst: state.segFirst,
      lastOffset: state.lastOffset,
      nextOffset: state.nextOffset,
      sources,
      segments,
      from,
      offset,
      check,
      tolerant,
      batchSize: Math.max(1, this.options.batchSize ?? BATCH),
      logId: this.db.logId,
      keys: (this.options.channelKeys?.keys ?? []).filter(([c]) => c === channel),
    };
    return { plan, bytes };
  }

  /** Read a plan's sources (in a worker thread when large) and commit their records. */
  private async scan(
    plan: ScanPlan,
    bytes: number,
  ): Promise<{ outcome: ScanOutcome; counts: ScanCounts; records: number }> {
    const state = this.db.channel(plan.channel);
    let records = 0;
    let committed = plan.indexedSeq;
    const base = this.bytes;
    const sink: ScanSink = {
      batch: (rows, to, _counts, roots) => {
        if (this.stopped() || !this.db.commit(state, committed, rows, to, roots)) return false;
        committed = to.indexedSeq;
        records += rows.length;
        this.records += rows.length;
        this.report();
        return true;
      },
      read: (read) => {
        this.bytes = base + read;
        this.report();
      },
    };
    const threshold = this.options.workerThreshold ?? WORKER_THRESHOLD;
    const result = await (bytes > threshold ? scanInWorker(plan, sink) : scanChannel(plan, sink));
    return { ...result, records };
  }

  private stopped(): boolean {
    return this.options.shouldStop?.() === true;
  }

  private report(): void {
    this.options.onProgress?.({
      phase: this.phase,
      channel: this.channel,
      records: this.records,
      bytes: this.bytes,
      totalBytes: Math.max(this.totalBytes, this.bytes),
    });
  }
}

/** The segments of a channel's sources, each named by its first seq. */
function segmentRows(sources: readonly Source[]): SegmentRow[] {
  let next = 1;
  return sources.map((s) => {
    const first = s.segment?.first ?? next;
    const last = s.segment?.last;
    if (last !== undefined) next = last + 1;
    return { first, last: s.kind === 'active' ? undefined : last, kind: s.kind, file: s.rel };
  });
}

function sizeToRead(src: Source, offset: number): number {
  if (src.kind === 'deleted' || !existsSync(src.file)) return 0;
  return Math.max(0, statSync(src.file).size - offset);
}
