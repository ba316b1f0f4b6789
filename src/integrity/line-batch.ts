import { hash } from 'node:crypto';

// Room before the first line for 0x00 || hash_{n-1} while hashing it (see append()).
const HEADROOM = 33;
const MIN_CAPACITY = 256 * 1024;

/**
 * Stored lines of a channel waiting to be written, encoded straight into one byte buffer.
 *
 * Each record's canonical text is written once, as UTF-8, where it will be written to the
 * file; its chain hash is computed over those same bytes, with `0x00 || hash_{n-1}` placed for
 * the moment in the 33 bytes before it (the end of the previous line, saved and put back);
 * then its closing `}` becomes `,"hash":"<hex>"}` and a newline. No string is built or copied
 * per record beyond the canonical text itself.
 */
export class LineBatch {
  private buf = Buffer.allocUnsafe(MIN_CAPACITY);
  private end = HEADROOM;
  private readonly saved = Buffer.allocUnsafe(HEADROOM);
  /** Records in the batch. */
  count = 0;
  /** hash_n of the last record appended, as bytes (a Merkle leaf) and as hex. */
  digest: Buffer = Buffer.alloc(32);
  private lastHex = '';

  /** Bytes waiting. */
  get bytes(): number {
    return this.end - HEADROOM;
  }

  /** Is there room for this event's line (`sealed`: its body encrypted) without writing out first? */
  fits(p: Sized, sealed = false): boolean {
    return this.end + worstCase(p, sealed) <= this.buf.length;
  }

  /** Make room for a record larger than the buffer (call only when the batch is empty). */
  reserve(p: Sized, sealed = false): void {
    const need = HEADROOM + worstCase(p, sealed);
    if (need > this.buf.length) this.buf = Buffer.allocUnsafe(Math.max(need, MIN_CAPACITY));
  }

  /** Append record n; returns hash_n (hex). The caller has checked fits(). */
  append(prevHex: string, canonical: string): string {
    const buf = this.buf;
    const start = this.end;
    const saved = this.saved;
    // 33 bytes: a plain loop beats Buffer#copy's call overhead at this size.
    for (let i = 0; i < HEADROOM; i++) saved[i] = buf[start - HEADROOM + i] as number;
    buf[start - HEADROOM] = 0;
    if (prevHex === this.lastHex) {
      // The usual case: the previous hash is the one computed just before, still in bytes.
      const digest = this.digest;
      for (let i = 0; i < 32; i++) buf[start - 32 + i] = digest[i] as number;
    } else {
      buf.write(prevHex, start - 32, 32, 'hex');
    }
    const n = buf.write(canonical, start, 'utf8');
    this.digest = hash('sha256', buf.subarray(start - HEADROOM, start + n), 'buffer');
    for (let i = 0; i < HEADROOM; i++) buf[start - HEADROOM + i] = saved[i] as number;
    const hex = this.digest.toString('hex');
    this.lastHex = hex;
    // The closing brace becomes the hash field, the brace and a newline.
    this.end = start + n - 1 + buf.write(`,"hash":"${hex}"}\n`, start + n - 1, 'latin1');
    this.count += 1;
    return hex;
  }

  /** The bytes waiting, valid until the next append() or clear(). */
  view(): Buffer {
    return this.buf.subarray(HEADROOM, this.end);
  }

  clear(): void {
    this.end = HEADROOM;
    this.count = 0;
    if (this.buf.length > MIN_CAPACITY) this.buf = Buffer.allocUnsafe(MIN_CAPACITY);
  }
}

/** A prepared event: its text around what the writer adds. */
interface Sized {
  readonly pre: string;
  readonly post: string;
  readonly mid: string;
  readonly pii?: ReadonlyArray<{ readonly plain: string; readonly pseudonym: string }> | undefined;
}

function worstCase(p: Sized, sealed: boolean): number {
  // UTF-8 takes at most 3 bytes per UTF-16 code unit; the writer adds seq (16 digits), ts (24),
  // a clock flag (30) and the hash suffix with the newline (76), all ASCII; and the personal
  // data as base64 of its UTF-8 with nonce and tag.
  let pii = 0;
  if (p.pii !== undefined)
    for (const x of p.pii)
      pii += Math.ceil((x.plain.length * 3 + 28) / 3) * 4 + x.pseudonym.length + 8;
  const plain = (p.pre.length + p.post.length + p.mid.length) * 3 + pii + 170;
  // An encrypted body: base64 of the canonical text with nonce and tag, in a readable envelope
  // (channel, level, seq, ts, key id) of under 200 bytes.
  return sealed ? Math.ceil((plain + 28) / 3) * 4 + 200 : plain;
}
