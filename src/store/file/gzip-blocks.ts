import { closeSync, constants, fstatSync, openSync, readSync } from 'node:fs';
import { Transform, type TransformCallback } from 'node:stream';
import { promisify } from 'node:util';
import { gunzipSync, gzip } from 'node:zlib';

const gzipAsync = promisify(gzip);

/**
 * Archives are gzip files made of many members (RFC 1952 allows it; `zcat`, `gzip -d` and every
 * gzip library read them as one stream), each holding whole lines, about BLOCK bytes of them.
 * A last, empty member carries in its header's extra field a table of every member's compressed
 * and uncompressed size, and ends with a fixed footer that gives its own length. A reader finds
 * the table with two small reads and then decompresses only the member that holds the line it
 * wants: a record in a 64 MiB archive is read in well under a millisecond instead of streaming
 * the archive up to it.
 */
export const BLOCK = 64 * 1024;
// The table must fit one extra field (65,535 bytes): at most 8,000 members of 8 bytes.
const MAX_MEMBERS = 8000;
// Members compressed at once (on libuv's thread pool).
const PARALLEL = 2;

// Extra subfield ids: 'DI' the table, 'DZ' the trailer member's own length (last in the field).
const TABLE_ID = [0x44, 0x49] as const;
const LENGTH_ID = [0x44, 0x5a] as const;
// An empty deflate stream (a final fixed-Huffman block with no data), CRC32 of nothing, size 0.
const EMPTY_DEFLATE = Buffer.from([0x03, 0x00]);
const FOOTER_BYTES = 4 + 4 + EMPTY_DEFLATE.length + 8; // 'DZ' subfield + empty body + trailer
const TABLE_MEMBER_MAX = 12 + 4 + MAX_MEMBERS * 8 + FOOTER_BYTES;
// The largest member a reader decompresses (blockSizeFor gives ~2 MiB for a 16 GiB segment).
const MEMBER_MAX = 64 * 1024 * 1024;

/** Block size for a segment of `bytes`: BLOCK, or more when the table would not fit. */
export function blockSizeFor(bytes: number): number {
  return Math.max(BLOCK, Math.ceil(bytes / (MAX_MEMBERS - 100)));
}

/** Compresses a stream of lines into members of whole lines, then the table member. */
export class BlockGzip extends Transform {
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly sizes: number[] = [];

  constructor(
    private readonly level: number,
    private readonly block: number,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.pending.push(chunk);
    this.pendingBytes += chunk.length;
    if (this.pendingBytes < this.block) {
      done();
      return;
    }
    this.members(Buffer.concat(this.pending)).then(() => done(), done);
  }

  /** Compress whole lines, about `block` bytes a member; keep the rest for later. */
  private async members(data: Buffer): Promise<void> {
    const blocks: Buffer[] = [];
    let start = 0;
    while (data.length - start >= this.block) {
      let end = data.lastIndexOf(10, start + this.block - 1) + 1;
      if (end <= start) {
        // A line longer than a block: the member ends with it, once it is complete.
        const nl = data.indexOf(10, start + this.block);
        if (nl === -1) break;
        end = nl + 1;
      }
      blocks.push(data.subarray(start, end));
      start = end;
    }
    this.pending = start < data.length ? [data.subarray(start)] : [];
    this.pendingBytes = data.length - start;
    // Two members at a time on libuv's threads, written in order.
    for (let i = 0; i < blocks.length; i += PARALLEL) {
      const batch = blocks.slice(i, i + PARALLEL);
      const outs = await Promise.all(batch.map((b) => gzipAsync(b, { level: this.level })));
      outs.forEach((out, k) => {
        this.sizes.push(out.length, (batch[k] as Buffer).length);
        this.push(out);
      });
    }
  }

  override _flush(done: TransformCallback): void {
    const rest = Buffer.concat(this.pending);
    this.pending = [];
    (rest.length > 0 ? this.member(rest) : Promise.resolve()).then(() => {
      this.push(tableMember(this.sizes));
      done();
    }, done);
  }

  private async member(data: Buffer): Promise<void> {
    const out = await gzipAsync(data, { level: this.level });
    this.sizes.push(out.length, data.length);
    this.push(out);
  }
}

/** The last member: empty, with the table and its own length in the header's extra field. */
function tableMember(sizes: readonly number[]): Buffer {
  const table = Buffer.alloc(4 + sizes.length * 4);
  table[0] = TABLE_ID[0];
  table[1] = TABLE_ID[1];
  table.writeUInt16LE(sizes.length * 4, 2);
  sizes.forEach((n, i) => table.writeUInt32LE(n, 4 + i * 4));
  const xlen = table.length + 8;
  const total = 10 + 2 + xlen + EMPTY_DEFLATE.length + 8;
  const out = Buffer.alloc(total);
  // ID1 ID2 CM=deflate FLG=FEXTRA MTIME=0 XFL=0 OS=255 (unknown)
  out.set([0x1f, 0x8b, 8, 4, 0, 0, 0, 0, 0, 255], 0);
  out.writeUInt16LE(xlen, 10);
  table.copy(out, 12);
  const at = 12 + table.length;
  out[at] = LENGTH_ID[0];
  out[at + 1] = LENGTH_ID[1];
  out.writeUInt16LE(4, at + 2);
  out.writeUInt32LE(total, at + 4);
  EMPTY_DEFLATE.copy(out, at + 8);
  // CRC32 and size of the empty data: both 0, already zero-filled.
  return out;
}

