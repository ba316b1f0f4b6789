import type { EventInput } from '../event/record.js';
import type { Checkpoint } from '../integrity/checkpoint.js';
import type { Cosignature } from '../store/file/index.js';
import type { Tree } from './client-quorum.js';
import type { WitnessFetch } from './client-request.js';

/** Where cosignatures are kept (`.integrity/cosignatures.log`). */
export interface CosignatureStore {
  read(): readonly Cosignature[];
  /** Durable when it returns. */
  append(list: readonly Cosignature[]): void;
}

/** What the client is given; everything outside it comes through here. */
export interface WitnessClientDeps {
  /** The configured witnesses: base URL and verifier key (cosignature type 0x04). */
  readonly witnesses: ReadonlyArray<{ readonly url: string; readonly key: string }>;
  /** How many witnesses make a checkpoint witnessed (status only). */
  readonly quorum: number;
  /** Milliseconds between rounds, and the first backoff step. */
  readonly intervalMs: number;
  /** The newest signed checkpoint of each channel. */
  readonly latest: () => readonly Checkpoint[];
  /** RFC 6962 consistency proof (hex hashes) of a channel's tree from `from` to `to`; may throw. */
  readonly consistency: (channel: string, from: number, to: number) => Promise<readonly string[]>;
  readonly store: CosignatureStore;
  /** Records a security event; a rejection is ignored. */
  readonly onEvent: (event: EventInput) => Promise<void>;
  /** Default: the global fetch. */
  readonly fetch?: WitnessFetch;
  /** Milliseconds since the epoch. Default Date.now. */
  readonly clock?: () => number;
  /** Per request, default 10 s. */
  readonly timeoutMs?: number;
  /** The longest backoff, default 5 min. */
  readonly maxBackoffMs?: number;
  /** Jitter source in [0, 1). Default Math.random. */
  readonly random?: () => number;
}

/** Per channel: what the witnesses cosigned (for the service's integrity page). */
export interface WitnessChannelStatus {
  readonly channel: string;
  readonly origin: string;
  /** Size of the channel's newest checkpoint. */
  readonly size: number;
  /** The newest tree cosigned by at least `quorum` witnesses; size 0 when none. */
  readonly witnessed: Tree;
  readonly witnesses: ReadonlyArray<{
    readonly name: string;
    readonly url: string;
    /** The newest size of this channel whose cosignature by this witness is kept (0: none). */
    readonly size: number;
    readonly reachable: boolean;
    /** Why the last request failed, when it did. */
    readonly error?: string;
  }>;
}
