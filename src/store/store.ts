/**
 * The storage seam: what the pipeline needs of a backend, and nothing of how it keeps records.
 *
 * A backend assigns each record of a channel the next seq, chains it to the one before (the
 * stored line is exactly the bytes hashed), makes it durable, signs checkpoints over the
 * channel's Merkle tree, cuts and seals segments, and can be read back and verified. The file
 * backend (`store/file/`, the embedded default) is one implementation; the conformance suite
 * (`test/store/conformance.ts`) is what any other must pass. Callers reach a backend only
 * through its face (`store/<backend>/index.ts`), and see it only as this interface.
 */
import type { KeyObject } from 'node:crypto';
import type { TokenBook } from '../access/tokens.js';
import type { ChannelKey } from '../crypto/body-cipher.js';
import type { SubjectKeystore } from '../crypto/subjects.js';
import type { LogsError } from '../errors.js';
import type { Checkpoint } from '../integrity/checkpoint.js';
import type { ConsistencyProof, InclusionProof } from '../integrity/proofs.js';
import type { EventInput } from '../event/record.js';
import type { Sealable } from '../pipeline/prepare.js';
import type { VerifyOptions, VerifyReport } from './verify-report.js';

/**
 * How an append is acknowledged: `f` nobody waits (buffered), `a` once sequenced (seq and hash
 * assigned), `d` once durable (synced; a crash after the answer cannot lose it).
 */
export type AppendMode = 'f' | 'a' | 'd';

/** What a caller gets back once its record is stored. */
export interface Ack {
  readonly channel: string;
  readonly seq: number;
  readonly hash: string;
}

/** Counters of one channel since it was opened (for metrics, and to see group commit work). */
export interface ChannelStats {
  records: number;
  bytes: number;
  /** write(2) batches. */
  writes: number;
  /** fdatasync calls. */
  syncs: number;
}

/** A channel as the store opened it. */
export interface StoreChannel {
  readonly name: string;
  /** seq of its last record (0: none yet). */
  readonly seq: number;
  /** Time of its last record (ms since the epoch; 0 when empty): timestamps never go back. */
  readonly lastTsMs: number;
}

/** A cut range of a channel's records: staged, sealed into an archive, or deleted. */
export interface Segment {
  readonly channel: string;
  readonly first: number;
  readonly last: number;
  readonly start: string;
  readonly head: string;
  /** The Merkle tree at `last`. */
  readonly peaks: readonly string[];
  readonly firstTs: string;
  readonly lastTs: string;
  /** Bytes before compression. */
  readonly bytes: number;
  /**
   * `staging`: cut, waiting to be sealed; `sealed`: compressed into `file`; `deleted`: removed
   * by retention (a tombstone stands in for it).
   */
  readonly state: 'staging' | 'sealed' | 'deleted';
  /** The archive (relative to the logs directory) once sealed. */
  readonly file?: string;
  readonly size?: number;
  readonly sha256?: string;
}

/** A sealed segment: its archive, sizes and how long sealing took. */
export interface SealResult {
  readonly channel: string;
  readonly first: number;
  readonly last: number;
  readonly file: string;
  /** Bytes before and after compression. */
  readonly bytes: number;
  readonly size: number;
  readonly durationMs: number;
}

/** What `rotate()` did for one channel. */
export interface RotationResult {
  readonly channel: string;
  /** False when the active file was empty: nothing to rotate. */
  readonly rotated: boolean;
  readonly first?: number;
  readonly last?: number;
  /** The sealed archive; absent if sealing failed (it is retried on the next open). */
  readonly seal?: SealResult;
}

/** What the store did on its own, for the producer to record as events. */
export type StoreNote =
  | {
      readonly kind: 'rotated';
      readonly channel: string;
      readonly first: number;
      readonly last: number;
      readonly reason: string;
      readonly bytes: number;
    }
  | {
      readonly kind: 'sealed';
      readonly seal: SealResult;
      /** Found sealed on open with its staged copy still there: the process that sealed it
       * stopped before its seal was recorded (or just after). */
      readonly recovered?: boolean;
    }
  | {
      readonly kind: 'seal_failed';
      readonly channel: string;
      readonly first: number;
      readonly last: number;
      readonly error: { readonly code: string; readonly message: string };
    };