/** One member of an archive: where its compressed bytes are and which bytes of the segment it holds. */
export interface Member {
  readonly offset: number;
  readonly size: number;
  readonly first: number;
  readonly bytes: number;
}

/**
 * The members of an archive, from its table; undefined for an archive without one (written by
 * an earlier version, or by hand) or whose table does not add up: the caller then streams it.
 */
export function readMembers(fd: number): Member[] | undefined {
  const fileSize = fstatSync(fd).size;
  if (fileSize < FOOTER_BYTES + 12) return undefined;
  const footer = Buffer.alloc(FOOTER_BYTES);
  readSync(fd, footer, 0, FOOTER_BYTES, fileSize - FOOTER_BYTES);
  if (
    footer[0] !== LENGTH_ID[0] ||
    footer[1] !== LENGTH_ID[1] ||
    footer.readUInt16LE(2) !== 4 ||
    !footer.subarray(8, 10).equals(EMPTY_DEFLATE) ||
    footer.readUInt32LE(10) !== 0 ||
    footer.readUInt32LE(14) !== 0
  )
    return undefined;
  const total = footer.readUInt32LE(4);
  // A table member holds at most MAX_MEMBERS entries: anything larger is not ours.
  if (total > fileSize || total < FOOTER_BYTES + 16 || total > TABLE_MEMBER_MAX) return undefined;
  const head = Buffer.alloc(total);
  readSync(fd, head, 0, total, fileSize - total);
  if (head[0] !== 0x1f || head[1] !== 0x8b || head[2] !== 8 || head[3] !== 4) return undefined;
  if (head[12] !== TABLE_ID[0] || head[13] !== TABLE_ID[1]) return undefined;
  const n = head.readUInt16LE(14) / 8;
  if (!Number.isInteger(n) || 16 + n * 8 > total) return undefined;
  const members: Member[] = [];
  let offset = 0;
  let first = 0;
  for (let i = 0; i < n; i++) {
    const size = head.readUInt32LE(16 + i * 8);
    const bytes = head.readUInt32LE(20 + i * 8);
    members.push({ offset, size, first, bytes });
    offset += size;
    first += bytes;
  }
  return offset + total === fileSize ? members : undefined;
}

/**
 * The lines starting at each offset of an archive's uncompressed bytes (undefined where there
 * is none), decompressing only the members that hold them. Undefined when the archive has no
 * member table.
 */
export function linesFromMembers(
  file: string,
  offsets: readonly number[],
  maxLine: number,
): Array<Buffer | undefined> | undefined {
  const fd = openSync(file, constants.O_RDONLY);
  try {
    const members = readMembers(fd);
    if (members === undefined) return undefined;
    const cache = new Map<number, Buffer>();
    const inflate = (i: number): Buffer | undefined => {
      const m = members[i];
      if (m === undefined) return undefined;
      let data = cache.get(i);
      if (data === undefined) {
        if (m.size > MEMBER_MAX) return undefined; // not written by us: treated as damage
        const raw = Buffer.alloc(m.size);
        readSync(fd, raw, 0, m.size, m.offset);
        try {
          data = gunzipSync(raw);
        } catch {
          return undefined; // a damaged member: the line is missing (verify says more)
        }
        if (cache.size > 64) cache.clear();
        cache.set(i, data);
      }
      return data;
    };
    return offsets.map((offset) => {
      let i = memberOf(members, offset);
      if (i === undefined) return undefined;
      const parts: Buffer[] = [];
      let at = offset - (members[i]?.first ?? 0);
      let length = 0;
      for (;;) {
        const data = inflate(i);
        if (data === undefined) return undefined;
        const nl = data.indexOf(10, at);
        parts.push(data.subarray(at, nl === -1 ? data.length : nl));
        length += (nl === -1 ? data.length : nl) - at;
        if (nl !== -1) return Buffer.concat(parts);
        if (length > maxLine) return undefined;
        i += 1; // a line longer than what is left of its member goes on in the next
        at = 0;
      }
    });
  } finally {
    closeSync(fd);
  }
}

function memberOf(members: readonly Member[], offset: number): number | undefined {
  let lo = 0;
  let hi = members.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const m = members[mid] as Member;
    if (offset < m.first) hi = mid - 1;
    else if (offset >= m.first + m.bytes) lo = mid + 1;
    else return mid;
  }
  return undefined;
}
