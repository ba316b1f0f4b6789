import { LogsError } from '../errors.js';
import {
  checkConsistencyArgs,
  checkInclusionArgs,
  consistencyProofOf,
  inclusionProofOf,
} from '../integrity/block-tree.js';
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
  checkInclusionArgs(seq, size);
  return inclusionProofOf(treeOf(db, channel, size), db.logId, channel, seq);
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
  checkConsistencyArgs(from, to);
  return consistencyProofOf(treeOf(db, channel, to), channel, from);
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