/** One stored record read back: its seq and the exact line that was hashed (no newline). */
export interface StoredRecord {
  readonly seq: number;
  readonly line: string;
}

/** A person's entry found by id in a keystore held by a database: one of their pseudonyms. */
export interface PersonKey {
  readonly id: string;
  readonly pseudonym: string;
  readonly key: Buffer;
}

/** A stored record naming one of a person's pseudonyms, with what checks its chain hash. */
export interface PersonRecord extends StoredRecord {
  readonly channel: string;
  /** The hash recorded beside the line (it must be the line's own). */
  readonly hash: string;
  /** The chain hash before it, when the store still knows it. */
  readonly prev: string | undefined;
}

/**
 * What GDPR requests ask directly of a backend whose records and keys are in a database
 * (PostgreSQL): the file store has no such face, its query index answers instead.
 */
export interface StorePeople {
  /**
   * Resolves once every erasure committed before the call (by any process) is applied to the
   * keys in memory: a read that puts personal values back waits for it first.
   */
  settled(): Promise<void>;
  /**
   * Learn the keys and ids of these pseudonyms that this process has not met (another process
   * wrote their records): the keystore can then put their values back. Erased ones stay unknown.
   */
  learn(pseudonyms: readonly string[]): Promise<void>;
  /** Every pseudonym (with its key) the keystore holds for these ids: a person may have several. */
  keysOf(ids: readonly string[]): Promise<PersonKey[]>;
  /** The records naming any of these pseudonyms, oldest first (then by channel and seq). */
  records(pseudonyms: readonly string[]): AsyncIterable<PersonRecord>;
  /**
   * The records of `channel` naming these pseudonyms, those of the `except` event types left
   * out: how many, and the time of the newest (ms since the epoch).
   */
  held(
    channel: string,
    pseudonyms: readonly string[],
    except: readonly string[],
  ): Promise<{ records: number; newestMs: number | null }>;
  /**
   * A channel's records of these event types, by seq. An encrypted channel keeps its types
   * out of clear text: then every record of it comes, for the caller to open and filter.
   */
  events(channel: string, types: readonly string[]): AsyncIterable<StoredRecord>;
  /** The log's signing key (an export's manifest is signed with it). */
  signingKey(): KeyObject;
}

/** An event-type pattern: a type as it is, or a glob (`*` any run of characters, `?` one). */
export interface EventPattern {
  readonly text: string;
  readonly glob: boolean;
}

/**
 * The fields a query filters records on, as every backend's index keeps them: a list matches
 * any of its values, values in the stored form (actors and subjects as pseudonyms).
 */
export interface RecordFields {
  readonly channels?: readonly string[];
  readonly events?: readonly EventPattern[];
  readonly outcomes?: readonly string[];
  /** Stored actor ids (pseudonyms for people). */
  readonly actors?: readonly string[];
  /** Subject pseudonyms (`sub`). */
  readonly subjects?: readonly string[];
  readonly requestIds?: readonly string[];
  /** Epoch milliseconds, inclusive. */
  readonly sinceMs?: number;
  /** Epoch milliseconds, exclusive. */
  readonly untilMs?: number;
}

/**
 * Records a query asks a database backend for. Every field but order and limit is optional and
 * they combine (AND); a list matches any of its values (OR). Values are in the stored form
 * (actors and subjects as pseudonyms).
 */
