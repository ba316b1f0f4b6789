import type { MerkleState } from './merkle.js';
import { consistencyPath, nodeBytes } from './merkle-range.js';

/** A tree's peak, or a completed subtree: where it starts, its height, its root. */
interface Node {
  readonly lo: number;
  readonly h: number;
  readonly node: Buffer;
}

/**
 * A size the tree was folded to, remembered so a consistency proof from it can be given
 * without hashing again: its peaks, and its left border (the subtrees [s, s + lowbit(s))
 * from s = size on, each as the fold completes it). Every node of a proof from this size to a
 * later remembered one is one of these peaks, one of these border subtrees, or made of the
 * later size's peaks (RFC 9162 2.1.4).
 */
interface Anchor {
  readonly size: number;
  readonly peaks: readonly Node[];
  readonly border: Node[];
}

// Sizes remembered: a few minutes of write batches, enough for witnesses a round or two behind.
const MAX_ANCHORS = 4096;

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
  private readonly anchors = new Map<number, Anchor>();
  /** Border subtrees the fold will complete, by `lo * 64 + h`: the anchors waiting for each. */
  private readonly expected = new Map<number, Anchor[]>();

  /**
   * `remember`: keep what consistency proofs between recent sizes need (a witness is
   * configured); off, the fold does nothing more than fold.
   */
  constructor(
    state: MerkleState,
    private readonly rememberSizes = false,
  ) {
    this.base = state;
    this.remember(state);
  }

  /**
   * The RFC 9162 consistency proof (hex) from the tree at `from` to the tree at `to`, both
   * sizes this tracker folded to recently; undefined when either is no longer remembered.
   */
  consistency(from: number, to: number): string[] | undefined {
    if (from === 0 || from === to) return from <= to ? [] : undefined;
    const a = this.anchors.get(from);
    const b = this.anchors.get(to);
    if (a === undefined || b === undefined || from > to) return undefined;
    const border = new Map(a.border.map((n) => [`${n.lo}:${n.lo + 2 ** n.h}`, n.node]));
    const peaks = new Map(a.peaks.map((n) => [`${n.lo}:${n.lo + 2 ** n.h}`, n.node]));
    const gap = { missing: false };
    const path = consistencyPath(
      {
        size: to,
        root: (lo, hi) => {
          const key = `${lo}:${hi}`;
          const known = hi <= from ? peaks.get(key) : border.get(key);
          if (known !== undefined) return known;
          if (hi !== to) {
            gap.missing = true; // not completed when remembered: cannot happen, but never guess
            return Buffer.alloc(32);
          }
          return edgeRoot(b.peaks, lo);
        },
      },
      from,
    );
    return gap.missing ? undefined : path.map((n) => n.toString('hex'));
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
    if (n === 0) {
      this.remember(this.base);
      return this.base;
    }
    const peaks = this.foldCapturing(this.pending.copy(n));
    this.pending.drop(n);
    this.base = { size, peaks: peaks.map((p) => p.node.toString('hex')) };
    this.remember(this.base, peaks);
    return this.base;
  }

  /** Fold leaves onto the base, handing each completed border subtree to its anchors. */
  private foldCapturing(leaves: Uint8Array): Node[] {
    const stack = nodesOf(this.base);
    const buf = Buffer.from(leaves.buffer, leaves.byteOffset, leaves.byteLength);
    const watching = this.expected.size > 0;
    for (let at = 0, i = this.base.size; at < buf.length; at += 32, i++) {
      let top: Node = { lo: i, h: 0, node: Buffer.from(buf.subarray(at, at + 32)) };
      if (watching) this.completed(top);
      for (let below = stack.at(-1); below?.h === top.h; below = stack.at(-1)) {
        stack.pop();
        top = { lo: below.lo, h: top.h + 1, node: nodeBytes(below.node, top.node) };
        if (watching) this.completed(top);
      }
      stack.push(top);
    }
    return stack;
  }

  private completed(n: Node): void {
    const key = n.lo * 64 + n.h;
    const waiting = this.expected.get(key);
    if (waiting === undefined) return;
    this.expected.delete(key);
    for (const a of waiting) {
      a.border.push(n);
      this.expect(a, n.lo + 2 ** n.h);
    }
  }

  /** The anchor waits for the border subtree that starts at `start`. */
  private expect(a: Anchor, start: number): void {
    const h = Math.log2(lowbit(start));
    if (h > 52) return;
    const key = start * 64 + h;
    const list = this.expected.get(key);
    if (list === undefined) this.expected.set(key, [a]);
    else list.push(a);
  }

  private remember(state: MerkleState, nodes?: Node[]): void {
    if (!this.rememberSizes || state.size === 0 || this.anchors.has(state.size)) return;
    const a: Anchor = { size: state.size, peaks: nodes ?? nodesOf(state), border: [] };
    this.anchors.set(state.size, a);
    this.expect(a, state.size);
    if (this.anchors.size > MAX_ANCHORS) {
      const oldest = this.anchors.keys().next().value as number;
      this.anchors.delete(oldest);
      // Its expected entries are dropped as they come: an evicted anchor is simply not asked.
    }
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

/** The peaks of a tree state, with where each starts and its height (largest first). */
function nodesOf(state: MerkleState): Node[] {
  const out: Node[] = [];
  let lo = 0;
  let i = 0;
  for (let h = 52; h >= 0; h--) {
    if (Math.floor(state.size / 2 ** h) % 2 === 0) continue;
    out.push({ lo, h, node: Buffer.from(state.peaks[i++] ?? '', 'hex') });
    lo += 2 ** h;
  }
  return out;
}

/** Largest power of two dividing n (n > 0). */
function lowbit(n: number): number {
  let b = 1;
  while (n % (b * 2) === 0) b *= 2;
  return b;
}

/** The root of the tree's right edge from `lo`: its peaks at or after lo, folded right to left. */
function edgeRoot(peaks: readonly Node[], lo: number): Buffer {
  let acc: Buffer | undefined;
  for (let i = peaks.length - 1; i >= 0; i--) {
    const p = peaks[i] as Node;
    if (p.lo < lo) break;
    acc = acc === undefined ? p.node : nodeBytes(p.node, acc);
  }
  return acc ?? Buffer.alloc(32);
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
