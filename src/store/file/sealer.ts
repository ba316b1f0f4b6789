import {
  closeSync,
  createReadStream,
  createWriteStream,
  existsSync,
  fsyncSync,
  openSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
  constants,
} from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import path from 'node:path';
import { Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { LogsError } from '../../errors.js';
import { lineHash } from '../../integrity/chain.js';
import type { SealEntry } from '../../integrity/segment.js';
import { failpoint } from '../../util/failpoint.js';
import { FILE_MODE, ensureDir, fsyncDir } from '../../util/fs.js';
import { BlockGzip, blockSizeFor } from './gzip-blocks.js';
import type { LogLayout } from './layout.js';
import type { SealResult, Segment } from '../store.js';

/** Counts lines and keeps the last one, to check a segment is the one its cut describes. */
class LineCounter extends Transform {
  lines = 0;
  bytes = 0;
  private tail: Buffer = Buffer.alloc(0);
  lastLine: Buffer | undefined;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.bytes += chunk.length;
    const lastNl = chunk.lastIndexOf(10);
    if (lastNl === -1) {
      this.tail = Buffer.concat([this.tail, chunk]);
    } else {
      for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, nl + 1)) this.lines += 1;
      const prevNl = lastNl === 0 ? -1 : chunk.lastIndexOf(10, lastNl - 1);
      this.lastLine =
        prevNl === -1
          ? Buffer.concat([this.tail, chunk.subarray(0, lastNl)])
          : Buffer.from(chunk.subarray(prevNl + 1, lastNl));
      this.tail = Buffer.from(chunk.subarray(lastNl + 1));
    }
    done(null, chunk);
  }

  /** Bytes after the last newline. */
  get trailing(): number {
    return this.tail.length;
  }
}

/** SHA-256 and size of what passes through. */
class Digest extends Transform {
  readonly hash = createHash('sha256');
  size = 0;

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.hash.update(chunk);
    this.size += chunk.length;
    done(null, chunk);
  }
}

/**
 * Compress one staged segment into `archive/YYYY/MM/` and sign its seal. Crash-safe: the
 * archive is written to a hidden temporary file, synced and renamed; the seal is signed only
 * once the archive is in place; the staged file is deleted only once the seal is durable. A
 * crash anywhere leaves either the staged file (sealed again on the next open) or the sealed
 * archive; an archive without a seal is not part of the log and is replaced.
 */
export async function sealSegment(
  layout: LogLayout,
  seg: Segment,
  level: number,
  sign: (entry: Omit<SealEntry, 'v' | 'log_id' | 'prev' | 'kid' | 'ts' | 'sig'>) => void,
  /** Told once the seal is signed, before the staged copy goes: a crash between the two leaves
   * the staged copy, by which the next open knows the seal may not have been recorded. */
  onSealed: (result: SealResult) => void = () => undefined,
): Promise<SealResult> {
  const started = performance.now();
  const staged = layout.stagingFile(seg.channel, seg.first, seg.last);
  if (!existsSync(staged)) {
    throw new LogsError(
      'INTEGRITY_STATE',
      `${seg.channel}: segment ${seg.first}-${seg.last} is neither sealed nor in ${path.relative(layout.dir, layout.stagingDir)}; run: dihya-logs verify`,
    );
  }
  const rel = layout.archiveName(seg.channel, seg.first, seg.last, seg.firstTs);
  const dest = layout.resolve(rel);
  const dir = path.dirname(dest);
  ensureDir(path.dirname(dir));
  ensureDir(dir);
  removeLeftovers(dir, path.basename(dest));
  const tmp = path.join(dir, `.${path.basename(dest)}.${randomBytes(6).toString('hex')}.tmp`);
  const counter = new LineCounter();
  const digest = new Digest();
  try {
    failpoint('seal.start');
    await pipeline(
      createReadStream(staged, { highWaterMark: 1024 * 1024 }),
      counter,
      new BlockGzip(level, blockSizeFor(statSync(staged).size)),
      digest,
      createWriteStream(tmp, { flags: 'wx', mode: FILE_MODE }),
    );
    const lastHash = counter.lastLine === undefined ? undefined : lineHash(counter.lastLine);
    if (
      counter.lines !== seg.last - seg.first + 1 ||
      counter.trailing > 0 ||
      lastHash !== seg.head
    ) {
      throw new LogsError(
        'INTEGRITY_STATE',
        `${path.relative(layout.dir, staged)} is not the segment its cut describes (${counter.lines} line(s), expected ${seg.last - seg.first + 1}); it was left in place; run: dihya-logs verify`,
      );
    }
    failpoint('seal.compressed');
    const fd = openSync(tmp, constants.O_RDONLY);
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    failpoint('seal.synced');
    renameSync(tmp, dest);
    failpoint('seal.renamed');
    fsyncDir(dir);
  } catch (err) {
    if (existsSync(tmp)) unlinkSync(tmp);
    throw err;
  }
  const sha256 = digest.hash.digest('hex');
  sign({
    kind: 'seal',
    channel: seg.channel,
    first: seg.first,
    last: seg.last,
    start: seg.start,
    head: seg.head,
    file: rel,
    codec: 'gzip',
    size: digest.size,
    sha256,
  });
  failpoint('seal.signed');
  const result: SealResult = {
    channel: seg.channel,
    first: seg.first,
    last: seg.last,
    file: rel,
    bytes: counter.bytes,
    size: digest.size,
    durationMs: performance.now() - started,
  };
  onSealed(result);
  unlinkSync(staged);
  failpoint('seal.unstaged');
  fsyncDir(layout.stagingDir);
  return result;
}

/** Temporary files of an earlier attempt that a crash left behind. */
function removeLeftovers(dir: string, name: string): void {
  for (const f of readdirSync(dir)) {
    if (f.startsWith(`.${name}.`) && f.endsWith('.tmp')) unlinkSync(path.join(dir, f));
  }
}
