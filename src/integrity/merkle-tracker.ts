import { CompactRange, type MerkleState } from './merkle.js';

/**
 * A channel's Merkle tree, folded when asked: the writer only records each leaf (the chain hash
 * it computed anyway) in a compact buffer; the node hashes, about one per record, are computed
 * in one pass when a checkpoint asks for the tree at some size, and leaves of records that were
 * never stored (a failed write) can still be forgotten.
 */
export class MerkleTracker {
  // The tree at `base.size`, and the leaves after it, 32 raw bytes each, in order: a compact
  // form (a second of leaves at 150,000 records/s is under 5 MB).
  private base: MerkleState;
  private pending = new LeafBuffer();

  constructor(state: MerkleState) {
    this.base = state;
  }

  /** Leaves recorded so far (the tree's size once everything is folded). */
  get size(): number {
    return this.base.size + this.pending.count;
  }

  /** Record the next leaf (64 hex digits). */
  append(leaf: string): void {
    this.pending.push(Buffer.from(leaf, 'hex'));
  }

  /** Record the next leaf (32 bytes). */
  appendBytes(leaf: Uint8Array): void {
    this.pending.push(leaf);
  }

  /** Forget the leaves after `size` (records that were never stored). */
  truncate(size: number): void {
    if (size < this.base.size) {
      throw new RangeError(`cannot go back below folded size ${this.base.size}`);
    }
    this.pending.truncate(size - this.base.size);
  }

  /** The tree state at `size` (between the folded size and `size`), folding the leaves up to it. */
  stateAt(size: number): MerkleState {
    const n = this.take(size);
    if (n === 0) return this.base;
    this.base = fold(this.base, this.pending.copy(n));
    this.pending.drop(n);
    return this.base;
  }

  /** How many pending leaves reach `size`; checks the request is within what is known. */
  private take(size: number): number {
    if (size < this.base.size || size > this.size) {
      throw new RangeError(
        `the tree is known from size ${this.base.size} to ${this.size}, not at ${size}`,
      );
    }
    return size - this.base.size;
  }
}

/** Append leaves (32 bytes each) to a tree in the given state; returns the new state. */
export function fold(base: MerkleState, leaves: Uint8Array): MerkleState {
  const range = new CompactRange(base);
  const buf = Buffer.from(leaves.buffer, leaves.byteOffset, leaves.byteLength);
  for (let at = 0; at < buf.length; at += 32) range.append(buf.toString('hex', at, at + 32));
  return range.state();
}

/** A queue of 32-byte leaves in fixed-size chunks: append at the end, drop from the front. */
class LeafBuffer {
  private static readonly CHUNK = 4096; // leaves per chunk (128 KiB)
  private chunks: Buffer[] = [];
  private head = 0; // leaves already dropped from the first chunk
  private tail = 0; // leaves used in the last chunk
  count = 0;

  push(leaf: Uint8Array): void {
    let last = this.chunks[this.chunks.length - 1];
    if (last === undefined || this.tail === LeafBuffer.CHUNK) {
      last = Buffer.allocUnsafe(LeafBuffer.CHUNK * 32);
      this.chunks.push(last);
      this.tail = 0;
    }
    const at = this.tail * 32;
    for (let i = 0; i < 32; i++) last[at + i] = leaf[i] as number;
    this.tail += 1;
    this.count += 1;
  }

  /** A fresh copy of the first n leaves (the caller may transfer it to another thread). */
  copy(n: number): Uint8Array {
    const out = new Uint8Array(n * 32);
    let done = 0;
    let skip = this.head;
    for (const chunk of this.chunks) {
      if (done === n) break;
      const take = Math.min(LeafBuffer.CHUNK - skip, n - done);
      out.set(chunk.subarray(skip * 32, (skip + take) * 32), done * 32);
      done += take;
      skip = 0;
    }
    return out;
  }

  drop(n: number): void {
    this.count -= n;
    let left = this.head + n;
    while (left >= LeafBuffer.CHUNK && this.chunks.length > 1) {
      this.chunks.shift();
      left -= LeafBuffer.CHUNK;
    }
    this.head = left;
    if (this.count === 0) {
      this.chunks = [];
      this.head = 0;
      this.tail = 0;
    }
  }

  truncate(n: number): void {
    if (n >= this.count) return;
    // Rare (a failed write): rebuild from a copy.
    const keep = this.copy(n);
    this.chunks = [];
    this.head = 0;
    this.tail = 0;
    this.count = 0;
    for (let at = 0; at < keep.length; at += 32) this.push(keep.subarray(at, at + 32));
  }
}
