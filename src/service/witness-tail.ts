import { consistencyPath, nodeBytes } from '../integrity/merkle-range.js';
import type { FileFollower } from '../store/file/follow.js';

// Leaves kept per channel: past this (a witness far behind, a huge burst) the index serves.
const MAX_LEAVES = 4_000_000;
const HASH_SUFFIX = Buffer.from(',"hash":"');
// Value of each lower-case hex digit by byte; 255 for any other byte (stored hashes are lower case).
const HEX = new Uint8Array(256).fill(255);
for (let i = 0; i < 16; i++) HEX['0123456789abcdef'.charCodeAt(i)] = i;

/** A tree's peaks (largest first), each with where it starts and its height. */
interface Peak {
  readonly lo: number;
  readonly h: number;
  readonly node: Buffer;
}

/** Where a consistency proof's node comes from. */
type NodeSource =
  { kind: 'peak'; peak: Buffer } | { kind: 'aligned'; key: number } | { kind: 'edge'; lo: number };

/**
 * A channel followed from a known tree: the peaks at one or two sizes (the last proof's from and
 * to: a second witness may still be at the older one), and the leaves after the older one.
 */
export class Tail {
  private leaves = Buffer.alloc(32 * 1024);
  private count = 0;
  /** Size of the first leaf kept; anchors are the trees at sizes from `base` on. */
  private base: number;
  private anchors: Array<{ size: number; peaks: Peak[] }>;
  /** The follower met something that is not a record: proofs come from the index. */
  broken = false;

  constructor(
    private readonly follower: FileFollower,
    size: number,
    peaks: readonly string[],
  ) {
    this.base = size;
    this.anchors = [{ size, peaks: peaksOf(size, peaks) }];
  }

  /** Read what was appended since the last poll. */
  poll(): void {
    if (this.broken) return;
    let chunk: Buffer;
    try {
      chunk = this.follower.pollChunk();
    } catch {
      this.broken = true;
      return;
    }
    let start = 0;
    for (let nl = chunk.indexOf(10); nl !== -1; nl = chunk.indexOf(10, start)) {
      // A stored line ends with `,"hash":"<64 hex>"}`: anything else is not one of ours.
      const hexAt = nl - 66;
      const ours =
        hexAt - HASH_SUFFIX.length >= start &&
        chunk[nl - 1] === 0x7d &&
        chunk[nl - 2] === 0x22 &&
        chunk.compare(HASH_SUFFIX, 0, HASH_SUFFIX.length, hexAt - HASH_SUFFIX.length, hexAt) === 0;
      if (!ours) {
        this.broken = true;
        return;
      }
      this.push(chunk, hexAt);
      start = nl + 1;
    }
  }

  /**
   * The proof from `from` to `to`, when the leaves are here and lead to the signed root. One
   * pass over the new leaves (one node hash each, as the writer's own fold): the proof's nodes
   * right of `from` are subtrees that pass completes, or the tree's right edge at `to`; those
   * left of it are peaks of the tree at `from`.
   */
  proof(from: number, to: number, rootAtTo: string): readonly string[] | undefined {
    this.poll();
    const anchor = this.anchors.find((a) => a.size === from);
    if (this.broken || anchor === undefined || to > this.base + this.count) return undefined;
    // Which nodes the proof needs, and where each comes from.
    const sources = new Map<string, NodeSource>();
    const wanted = new Set<number>();
    consistencyPath(
      {
        size: to,
        root: (lo, hi) => {
          sources.set(`${lo}:${hi}`, this.sourceOf(anchor.peaks, from, to, lo, hi, wanted));
          return EMPTY;
        },
      },
      from,
    );
    // The fold from `from` to `to`, keeping the completed subtrees the proof needs.
    const stack: Peak[] = [...anchor.peaks];
    const captured = new Map<number, Buffer>();
    for (let i = from; i < to; i++) {
      let top: Peak = { lo: i, h: 0, node: Buffer.from(this.leaf(i)) };
      if (wanted.has(i * 64)) captured.set(i * 64, top.node);
      for (
        let below = stack.at(-1);
        below !== undefined && below.h === top.h;
        below = stack.at(-1)
      ) {
        stack.pop();
        top = { lo: below.lo, h: top.h + 1, node: nodeBytes(below.node, top.node) };
        const key = top.lo * 64 + top.h;
        if (top.lo >= from && wanted.has(key)) captured.set(key, top.node);
      }
      stack.push(top);
    }
    if (edgeRoot(stack, 0).toString('hex') !== rootAtTo) {
      this.broken = true; // the file is not what was signed: the index (and verify) say more
      return undefined;
    }
    const proof = consistencyPath(
      {
        size: to,
        root: (lo, hi) => {
          const src = sources.get(`${lo}:${hi}`);
          if (src?.kind === 'peak') return src.peak;
          if (src?.kind === 'aligned') return captured.get(src.key) ?? EMPTY;
          return edgeRoot(stack, src?.lo ?? lo);
        },
      },
      from,
    ).map((b) => b.toString('hex'));
    this.keep(anchor, { size: to, peaks: stack });
    return proof;
  }

