import { consistencyProofFromIndex } from '../search/index.js';
import type { LogCore } from '../log/core.js';
import type { IndexAccess } from './index-access.js';

/**
 * Consistency proofs for the witness client. The writer gives them first: its fold of each
 * channel's tree remembers the sizes it reached lately (every write batch, so every signed
 * checkpoint) with their peaks and the subtrees completed after them, which are every node a
 * proof between two such sizes needs, so a proof costs no hashing at all. When a size is no
 * longer remembered (a witness back after a long absence, a restart) the index gives it.
 */
export class WitnessProofs {
  private readonly proofs = new Map<string, { key: string; proof: Promise<readonly string[]> }>();

  constructor(
    private readonly logs: LogCore,
    private readonly index: IndexAccess,
  ) {}

  /** The proof from `from` to `to` (hex hashes). */
  consistency(channel: string, from: number, to: number): Promise<readonly string[]> {
    if (from === 0 || from === to) return Promise.resolve([]); // nothing to prove
    // Witnesses at the same size ask the same, at about the same time: asked once.
    const key = `${from}:${to}`;
    const known = this.proofs.get(channel);
    if (known?.key === key) return known.proof;
    const proof = this.compute(channel, from, to);
    this.proofs.set(channel, { key, proof });
    proof.catch(() => this.proofs.delete(channel));
    return proof;
  }

  private async compute(channel: string, from: number, to: number): Promise<readonly string[]> {
    const fromWriter = await this.logs.consistencyProof(channel, from, to).catch(() => null);
    if (fromWriter !== null) return fromWriter;
    await this.index.caughtUp();
    return consistencyProofFromIndex(this.index.db, channel, from, to).hashes;
  }
}
