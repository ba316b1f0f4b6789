import { hash } from 'node:crypto';

/**
 * RFC 9162 proofs over a tree that is not held in memory: the audit paths are built from the
 * roots of its subtrees, asked of a `SubtreeRoots` (the index keeps the leaves in blocks, and
 * the root of each full block). Hashes are 32 raw bytes here; merkle.ts has the hex forms.
 */

/** A tree of `size` leaves that can give the root of any range of them. */
export interface SubtreeRoots {
  readonly size: number;
  /** MTH(D[lo:hi]), the RFC 9162 root of leaves lo (included) to hi (excluded); lo < hi. */
  root(lo: number, hi: number): Buffer;
}

const scratch = Buffer.alloc(65);

/** SHA-256(0x01 || left || right). */
export function nodeBytes(left: Uint8Array, right: Uint8Array): Buffer {
  scratch[0] = 1;
  scratch.set(left, 1);
  scratch.set(right, 33);
  return hash('sha256', scratch, 'buffer');
}

/**
 * Root of a perfect subtree: `leaves` holds a power of two of leaf hashes, 32 bytes each.
 * Folds level by level in one working copy (no allocation per node but the digest).
 */
export function perfectRoot(leaves: Uint8Array): Buffer {
  let n = leaves.length / 32;
  if (!Number.isInteger(n) || n < 1 || (n & (n - 1)) !== 0) {
    throw new RangeError(`a perfect subtree has a power of two of leaves, not ${n}`);
  }
  const level = Buffer.from(leaves);
  scratch[0] = 1;
  while (n > 1) {
    for (let i = 0; i < n / 2; i++) {
      level.copy(scratch, 1, i * 64, i * 64 + 64);
      level.set(hash('sha256', scratch, 'buffer'), i * 32);
    }
    n /= 2;
  }
  return level.subarray(0, 32);
}

/** Largest power of two strictly less than n (n >= 2). */
export function split(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** MTH(D[lo:hi]) by the RFC's recursive definition, from a function giving each leaf hash. */
export function rangeRoot(leaf: (i: number) => Uint8Array, lo: number, hi: number): Buffer {
  if (hi - lo === 1) return Buffer.from(leaf(lo));
  const k = split(hi - lo);
  return nodeBytes(rangeRoot(leaf, lo, lo + k), rangeRoot(leaf, lo + k, hi));
}

/** PATH(index, D[0:size]): the audit path of leaf `index` (0-based), leaf side first. */
export function inclusionPath(tree: SubtreeRoots, index: number): Buffer[] {
  if (!Number.isSafeInteger(index) || index < 0 || index >= tree.size) {
    throw new RangeError(`leaf ${index} is not in a tree of size ${tree.size}`);
  }
  const path: Buffer[] = [];
  // Walk down from the whole tree; the siblings met on the way are the path, root side first.
  let lo = 0;
  let hi = tree.size;
  while (hi - lo > 1) {
    const k = split(hi - lo);
    if (index < lo + k) {
      path.push(tree.root(lo + k, hi));
      hi = lo + k;
    } else {
      path.push(tree.root(lo, lo + k));
      lo += k;
    }
  }
  return path.reverse();
}

/** PROOF(size1, D[0:size]): the consistency proof from the tree's first `size1` leaves. */
export function consistencyPath(tree: SubtreeRoots, size1: number): Buffer[] {
  if (!Number.isSafeInteger(size1) || size1 < 0 || size1 > tree.size) {
    throw new RangeError(`size ${size1} is not within a tree of size ${tree.size}`);
  }
  if (size1 === 0 || size1 === tree.size) return [];
  // SUBPROOF(m, D[lo:hi], b), unrolled: each step keeps the side holding the m-th boundary.
  const path: Buffer[] = [];
  let m = size1;
  let lo = 0;
  let hi = tree.size;
  let complete = true;
  while (m !== hi - lo) {
    const k = split(hi - lo);
    if (m <= k) {
      path.push(tree.root(lo + k, hi));
      hi = lo + k;
    } else {
      path.push(tree.root(lo, lo + k));
      m -= k;
      lo += k;
      complete = false;
    }
  }
  if (!complete) path.push(tree.root(lo, hi));
  return path.reverse();
}