  close(): void {
    this.follower.close();
  }

  private sourceOf(
    peaks: readonly Peak[],
    from: number,
    to: number,
    lo: number,
    hi: number,
    wanted: Set<number>,
  ): NodeSource {
    if (hi <= from) {
      const p = peaks.find((x) => x.lo === lo && x.lo + 2 ** x.h === hi);
      if (p === undefined) throw new RangeError(`no peak ${lo}:${hi} of a tree of ${from}`);
      return { kind: 'peak', peak: p.node };
    }
    const n = hi - lo;
    if (lo >= from && (n & (n - 1)) === 0 && lo % n === 0) {
      const key = lo * 64 + Math.log2(n);
      wanted.add(key);
      return { kind: 'aligned', key };
    }
    if (hi !== to) throw new RangeError(`${lo}:${hi} is neither a subtree nor the edge at ${to}`);
    return { kind: 'edge', lo };
  }

  /** Keep the trees at the proof's two sizes, and the leaves after the older. */
  private keep(
    older: { size: number; peaks: Peak[] },
    newer: { size: number; peaks: Peak[] },
  ): void {
    this.anchors = [older, newer];
    const drop = older.size - this.base;
    if (drop > 0) {
      this.leaves.copy(this.leaves, 0, drop * 32, this.count * 32);
      this.count -= drop;
      this.base = older.size;
    }
  }

  private leaf(i: number): Buffer {
    const at = (i - this.base) * 32;
    return this.leaves.subarray(at, at + 32);
  }

  private push(chunk: Buffer, hexAt: number): void {
    if (this.count >= MAX_LEAVES) {
      this.broken = true;
      return;
    }
    if ((this.count + 1) * 32 > this.leaves.length) {
      const bigger = Buffer.alloc(this.leaves.length * 2);
      this.leaves.copy(bigger, 0, 0, this.count * 32);
      this.leaves = bigger;
    }
    // Hex to bytes in place: no string per record (this runs for every record written).
    const out = this.count * 32;
    for (let i = 0; i < 32; i++) {
      const hi = HEX[chunk[hexAt + 2 * i] as number] as number;
      const lo = HEX[chunk[hexAt + 2 * i + 1] as number] as number;
      if ((hi | lo) > 15) {
        this.broken = true;
        return;
      }
      this.leaves[out + i] = (hi << 4) | lo;
    }
    this.count += 1;
  }
}

const EMPTY = Buffer.alloc(32);

/** The peaks of a tree of `size` leaves, from their hex forms (largest first). */
function peaksOf(size: number, peaks: readonly string[]): Peak[] {
  const out: Peak[] = [];
  let lo = 0;
  let i = 0;
  for (let h = 52; h >= 0; h--) {
    if (Math.floor(size / 2 ** h) % 2 === 0) continue;
    out.push({ lo, h, node: Buffer.from(peaks[i++] ?? '', 'hex') });
    lo += 2 ** h;
  }
  return out;
}

/** The root of the tree's right edge from `lo` (the peaks at or after it, folded right to left). */
function edgeRoot(stack: readonly Peak[], lo: number): Buffer {
  let acc: Buffer | undefined;
  for (let i = stack.length - 1; i >= 0; i--) {
    const p = stack[i] as Peak;
    if (p.lo < lo) break;
    acc = acc === undefined ? p.node : nodeBytes(p.node, acc);
  }
  return acc ?? EMPTY;
}