export interface RecordSelection extends RecordFields {
  /** Levels allowed (the caller expands "this level and above"). */
  readonly levels?: readonly string[];
  /** Event types left out. */
  readonly excludeEvents?: readonly EventPattern[];
  /**
   * Full text on the stored message: words (letters and digits), each a `prefix*` or not, and
   * phrases (`"a phrase"`, a list of words in that order); all must match.
   */
  readonly text?: {
    readonly words: ReadonlyArray<{ readonly word: string; readonly prefix: boolean }>;
    readonly phrases: ReadonlyArray<readonly string[]>;
  };
  /** By time, then channel, then seq. */
  readonly order: 'asc' | 'desc';
  readonly limit: number;
  /** Continue after this record in `order` (keyset pagination). */
  readonly after?: { readonly tsMs: number; readonly channel: string; readonly seq: number };
}

/** A record a selection found: its stored line and hash, and what checks its chain hash. */
export interface SelectedRecord extends PersonRecord {
  /** Its time (ms since the epoch), as the order and cursors use it. */
  readonly tsMs: number;
}

/** A span of time cut into buckets: records from sinceMs (inclusive) to untilMs (exclusive). */
export interface ActivitySpan {
  readonly sinceMs: number;
  readonly untilMs: number;
  readonly bucketMs: number;
}

/** Records in one bucket; `bucket` is the time divided by bucketMs, rounded down. */
export interface BucketCount {
  readonly bucket: number;
  readonly records: number;
}

/** What the dashboard shows of a span (the file store's index counts the same). */
export interface ActivityCounts {
  /** Per bucket, channel and level rank (event/levels.ts LEVEL_RANK). */
  readonly byChannelLevel: Array<BucketCount & { channel: string; levelRank: number }>;
  /** `auth.*` events with outcome failure, per bucket. */
  readonly failedSignIns: BucketCount[];
  /** Events with outcome denied, per bucket. */
  readonly denied: BucketCount[];
  /** The `top` most frequent event types. */
  readonly topEvents: Array<{ event: string; count: number }>;
  /**
   * The `top` most frequent sources of the security channel's records, stored form: the
   * actor's id, or without one the subject (`sub`).
   */
  readonly topSecuritySources: Array<{ source: string; count: number }>;
}

/** New records of some channels, as they are written by any process sharing the store. */
export interface RecordFollower {
  /** The records written since the last call (since the follower was made, at first), by seq. */
  poll(): Promise<Array<StoredRecord & { readonly channel: string }>>;
  /** Resolves when there may be something new to poll (or after at most `ms`). */
  wait(ms: number): Promise<void>;
  close(): void;
}

/**
 * What queries, tails and dashboards ask directly of a backend that keeps its records in a
 * database (PostgreSQL): the file store has no such face, its query index answers instead.
 */
export interface StoreRecords {
  /** Records of a selection, in its order, at most `limit`. */
  select(selection: RecordSelection): Promise<SelectedRecord[]>;
  /** One record by channel and seq; undefined when there is none. */
  one(channel: string, seq: number): Promise<SelectedRecord | undefined>;
  /** Counts of a span for the dashboard; the top lists have `top` entries at most. */
  activity(span: ActivitySpan, top: number): Promise<ActivityCounts>;
  /** Follow these channels from their current end. */
  follow(channels: readonly string[]): Promise<RecordFollower>;
  /**
   * The latest signed checkpoint of each channel, by channel name (PostgreSQL:
   * `latestCheckpoints` of signed-logs.ts).
   */
  checkpoints(): Promise<Checkpoint[]>;
  /**
   * The RFC 9162 inclusion proof of record `seq` of `channel` in its tree of `size` records, for
   * sizes up to the last signed checkpoint: its root is that of the checkpoint of the same size
   * (`checkpointAt`), against which, and its signature, an auditor checks it. USAGE for numbers
   * that are not whole from 1, seq > size, an unknown channel or a size past the signed tree;
   * PROOF_UNAVAILABLE when the leaves it needs are not stored (the file index's errors).
   */
  inclusion(channel: string, seq: number, size: number): Promise<InclusionProof>;
  /** The RFC 9162 consistency proof between two signed sizes (from <= to); errors as inclusion. */
  consistency(channel: string, from: number, to: number): Promise<ConsistencyProof>;
  /** The signed checkpoint of `channel` at exactly `size` records, if there is one. */
  checkpointAt(channel: string, size: number): Promise<Checkpoint | undefined>;
}

