import { createReadStream, existsSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { createGunzip } from 'node:zlib';
import type { LogLayout } from './layout.js';
import { firstRecord, scanLines, type ScanResult } from './lines.js';
import type { Segment } from '../store.js';
import type { SegmentBook } from './segment-log.js';

/**
 * One piece of a channel's continuous log, oldest first: sealed archives, segments waiting in
 * staging, segments deleted by retention (no records, only their signed range), and the active
 * file last.
 */
export interface Source {
  readonly kind: 'sealed' | 'staging' | 'deleted' | 'active';
  readonly channel: string;
  /** Absolute path. */
  readonly file: string;
  /** Path relative to the logs directory, for messages. */
  readonly rel: string;
  /** The segment, for every kind but `active`. */
  readonly segment?: Segment;
}

/** A channel's sources in seq order, as the segment log describes them. */
export function channelSources(layout: LogLayout, book: SegmentBook, channel: string): Source[] {
  const out: Source[] = [];
  for (const seg of book.segments(channel)) {
    const file =
      seg.state === 'staging'
        ? layout.stagingFile(channel, seg.first, seg.last)
        : layout.resolve(seg.file ?? '');
    out.push({
      kind: seg.state,
      channel,
      file,
      rel: path.relative(layout.dir, file),
      segment: seg,
    });
  }
  const active = layout.channelFile(channel);
  const last = out[out.length - 1];
  if (
    last?.kind === 'staging' &&
    last.segment !== undefined &&
    !existsSync(last.file) &&
    existsSync(active) &&
    firstRecord(active)?.seq === last.segment.first
  ) {
    // A crash between signing a cut and moving the file: the active file still is that
    // segment (nothing is written between the two), and the next open moves it.
    out[out.length - 1] = { ...last, file: active, rel: path.relative(layout.dir, active) };
    return out;
  }
  out.push({ kind: 'active', channel, file: active, rel: path.relative(layout.dir, active) });
  return out;
}

/**
 * Call `onLine` for every complete line of a source (gzip archives are decompressed as they
 * stream). `onLine` may return false to stop. `onChunk` reports bytes read from the file.
 */
export async function scanSource(
  source: Source,
  onLine: (bytes: Buffer, line: number) => unknown,
  onChunk?: (bytesRead: number) => void,
): Promise<SourceScan> {
  if (source.kind === 'deleted') return { end: 0, tail: Buffer.alloc(0), lines: 0 };
  if (source.kind !== 'sealed') {
    return scanLines(source.file, ({ bytes, line }) => onLine(bytes, line), {
      ...(onChunk === undefined ? {} : { onChunk }),
    });
  }
  return scanGzip(source.file, onLine, onChunk);
}

/** A scan; for an archive read to its end, also the SHA-256 and size of the compressed file. */
export interface SourceScan extends ScanResult {
  readonly sha256?: string;
  readonly size?: number;
}

async function scanGzip(
  file: string,
  onLine: (bytes: Buffer, line: number) => unknown,
  onChunk?: (bytesRead: number) => void,
): Promise<SourceScan> {
  const input = createReadStream(file, { highWaterMark: 1024 * 1024 });
  const digest = createHash('sha256');
  input.on('data', (chunk) => {
    digest.update(chunk);
    onChunk?.(input.bytesRead);
  });
  const gunzip = input.pipe(createGunzip());
  input.on('error', (err) => gunzip.destroy(err));
  let carry: Buffer = Buffer.alloc(0);
  let lineNo = 0;
  let end = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      const data = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
      let start = 0;
      for (let nl = data.indexOf(10); nl !== -1; nl = data.indexOf(10, start)) {
        lineNo += 1;
        if (onLine(data.subarray(start, nl), lineNo) === false) {
          return { end: end + nl + 1, tail: Buffer.alloc(0), lines: lineNo };
        }
        start = nl + 1;
      }
      end += start;
      carry = Buffer.from(data.subarray(start));
    }
  } finally {
    input.destroy();
    gunzip.destroy();
  }
  return { end, tail: carry, lines: lineNo, sha256: digest.digest('hex'), size: input.bytesRead };
}
