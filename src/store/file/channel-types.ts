/** The values a channel's writer exchanges with the rest of the program. */
import type { LogsError } from '../../errors.js';
import type { ChannelKey } from '../../crypto/body-cipher.js';
import type { MerkleState } from '../../integrity/merkle.js';
import type { RotationReason } from '../../integrity/segment.js';
import type { Durability } from '../../config/resolve.js';
import type { ChannelKeys } from './idempotency.js';

/** Where a channel stands: enough to resume it or to checkpoint it. */
export interface ChannelState {
  /** seq of the last record (0 when empty). */
  readonly seq: number;
  /** Chain hash of the last record (hash_0 when empty). */
  readonly head: string;
  /** File size after the last record. */
  readonly offset: number;
}

/** What a channel's writer is opened with (see channel-writer.ts). */
export interface ChannelWriterOptions {
  readonly channel: string;
  readonly file: string;
  readonly durability: Durability;
  /** Keep what witnesses' consistency proofs need (see MerkleTracker). Default false. */
  readonly rememberSizes?: boolean;
  readonly state: ChannelState;
  /** The Merkle tree at `state.seq`. */
  readonly merkle: MerkleState;
  /** Where the active file starts: the last record of the previous segment (0 and hash_0 if none). */
  readonly base: { readonly seq: number; readonly head: string };
  /** Times of the active file's first and last records (undefined when it is empty). */
  readonly firstTs?: string;
  readonly lastTs?: string;
  /** Rotate at this size, and at the first record of a new UTC day when `daily`. */
  readonly rotate: { readonly maxBytes: number; readonly daily: boolean };
  /** Encrypted channel: each record's body is sealed under this key (see body-cipher.ts). */
  readonly bodyKey?: ChannelKey;
  /** Binds each record's encrypted personal data to this log. */
  readonly logId: string;
  /** Buffered: longest time a record waits in memory before it is written. */
  readonly flushIntervalMs: number;
  /** Bytes waiting in memory beyond which they are written at once (bounded memory). */
  readonly maxPendingBytes: number;
  /**
   * Runs before each sync of records: a promise when something they depend on (new people's
   * keys) must be made durable first, which rejects if it cannot. `beforeSyncSync` is the same,
   * blocking, for exit handlers.
   */
  readonly beforeSync?: () => Promise<void> | undefined;
  readonly beforeSyncSync?: () => void;
  /** A failure no caller is waiting for (buffered records lost, a failed sync). Never throws. */
  readonly onError: (err: LogsError) => void;
  /** The idempotency keys the store remembers (absent: records with a key are not compared). */
  readonly idempotency?: ChannelKeys;
}

/** A segment closed by rotation: the active file's records, now set aside. */
export interface Cut {
  readonly channel: string;
  readonly first: number;
  readonly last: number;
  readonly start: string;
  readonly head: string;
  readonly peaks: readonly string[];
  readonly first_ts: string;
  readonly last_ts: string;
  readonly bytes: number;
  readonly reason: RotationReason;
}
