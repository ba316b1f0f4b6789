import { hash } from 'node:crypto';
import { sha256Hex } from '../crypto/hash.js';

/**
 * RFC 9162 (RFC 6962) Merkle tree hashing over hex leaf hashes:
 * leaf = SHA-256(0x00 || entry), node = SHA-256(0x01 || left || right).
 */

const nodeScratch = Buffer.alloc(65);

export function leafHash(entry: Uint8Array): string {
  const buf = Buffer.allocUnsafe(entry.length + 1);
  buf[0] = 0;
  buf.set(entry, 1);
  return sha256Hex(buf);
}

export function nodeHash(left: string, right: string): string {
  nodeScratch[0] = 1;
  nodeScratch.write(left, 1, 32, 'hex');
  nodeScratch.write(right, 33, 32, 'hex');
  return hash('sha256', nodeScratch, 'hex');
}

/** The root of the empty tree: SHA-256 of nothing. */
export const EMPTY_ROOT = sha256Hex('');

/** What it takes to resume a tree: its size and the roots of its perfect subtrees, largest first. */
export interface MerkleState {
  readonly size: number;
  readonly peaks: readonly string[];
}

/**
 * An append-only Merkle tree kept as its "compact range": one root per perfect subtree, O(log n)
 * memory. Appending is amortized one node hash; the root folds the peaks right to left.
 */
export class CompactRange {
  private peaks: string[];
  private count: number;

  constructor(state: MerkleState = { size: 0, peaks: [] }) {
    this.peaks = [];
    this.count = 0;
    this.reset(state);
  }

  /** Go back to (or jump to) a saved state. */
  reset(state: MerkleState): void {
    if (
      !Number.isSafeInteger(state.size) ||
      state.size < 0 ||
      state.peaks.length !== popcount(state.size)
    ) {
      throw new RangeError(
        `a tree of size ${state.size} has ${popcount(state.size)} peaks, not ${state.peaks.length}`,
      );
    }
    this.peaks = [...state.peaks];
    this.count = state.size;
  }

  get size(): number {
    return this.count;
  }

  append(leaf: string): void {
    let node = leaf;
    // Each trailing 1 bit of the old size is a peak the new leaf completes.
    for (let n = this.count; (n & 1) === 1; n = Math.floor(n / 2)) {
      node = nodeHash(this.peaks.pop() as string, node);
    }
    this.peaks.push(node);
    this.count += 1;
  }

  root(): string {
    if (this.peaks.length === 0) return EMPTY_ROOT;
    let acc = this.peaks[this.peaks.length - 1] as string;
    for (let i = this.peaks.length - 2; i >= 0; i--) acc = nodeHash(this.peaks[i] as string, acc);
    return acc;
  }

  state(): MerkleState {
    return { size: this.count, peaks: [...this.peaks] };
  }
}

function popcount(n: number): number {
  let c = 0;
  for (let v = n; v > 0; v = Math.floor(v / 2)) c += v & 1;
  return c;
}

/** Largest power of two strictly less than n (n >= 2). */
function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[n]) over leaf hashes, by the RFC's recursive definition. */
export function rootOf(leaves: readonly string[]): string {
  if (leaves.length === 0) return EMPTY_ROOT;
  if (leaves.length === 1) return leaves[0] as string;
  const k = split(leaves.length);
  return nodeHash(rootOf(leaves.slice(0, k)), rootOf(leaves.slice(k)));
}

/** PATH(m, D[n]): the audit path of leaf `index` (0-based). */
export function inclusionProof(leaves: readonly string[], index: number): string[] {
  if (!Number.isSafeInteger(index) || index < 0 || index >= leaves.length) {
    throw new RangeError(`leaf ${index} is not in a tree of size ${leaves.length}`);
  }
  if (leaves.length === 1) return [];
  const k = split(leaves.length);
  return index < k
    ? [...inclusionProof(leaves.slice(0, k), index), rootOf(leaves.slice(k))]
    : [...inclusionProof(leaves.slice(k), index - k), rootOf(leaves.slice(0, k))];
}

/** PROOF(m, D[n]): the consistency proof from the tree of size m to the tree of all leaves. */
export function consistencyProof(leaves: readonly string[], size1: number): string[] {
  if (!Number.isSafeInteger(size1) || size1 < 0 || size1 > leaves.length) {
    throw new RangeError(`size ${size1} is not within a tree of size ${leaves.length}`);
  }
  if (size1 === 0 || size1 === leaves.length) return [];
  return subproof(size1, leaves, true);
}

function subproof(m: number, leaves: readonly string[], complete: boolean): string[] {
  const n = leaves.length;
  if (m === n) return complete ? [] : [rootOf(leaves)];
  const k = split(n);
  return m <= k
    ? [...subproof(m, leaves.slice(0, k), complete), rootOf(leaves.slice(k))]
    : [...subproof(m - k, leaves.slice(k), false), rootOf(leaves.slice(0, k))];
}

/**
 * RFC 9162 section 2.1.3.2. All inputs may come from an attacker: sizes and indices are
 * checked before use, and a malformed proof is simply false.
 */
export function verifyInclusion(
  leaf: string,
  index: number,
  size: number,
  proof: readonly string[],
  root: string,
): boolean {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size)
    return false;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of proof) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && r === root;
}

/** RFC 9162 section 2.1.4.2. */
export function verifyConsistency(
  size1: number,
  size2: number,
  root1: string,
  root2: string,
  proof: readonly string[],
): boolean {
  if (!Number.isSafeInteger(size1) || !Number.isSafeInteger(size2) || size1 < 0 || size1 > size2)
    return false;
  if (size1 === size2) return proof.length === 0 && root1 === root2;
  if (size1 === 0) return proof.length === 0;
  if (proof.length === 0) return false;
  const path = isPowerOfTwo(size1) ? [root1, ...proof] : [...proof];
  let fn = size1 - 1;
  let sn = size2 - 1;
  while (fn % 2 === 1) {
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  let fr = path[0] as string;
  let sr = fr;
  for (const c of path.slice(1)) {
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      while (fn % 2 === 0 && fn !== 0) {
        fn /= 2;
        sn = Math.floor(sn / 2);
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return fr === root1 && sr === root2 && sn === 0;
}

function isPowerOfTwo(n: number): boolean {
  return n > 0 && (n & (n - 1)) === 0;
}
