import { CompactRange } from '../integrity/merkle.js';
import { consistencyPath, rangeRoot, type SubtreeRoots } from '../integrity/merkle-range.js';
import { consistencyProofFromIndex } from '../index/proofs.js';
import { FileFollower } from '../store/file/follow.js';
import type { LogLayout } from '../store/file/layout.js';
import { loadState } from '../store/file/state-file.js';
import type { IndexAccess } from './index-access.js';

// Leaves kept per channel: past this (a witness far behind, a huge burst) the index serves.
const MAX_LEAVES = 4_000_000;
// How often the channel files are read for new leaves: small steps, never one long stall.
const POLL_MS = 250;
const HASH_SUFFIX = Buffer.from(',"hash":"');

/**
 * Consistency proofs for the witness client without building the index. Every node of a
 * proof from size m to n left of m is a peak of the tree at m, and every node right of it a
 * subtree of the records m+1..n, so a channel's peaks at one size plus the chain hashes of the
 * records after it are enough. Those hashes are read as the records are written, by following
 * the channel file across rotations (as the detectors do), from the writer's state file (its
 * peaks at its last checkpoint). Each proof is checked against the signed root before it is
 * given; when that fails, or a witness asks from a size no longer kept (it was down for long),
 * the index gives the proof.
 */
export class WitnessProofs {
  private readonly tails = new Map<string, Tail>();
  private readonly proofs = new Map<string, { key: string; proof: Promise<readonly string[]> }>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly layout: LogLayout,
    private readonly index: IndexAccess,
  ) {
    this.timer = setInterval(() => {
      for (const t of this.tails.values()) t.poll();
    }, POLL_MS);
    this.timer.unref();
  }

  /** A checkpoint of the channel is about to be sent: start following it, if not yet. */
  observe(channel: string): void {
    if (this.tails.has(channel)) return;
    const s = loadState(this.layout, channel);
    if (s === undefined) return;
    const follower = new FileFollower(this.layout.channelFile(channel), s.offset, 16 << 20);
    this.tails.set(channel, new Tail(follower, s.size, s.peaks));
  }

  /** The proof from `from` to `to`; `rootAtTo` is the signed root it must lead to. */
  consistency(
    channel: string,
    from: number,
    to: number,
    rootAtTo: string | undefined,
  ): Promise<readonly string[]> {
    if (from === 0 || from === to) return Promise.resolve([]); // nothing to prove
    // Witnesses at the same size ask the same, at about the same time: computed once.
    const key = `${from}:${to}:${rootAtTo ?? ''}`;
    const known = this.proofs.get(channel);
    if (known?.key === key) return known.proof;
    const proof = this.compute(channel, from, to, rootAtTo);
    this.proofs.set(channel, { key, proof });
    proof.catch(() => this.proofs.delete(channel));
    return proof;
  }

  close(): void {
    clearInterval(this.timer);
    for (const t of this.tails.values()) t.close();
    this.tails.clear();
  }

  private async compute(
    channel: string,
    from: number,
    to: number,
    rootAtTo: string | undefined,
  ): Promise<readonly string[]> {
    const tail = this.tails.get(channel);
    const fast = rootAtTo === undefined ? undefined : tail?.proof(from, to, rootAtTo);
    if (fast !== undefined) return fast;
    if (tail?.broken === true) {
      tail.close();
      this.tails.delete(channel); // started again from the state file at the next round
    }
    await this.index.caughtUp();
    return consistencyProofFromIndex(this.index.db, channel, from, to).hashes;
  }
}

/** A channel followed from a known tree: its peaks at `base`, and the leaves after it. */
class Tail {
  private leaves = Buffer.alloc(32 * 1024);
  private count = 0;
  /** The follower met something that is not a record: proofs come from the index. */
  broken = false;

  constructor(
    private readonly follower: FileFollower,
    private base: number,
    private peaks: readonly string[],
  ) {}

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
        chunk.subarray(hexAt - HASH_SUFFIX.length, hexAt).equals(HASH_SUFFIX);
      if (!ours) {
        this.broken = true;
        return;
      }
      this.push(chunk, hexAt);
      start = nl + 1;
    }
  }

  /** The proof from `from` to `to` when the leaves are here and lead to the signed root. */
  proof(from: number, to: number, rootAtTo: string): readonly string[] | undefined {
    this.poll();
    if (this.broken || from < this.base || to > this.base + this.count) return undefined;
    const range = new CompactRange({ size: this.base, peaks: [...this.peaks] });
    for (let i = this.base; i < from; i++) range.append(this.leaf(i).toString('hex'));
    const tree = new PeaksAndLeaves(from, range.state().peaks, (i) => this.leaf(i));
    for (let i = from; i < to; i++) range.append(this.leaf(i).toString('hex'));
    if (range.root() !== rootAtTo) {
      this.broken = true; // the file is not what was signed: the index (and verify) say more
      return undefined;
    }
    const proof = consistencyPath(tree.upTo(to), from).map((b) => b.toString('hex'));
    // The next round starts where this one ends: keep the tree at `from` (a second witness
    // may still be there) and drop what is before it.
    this.advance(from);
    return proof;
  }

  close(): void {
    this.follower.close();
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
    this.leaves.write(chunk.toString('latin1', hexAt, hexAt + 64), this.count * 32, 'hex');
    this.count += 1;
  }

  /** Move the base to `size`: fold the leaves before it into the peaks, and drop them. */
  private advance(size: number): void {
    if (size <= this.base) return;
    const range = new CompactRange({ size: this.base, peaks: [...this.peaks] });
    for (let i = this.base; i < size; i++) range.append(this.leaf(i).toString('hex'));
    const drop = (size - this.base) * 32;
    this.leaves.copy(this.leaves, 0, drop, this.count * 32);
    this.count -= size - this.base;
    this.base = size;
    this.peaks = range.state().peaks;
  }
}

/** Peaks of the tree at `old`, then the leaves after it: what a consistency proof asks for. */
class PeaksAndLeaves {
  private readonly peakAt = new Map<string, Buffer>();

  constructor(
    private readonly old: number,
    peaks: readonly string[],
    private readonly leaf: (i: number) => Buffer,
  ) {
    let lo = 0;
    let i = 0;
    for (let bit = 52; bit >= 0; bit--) {
      const span = 2 ** bit;
      if (Math.floor(old / span) % 2 === 0) continue;
      const p = peaks[i++];
      if (p !== undefined) this.peakAt.set(`${lo}:${lo + span}`, Buffer.from(p, 'hex'));
      lo += span;
    }
  }

  upTo(size: number): SubtreeRoots {
    return {
      size,
      root: (lo, hi) => {
        if (hi <= this.old) {
          const p = this.peakAt.get(`${lo}:${hi}`);
          if (p === undefined) throw new RangeError(`no peak ${lo}:${hi} of a tree of ${this.old}`);
          return p;
        }
        if (lo < this.old) throw new RangeError(`${lo}:${hi} straddles ${this.old}`);
        return rangeRoot(this.leaf, lo, hi);
      },
    };
  }
}