/** An open store. One writer at a time owns it (the file store holds a lock) until close(). */
export interface Store {
  /** `file`, or the name of another backend. */
  readonly kind: string;
  /** The logs directory: configuration-relative state (policy, indexes) lives there. */
  readonly dir: string;
  readonly logId: string;
  /** The checkpoint signing key (`ed25519:...`). */
  readonly publicKey: string;
  /** The configured channels, in the order `append` numbers them. */
  readonly channels: readonly StoreChannel[];
  /** The subject keystore (people's keys, channel keys), wrapped by the master key. */
  readonly keys: SubjectKeystore;
  /** What the open found and must be recorded (recovery, integrity findings), in order. */
  readonly findings: readonly EventInput[];
  /** The failure that stopped writing, once there is one. */
  readonly failed: LogsError | undefined;
  /** Called with what the store did on its own (rotations, seals). */
  onNote: ((note: StoreNote) => void) | undefined;
  /** GDPR requests' direct access to a database backend; absent for the file store. */
  readonly people?: StorePeople;
  /** Queries' and tails' direct access to a database backend; absent for the file store. */
  readonly records?: StoreRecords;
  /**
   * The service's tokens, when the backend keeps them itself (PostgreSQL: every instance sees
   * the same tokens); absent for the file store (its token file is in the logs directory).
   */
  readonly tokens?: TokenBook;

  /**
   * Append a record to channel number `channel` (its index in `channels`), at time `ts` with
   * `skew` ms of clock correction. With mode `a` or `d`, resolves with its seq and hash once
   * sequenced, or durable; throws at once when the store has failed or is closed. A record
   * whose idempotency key (`record.idem`) the channel stored within the window is not stored
   * again: it is answered with the first one's seq and hash.
   */
  append(
    channel: number,
    record: Sealable,
    ts: string,
    skew: number,
    mode: AppendMode,
  ): Promise<Ack> | undefined;
  /** Write and sync every channel, then sign a checkpoint for each that changed. */
  flush(): Promise<void>;
  /** As flush(), synchronously (exit handlers). */
  flushSync(): void;
  /** Counters per channel since open. */
  stats(): Record<string, ChannelStats>;
  /** Records of an encrypted channel are encrypted under this key from now on. */
  setChannelKey(channel: string, key: ChannelKey): void;
  /** A consistency proof between two tree sizes the writer folded to lately (or null). */
  consistency(channel: string, from: number, to: number): Promise<string[] | null>;

  /** Cut the active records of a channel (or of all, or those due at `dueAt`) into a segment. */
  rotate(request: { channel?: string; dueAt?: string }): Promise<RotationResult[]>;
  /** Seal every cut segment still waiting. */
  seal(): Promise<SealResult[]>;
  /** Sign a legal hold (set or cleared) on a channel; `reason` points to its audit record. */
  hold(channel: string, set: boolean, reason: string): Promise<void>;
  /** Delete a sealed segment's archive, leaving a signed tombstone. */
  tombstone(
    channel: string,
    first: number,
    last: number,
    reason: string,
  ): Promise<{ file: string; size: number }>;
  /** The signed segments of a channel, oldest first. */
  segments(channel: string): readonly Segment[];

  /** A channel's records from `fromSeq` (1 = all) in seq order, as stored. */
  read(channel: string, fromSeq: number): AsyncIterable<StoredRecord>;
  /** Verify what the store holds (read-only, safe beside the writer). */
  verify(options?: Omit<VerifyOptions, 'dir'>): Promise<VerifyReport>;

  /**
   * Write, sync, sign final checkpoints and release the store. `beforeRelease` runs once the
   * last record is durable and before the store is released (the live index's last catch-up).
   */
  close(beforeRelease?: () => Promise<void>): Promise<void>;
  /** As close(), synchronously (process exit). */
  closeSync(): void;
}
