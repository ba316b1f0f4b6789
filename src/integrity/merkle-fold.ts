import { CompactRange, type MerkleState } from './merkle.js';

/** A request to extend a tree: its state, and leaf hashes as 32 raw bytes each. */
export interface FoldRequest {
  readonly id: number;
  readonly base: MerkleState;
  readonly leaves: Uint8Array;
}

export interface FoldReply {
  readonly id: number;
  readonly state: MerkleState;
}

/** Append the leaves (32 bytes each) to a tree in the given state; returns the new state. */
export function fold(base: MerkleState, leaves: Uint8Array): MerkleState {
  const range = new CompactRange(base);
  const buf = Buffer.from(leaves.buffer, leaves.byteOffset, leaves.byteLength);
  for (let at = 0; at < buf.length; at += 32) range.append(buf.toString('hex', at, at + 32));
  return range.state();
}
