import { hash } from 'node:crypto';
import { sha256Hex } from '../crypto/hash.js';

/**
 * The per-channel hash chain.
 *
 *   hash_0 = SHA-256("dihya-logs/chain/v1" 0x00 log_id 0x00 channel)
 *   hash_n = SHA-256(0x00 || hash_{n-1} || canonical_n)
 *
 * hash_n is also the RFC 9162 leaf hash of the entry (hash_{n-1} || canonical_n), so the chain
 * and the Merkle tree share one hash per record. hash_0 names the log and the channel, so two
 * channels or two installations never splice.
 */
export const CHAIN_DOMAIN = 'dihya-logs/chain/v1';

export function chainGenesis(logId: string, channel: string): string {
  return sha256Hex(`${CHAIN_DOMAIN}\0${logId}\0${channel}`);
}

/** `,"hash":"` + 64 hex digits + `"}`: the fixed tail of every stored line. */
const HASH_OPEN = ',"hash":"';
export const HASH_SUFFIX_BYTES = HASH_OPEN.length + 64 + 2;
const HASH_OPEN_BYTES = Buffer.from(HASH_OPEN, 'latin1');

/** Computes chain hashes with one reusable buffer: no allocation per record. */
export class ChainHasher {
  private scratch = Buffer.allocUnsafe(128 * 1024);

  /** hash_n from hash_{n-1} (hex) and the canonical text of record n. */
  next(prevHex: string, canonical: string): string {
    const need = 33 + canonical.length * 3;
    if (need > this.scratch.length) this.scratch = Buffer.allocUnsafe(need);
    this.scratch[0] = 0;
    this.scratch.write(prevHex, 1, 32, 'hex');
    const n = this.scratch.write(canonical, 33, 'utf8');
    return hash('sha256', this.scratch.subarray(0, 33 + n), 'hex');
  }

  /**
   * hash_n from hash_{n-1} and a stored line's bytes (without the newline): the canonical text
   * is the line up to its hash suffix, closed with `}`.
   */
  nextFromLine(prevHex: string, line: Uint8Array): string {
    const body = line.length - HASH_SUFFIX_BYTES;
    const need = 34 + body;
    if (need > this.scratch.length) this.scratch = Buffer.allocUnsafe(need * 2);
    this.scratch[0] = 0;
    this.scratch.write(prevHex, 1, 32, 'hex');
    this.scratch.set(line.subarray(0, body), 33);
    this.scratch[33 + body] = 0x7d; // '}'
    return hash('sha256', this.scratch.subarray(0, 34 + body), 'hex');
  }
}

/** The stored line of a record: its canonical text with the hash as last field, and a newline. */
export function toLine(canonical: string, hashHex: string): string {
  return `${canonical.slice(0, -1)}${HASH_OPEN}${hashHex}"}\n`;
}

/**
 * The 64 characters where a stored line keeps its hash, or undefined when the line does not end
 * with the exact hash suffix. Not checked to be hex: compare it with a computed hash (equal
 * means valid), or use lineHash.
 */
export function rawLineHash(line: Buffer): string | undefined {
  const at = line.length - HASH_SUFFIX_BYTES;
  if (at < 1 || line[line.length - 1] !== 0x7d || line[line.length - 2] !== 0x22) return undefined;
  if (
    line.compare(HASH_OPEN_BYTES, 0, HASH_OPEN_BYTES.length, at, at + HASH_OPEN_BYTES.length) !== 0
  ) {
    return undefined;
  }
  return line.toString('latin1', at + HASH_OPEN_BYTES.length, line.length - 2);
}

/** The hash a stored line carries, or undefined when its tail is not a well-formed hash suffix. */
export function lineHash(line: Buffer): string | undefined {
  const raw = rawLineHash(line);
  return raw !== undefined && /^[0-9a-f]{64}$/.test(raw) ? raw : undefined;
}
