import { closeSync, constants, existsSync, openSync, readSync } from 'node:fs';
import { chainGenesis, ChainHasher, rawLineHash } from '../integrity/chain.js';
import {
  channelSources,
  linesFromMembers,
  readSegmentBook,
  scanSource,
  type LogLayout,
  type SegmentBook,
  type Source,
} from '../store/file/index.js';
import type { Hit } from '../search/index.js';
import { openIfSealed, type ChannelKeyring } from '../crypto/body-cipher.js';

/**
 * What reading a found record back from its segment showed:
 * - `ok`: the line is there and its content gives the chain hash the index recorded;
 * - `hash_mismatch`: the line's content no longer gives that hash (edited after it was written);
 * - `missing`: no line for that record where it was (file gone, truncated, or another record);
 * - `unverified`: the line carries the indexed hash but the hash before it is unknown (the
 *   previous record is in a segment retention deleted and the segment log does not say it).
 */
export type ReadStatus = 'ok' | 'hash_mismatch' | 'missing' | 'unverified';

export interface ReadResult {
  readonly hit: Hit;
  readonly status: ReadStatus;
  /** The stored line, when one was found (a `hash_mismatch` line included: it is evidence). */
  readonly line: string | undefined;
  /**
   * The parsed record, when the line is JSON; a record of an encrypted channel opened when a
   * key for it was given (else as stored: readable fields and ciphertext).
   */
  readonly record: Record<string, unknown> | undefined;
  /** Where the line was looked for, relative to the logs directory. */
  readonly file: string;
}

// A stored record is at most the writer's record limit plus its envelope; read at most this.
const MAX_LINE = 4 * 1024 * 1024;
const FIRST_READ = 16 * 1024;

/**
 * Reads found records back from the log files, each checked against its chain hash: what a
 * query shows is what is chained, and a record edited on disk after it was indexed is reported.
 * Offsets stay valid from the active file to staging to an archive (the bytes of a segment do
 * not change; archives are decompressed as they stream, each at most once per call).
 */
export class RecordReader {
  private readonly hasher = new ChainHasher();

  constructor(
    private readonly layout: LogLayout,
    private readonly logId: string,
    private book: SegmentBook,
    private readonly ring?: ChannelKeyring,
  ) {}

  async read(hits: readonly Hit[]): Promise<ReadResult[]> {
    const results = await this.readFrom(hits);
    // A staged segment may have been sealed into its archive (or the active file rotated)
    // since the segment log was read: read it again, and retry what was not found.
    const retry = results.flatMap((r, i) => (r.status === 'missing' ? [i] : []));
    if (retry.length === 0) return results;
    this.book = readSegmentBook(this.layout, this.logId);
    const again = await this.readFrom(retry.map((i) => hits[i] as Hit));
    retry.forEach((i, k) => {
      results[i] = again[k] as ReadResult;
    });
    return results;
  }

  private async readFrom(hits: readonly Hit[]): Promise<ReadResult[]> {
    const bySource = new Map<Source, Array<{ i: number; hit: Hit }>>();
    const sourcesOf = new Map<string, Source[]>();
    const results: Array<ReadResult | undefined> = new Array<ReadResult | undefined>(hits.length);
    hits.forEach((hit, i) => {
      let sources = sourcesOf.get(hit.channel);
      if (sources === undefined) {
        sources = channelSources(this.layout, this.book, hit.channel);
        sourcesOf.set(hit.channel, sources);
      }
      const src = sourceOf(sources, hit.seq);
      if (src === undefined || src.kind === 'deleted' || !existsSync(src.file)) {
        results[i] = this.result(hit, undefined, src?.rel ?? '', undefined);
        return;
      }
      const list = bySource.get(src) ?? [];
      list.push({ i, hit });
      bySource.set(src, list);
    });
    for (const [src, wanted] of bySource) {
      const lines =
        src.kind === 'sealed'
          ? await linesFromArchive(
              src,
              wanted.map((w) => w.hit.offset),
            )
          : linesFromFileIfThere(
              src.file,
              wanted.map((w) => w.hit.offset),
            );
      wanted.forEach(({ i, hit }, k) => {
        results[i] = this.result(hit, lines[k], src.rel, src);
      });
    }
    return results as ReadResult[];
  }

