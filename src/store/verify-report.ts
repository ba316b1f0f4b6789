import type { Damage, Warning } from '../integrity/damage.js';

/** What `verify` is asked, and what it answers: the same for every backend. */

export interface VerifyOptions {
  readonly dir: string;
  /** Only these channels (the checkpoint log is always checked). */
  readonly channels?: readonly string[];
  /** The pinned public key (`ed25519:...`); without it the key in log.json is trusted. */
  readonly publicKey?: string;
  /** Also parse every record and check its fields and canonical form. */
  readonly deep?: boolean;
  /**
   * Leaves kept apart from the log files (the index's copy of each tree), to name the first
   * rewritten record when records disagree with a checkpoint: given a channel, a size and the
   * signed root, a reader of leaves by seq when the copy produces that root, else undefined.
   */
  readonly committedLeaves?: (
    channel: string,
    size: number,
    root: string,
  ) => ((seq: number) => string | undefined) | undefined;
  /**
   * Trees the witnesses cosigned (see witness/witnessed.ts): each channel must hold each of
   * them, with its root; a shorter or different log was rolled back or forked (`rollback`).
   */
  readonly witnessed?: ReadonlyArray<{
    readonly channel: string;
    readonly size: number;
    readonly root: string;
    readonly witness: string;
  }>;
  /** Warnings found while gathering them (an unreachable witness). */
  readonly witnessWarnings?: readonly Warning[];
  /** Called after each chunk read: bytes read so far, of `totalBytes`. */
  readonly onProgress?: (p: { bytes: number; totalBytes: number; records: number }) => void;
}

export interface ChannelReport {
  readonly channel: string;
  readonly file: string;
  readonly records: number;
  /** Checkpoints reached and matched. */
  readonly checkpoints: number;
  /** Records after the last checkpoint (chained, not yet signed). */
  readonly unsigned: number;
  readonly ok: boolean;
  readonly damage?: Damage;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly dir: string;
  readonly logId: string | undefined;
  readonly publicKey: string | undefined;
  readonly pinned: boolean;
  readonly channels: ChannelReport[];
  readonly checkpoints: { readonly count: number; readonly ok: boolean; readonly damage?: Damage };
  /** Every damage found: the first per channel, and the checkpoint log's. */
  readonly damage: Damage[];
  readonly warnings: Warning[];
  readonly records: number;
  readonly bytes: number;
  readonly durationMs: number;
}
