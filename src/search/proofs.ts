import { LogsError } from '../errors.js';
import { chainGenesis } from '../integrity/chain.js';
import { consistencyPath, inclusionPath } from '../integrity/merkle-range.js';
import type { ConsistencyProof, InclusionProof } from '../integrity/proofs.js';
import type { IndexDb } from './index-db.js';
import { IndexedTree, leafCount } from './leaves.js';

export type { ConsistencyProof, InclusionProof } from '../integrity/proofs.js';

/**
 * Proofs served from the index's `leaf_blocks`, which hold every record's chain hash (its
 * Merkle leaf) even after GDPR erasure or retention removed its row. The trees are the ones the
 * writer signs: a proof's root equals the root of any signed checkpoint of the same size.
 * Read only: the caller catches the index up first if it wants the latest records.
 */

/**
 * The audit path of record `seq` of `channel` in the channel's tree of `size` records (RFC
 * 9162). Reads about size / 1,024 block roots and a block or two of leaves.
 *
 * USAGE when an argument is not a whole number from 1, seq > size, the channel is unknown to
 * the index or size is past what it indexed; PROOF_UNAVAILABLE when the index holds the
 * records but not their leaves (see `leafCount`).
 */
export function inclusionProofFromIndex(
  db: IndexDb,
  channel: string,
  seq: number,
  size: number,
): InclusionProof {
  wholeNumber('seq', seq);
  wholeNumber('size', size);
  if (seq > size)
    throw new LogsError('USAGE', `seq ${seq} is not in a tree of size ${size}: seq <= size`);
  const tree = treeOf(db, channel, size);
  const index = seq - 1;
  const prev = index === 0 ? chainGenesis(db.logId, channel) : hex(tree.leaf(index - 1));
  const hashes = inclusionPath(tree, index).map(hex);
  return {
    channel,
    seq,
    leaf_index: index,
    tree_size: size,
    leaf_hash: hex(tree.leaf(index)),
    prev_hash: prev,
    hashes,
    root: hex(tree.root(0, size)),
  };
}

/**
 * The consistency proof from the channel's tree of `from` records to its tree of `to` (RFC
 * 9162), with both roots. Same errors as inclusionProofFromIndex; from <= to.
 */
export function consistencyProofFromIndex(
  db: IndexDb,
  channel: string,
  from: number,
  to: number,
): ConsistencyProof {
  wholeNumber('from', from);
  wholeNumber('to', to);
  if (from > to) throw new LogsError('USAGE', `from ${from} is after to ${to}: from <= to`);
  const tree = treeOf(db, channel, to);
  const hashes = consistencyPath(tree, from).map(hex);
  return {
    channel,
    first: from,
    second: to,
    hashes,
    first_root: hex(tree.root(0, from)),
    second_root: hex(tree.root(0, to)),
  };
}

/** The channel's tree at `size`, once the index is known to hold its leaves. */
function treeOf(db: IndexDb, channel: string, size: number): IndexedTree {
  const state = db.state(channel);
  if (state === undefined)
    throw new LogsError('USAGE', `the index has no channel ${JSON.stringify(channel)}`);
  if (size > state.indexedSeq) {
    throw new LogsError(
      'USAGE',
      `${channel} is indexed up to seq ${state.indexedSeq}, not ${size}: ask for a smaller size, or catch the index up first`,
      { details: { channel, indexed: state.indexedSeq } },
    );
  }
  const leaves = leafCount(db.connection, state.channelNo);
  if (size > leaves) {
    throw new LogsError(
      'PROOF_UNAVAILABLE',
      `the index holds the Merkle leaves of ${channel} up to seq ${leaves} only: the records after it were indexed after a gap (archives deleted by retention before the index was built, or records missing from the log; see dihya-logs verify)`,
      { details: { channel, leaves } },
    );
  }
  return new IndexedTree(db.connection, state.channelNo, size);
}

function wholeNumber(name: string, value: number): void {
  // Parse defensively: these come straight from a query string.
  if (!Number.isSafeInteger(value) || value < 1)
    throw new LogsError('USAGE', `${name}: expected a whole number from 1`);
}

function hex(b: Uint8Array): string {
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('hex');
}