  private result(
    hit: Hit,
    line: Buffer | undefined,
    file: string,
    src: Source | undefined,
  ): ReadResult {
    let record: Record<string, unknown> | undefined;
    if (line !== undefined) {
      try {
        const v: unknown = JSON.parse(line.toString('utf8'));
        if (typeof v === 'object' && v !== null && !Array.isArray(v))
          record = v as Record<string, unknown>;
      } catch {
        record = undefined;
      }
    }
    const text = line?.toString('utf8');
    // Another record at this place (the index is of an older file), or no line at all.
    if (
      line === undefined ||
      record === undefined ||
      record.seq !== hit.seq ||
      record.channel !== hit.channel
    ) {
      return {
        hit,
        status: line === undefined ? 'missing' : 'hash_mismatch',
        line: text,
        record,
        file,
      };
    }
    const prev = this.prevHash(hit, src);
    const stored = rawLineHash(line);
    let status: ReadStatus;
    if (stored !== hit.hash) status = 'hash_mismatch';
    else if (prev === undefined) status = 'unverified';
    else status = this.hasher.nextFromLine(prev, line) === hit.hash ? 'ok' : 'hash_mismatch';
    const opened = openIfSealed(record, this.ring);
    // A ciphertext that does not open under its key while its chain hash holds: forged.
    if (opened.damaged) status = 'hash_mismatch';
    return { hit, status, line: text, record: opened.record, file };
  }

  /** The chain hash before a record: from the index, the chain's start, or its segment's start. */
  private prevHash(hit: Hit, src: Source | undefined): string | undefined {
    if (hit.prevHash !== undefined) return hit.prevHash;
    if (hit.seq === 1) return chainGenesis(this.logId, hit.channel);
    if (src?.segment?.first === hit.seq) return src.segment.start;
    // First record of the active file: the last segment's head.
    const segments = this.book.segments(hit.channel);
    return segments.find((s) => s.last === hit.seq - 1)?.head;
  }
}

/** The source holding a seq: the segment whose range has it, else the active file. */
function sourceOf(sources: readonly Source[], seq: number): Source | undefined {
  for (const s of sources) {
    if (s.segment === undefined) return s; // the active file, last
    if (s.segment.first <= seq && seq <= s.segment.last) return s;
  }
  return undefined;
}

/** linesFromFile, or nothing found when the file is gone (moved by a rotation or a seal). */
function linesFromFileIfThere(file: string, offsets: readonly number[]): Array<Buffer | undefined> {
  try {
    return linesFromFile(file, offsets);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    return offsets.map(() => undefined);
  }
}

/** The lines starting at each offset of an uncompressed file (undefined where there is none). */
function linesFromFile(file: string, offsets: readonly number[]): Array<Buffer | undefined> {
  const fd = openSync(file, constants.O_RDONLY);
  try {
    return offsets.map((offset) => lineAt(fd, offset));
  } finally {
    closeSync(fd);
  }
}

function lineAt(fd: number, offset: number): Buffer | undefined {
  let size = FIRST_READ;
  for (;;) {
    const buf = Buffer.allocUnsafe(size);
    const n = readSync(fd, buf, 0, size, offset);
    const nl = buf.subarray(0, n).indexOf(10);
    if (nl !== -1) return buf.subarray(0, nl);
    if (n < size || size >= MAX_LINE) return undefined; // the file ends, or no line that long
    size *= 4;
  }
}

/**
 * The same for an archive: only the members holding the lines are decompressed (see
 * gzip-blocks.ts); an archive without a member table is streamed once up to the last offset.
 */
async function linesFromArchive(
  src: Source,
  offsets: readonly number[],
): Promise<Array<Buffer | undefined>> {
  try {
    const direct = linesFromMembers(src.file, offsets, MAX_LINE);
    if (direct !== undefined) return direct;
  } catch {
    // unreadable: streaming says what it can
  }
  const wanted = new Map<number, Buffer | undefined>(offsets.map((o) => [o, undefined]));
  const last = Math.max(...offsets);
  let at = 0;
  try {
    await scanSource(src, (bytes) => {
      if (wanted.has(at)) wanted.set(at, Buffer.from(bytes));
      at += bytes.length + 1;
      return at <= last;
    });
  } catch {
    // A damaged archive: what was read stands, the rest is missing (verify says more).
  }
  return offsets.map((o) => wanted.get(o));
}
