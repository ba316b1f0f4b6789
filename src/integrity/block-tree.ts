/**
 * RFC 9162 proofs over a channel's leaves stored in blocks (each a run of `blockSize` chain
 * hashes, with the root of each full block): the file store's index and the PostgreSQL store
 * keep them so, and answer proofs with the same code from here. Only where the blocks come
 * from differs.
 */
import { LogsError } from '../errors.js';
import { chainGenesis } from './chain.js';
import { consistencyPath, inclusionPath, nodeBytes, split } from './merkle-range.js';
import type { SubtreeRoots } from './merkle-range.js';
import type { ConsistencyProof, InclusionProof } from './proofs.js';

/** A tree of stored leaves: any leaf, and the root of any range. */
export abstract class BlockTree implements SubtreeRoots {
  private readonly known = new Map<string, Buffer>();

  constructor(
    readonly size: number,
    private readonly blockSize: number,
  ) {}

  /** The hash of leaf i (0-based): the chain hash of record i + 1. */
  abstract leaf(i: number): Buffer;

  /** The stored root of full block `b`, when there is one. */
  protected abstract blockRoot(b: number): Buffer | undefined;

  root(lo: number, hi: number): Buffer {
    const n = hi - lo;
    if (n === 1) return this.leaf(lo);
    if (n === this.blockSize && lo % this.blockSize === 0) {
      const r = this.blockRoot(lo / this.blockSize);
      if (r !== undefined) return r;
    }
    const key = `${lo}:${hi}`;
    let r = this.known.get(key);
    if (r === undefined) {
      const k = split(n);
      r = nodeBytes(this.root(lo, lo + k), this.root(lo + k, hi));
      // Keep only large subtrees: small ones are cheap again, and would fill the map.
      if (n > this.blockSize) this.known.set(key, r);
    }
    return r;
  }
}

/** USAGE unless seq and size are whole numbers from 1 with seq <= size (they come from URLs). */
export function checkInclusionArgs(seq: number, size: number): void {
  wholeNumber('seq', seq);
  wholeNumber('size', size);
  if (seq > size)
    throw new LogsError('USAGE', `seq ${seq} is not in a tree of size ${size}: seq <= size`);
}

/** USAGE unless from and to are whole numbers from 1 with from <= to. */
export function checkConsistencyArgs(from: number, to: number): void {
  wholeNumber('from', from);
  wholeNumber('to', to);
  if (from > to) throw new LogsError('USAGE', `from ${from} is after to ${to}: from <= to`);
}

/** The inclusion proof of record `seq` in `tree` (its size is the tree's), with its root. */
export function inclusionProofOf(
  tree: BlockTree,
  logId: string,
  channel: string,
  seq: number,
): InclusionProof {
  const index = seq - 1;
  const prev = index === 0 ? chainGenesis(logId, channel) : hex(tree.leaf(index - 1));
  return {
    channel,
    seq,
    leaf_index: index,
    tree_size: tree.size,
    leaf_hash: hex(tree.leaf(index)),
    prev_hash: prev,
    hashes: inclusionPath(tree, index).map(hex),
    root: hex(tree.root(0, tree.size)),
  };
}

/** The consistency proof from the first `from` leaves of `tree` to all of it, both roots. */
export function consistencyProofOf(
  tree: BlockTree,
  channel: string,
  from: number,
): ConsistencyProof {
  return {
    channel,
    first: from,
    second: tree.size,
    hashes: consistencyPath(tree, from).map(hex),
    first_root: hex(tree.root(0, from)),
    second_root: hex(tree.root(0, tree.size)),
  };
}

function wholeNumber(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 1)
    throw new LogsError('USAGE', `${name}: expected a whole number from 1`);
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}
