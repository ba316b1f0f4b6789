/**
 * Messages between the application's thread (the client) and the sequencer thread (the host).
 *
 * Records travel in batches: one string per batch, fields separated by U+0001 and records by
 * U+0002. Canonical JSON never holds a raw control character (JSON escapes them), so these
 * separators cannot occur inside a field.
 */
import { LogsError, asLogsError } from '../../../errors.js';
import type { Checkpoint, Unproven } from '../../../integrity/checkpoint.js';
import type { Sealable } from '../../../pipeline/prepare.js';
import type { PiiPlan } from '../../../crypto/pii-cipher.js';
import type { ChannelKey, ChannelKeyList } from '../../../crypto/body-cipher.js';
import type { ChannelWriterOptions } from '../channel-types.js';
import type { SegmentEntry } from '../../../integrity/segment.js';
import type { AppendMode, StoreNote } from '../../store.js';

const SEP = '\u0001';
const END = '\u0002';

/** `f`: nobody waits; `a`: acknowledge once sequenced; `d`: acknowledge once durable. */
export type Mode = AppendMode;

const PLAN = '\u0003';
const PLANS = '\u0004';
// Before the idempotency key, after the personal data (only when there is a key).
const IDEM = '\u0005';

/** One record of a batch. Keys of personal data travel as hex; they never leave the process. */
export function encodeRecord(
  channel: number,
  id: number,
  mode: Mode,
  ts: string,
  skew: number,
  p: Sealable,
): string {
  let last = '';
  if (p.pii !== undefined) {
    last = p.pii
      .map((x) => `${x.pseudonym}${PLAN}${x.key.toString('hex')}${PLAN}${x.plain}`)
      .join(PLANS);
  }
  if (p.idem !== undefined) last += `${IDEM}${p.idem}`;
  return `${channel}${SEP}${id}${SEP}${mode}${SEP}${ts}${SEP}${skew}${SEP}${p.pre}${SEP}${p.post}${SEP}${p.mid}${SEP}${last}${END}`;
}

export interface DecodedRecord {
  channel: number;
  id: number;
  mode: Mode;
  ts: string;
  skew: number;
  event: Sealable;
}

/** Call `each` for every record of a batch. */
export function decodeBatch(data: string, each: (rec: DecodedRecord) => void): void {
  let at = 0;
  while (at < data.length) {
    // Nine fields: walked with indexOf, the slices of the batch string are all that is made.
    let next = data.indexOf(SEP, at);
    const channel = Number(data.slice(at, next));
    next = data.indexOf(SEP, (at = next + 1));
    const id = Number(data.slice(at, next));
    next = data.indexOf(SEP, (at = next + 1));
    const mode = data[at] as Mode;
    next = data.indexOf(SEP, (at = next + 1));
    const ts = data.slice(at, next);
    next = data.indexOf(SEP, (at = next + 1));
    const skew = Number(data.slice(at, next));
    next = data.indexOf(SEP, (at = next + 1));
    const pre = data.slice(at, next);
    next = data.indexOf(SEP, (at = next + 1));
    const post = data.slice(at, next);
    next = data.indexOf(SEP, (at = next + 1));
    const mid = data.slice(at, next);
    const end = data.indexOf(END, (at = next + 1));
    const event: { pre: string; post: string; mid: string; pii?: PiiPlan[]; idem?: string } = {
      pre,
      post,
      mid,
    };
    if (end > at) decodeLast(data.slice(at, end), event);
    each({ channel, id, mode, ts, skew, event });
    at = end + 1;
  }
}

/** The last field: personal data, then the idempotency key when there is one. */
function decodeLast(text: string, event: { pii?: PiiPlan[]; idem?: string }): void {
  const k = text.indexOf(IDEM);
  if (k === -1) {
    event.pii = decodePlans(text);
    return;
  }
  if (k > 0) event.pii = decodePlans(text.slice(0, k));
  event.idem = text.slice(k + 1);
}

function decodePlans(text: string): PiiPlan[] {
  return text.split(PLANS).map((x) => {
    const [pseudonym = '', key = '', plain = ''] = x.split(PLAN);
    return { pseudonym, key: Buffer.from(key, 'hex'), plain };
  });
}

/** A channel as the sequencer thread opens it: its writer's own settings, plus where it stands. */
export interface ChannelInit extends Pick<
  ChannelWriterOptions,
  | 'channel'
  | 'file'
  | 'durability'
  | 'state'
  | 'merkle'
  | 'base'
  | 'firstTs'
  | 'lastTs'
  | 'rotate'
  | 'bodyKey'
> {
  /** Records the last checkpoint covers (0 if none). */
  readonly checkpointed: number;
  /**
   * Open found records past the last signed state: sign them at once, plainly when they were
   * proven to chain from the last signed head, with `unproven` when they could not be.
   */
  readonly adopt?: { readonly unproven?: Unproven };
}

/** Everything the sequencer thread starts from (its workerData). */
export interface SequencerInit {
  readonly dir: string;
  readonly logId: string;
  readonly kid: string;
  /** PKCS#8 DER of the signing key. */
  readonly privateKey: Uint8Array;
  readonly checkpointPrev: string;
  /** `integrity.log_name`: checkpoints are signed notes of origin `<log name>/<channel>`. */
  readonly logName?: string;
  /** Witnesses are configured: the writers keep what consistency proofs need. */
  readonly witnessed?: boolean;
  /** The segment log as read at open, and the hash its next entry links to. */
  readonly segments: SegmentEntry[];
  readonly segmentsPrev: string;
  /** gzip level for archives. */
  readonly archiveLevel: number;
  readonly latestCheckpoints: Array<[string, Checkpoint]>;
  /** Channels whose last checkpoint is final: sign a reopen checkpoint first. */
  readonly reopen: string[];
  readonly channels: ChannelInit[];
  readonly checkpointIntervalMs: number;
  readonly flushIntervalMs: number;
  readonly maxPendingBytes: number;
  /** [0] batches consumed, [1] synchronous operations done, [2] keystore commits (BigInt64Array). */
  readonly counters: SharedArrayBuffer;
  /** The keystore's WAL file, synced before records whose keys it may hold. */
  readonly keysWal: string | undefined;
  /** records, bytes, writes, syncs per channel (Float64Array). */
  readonly stats: SharedArrayBuffer;
  /** How long, and how many, idempotency keys are remembered (config `idempotency`). */
  readonly idempotency: { readonly windowMs: number; readonly maxKeys: number };
  /**
   * The channel keys, when a channel is encrypted: the keys of the records in the window are
   * read back from their bodies when the thread starts.
   */
  readonly channelKeys?: ChannelKeyList;
}

export type ToHost =
  | { readonly t: 'batch'; readonly data: string }
  | { readonly t: 'flush'; readonly id: number }
  | { readonly t: 'close'; readonly id: number }
  | { readonly t: 'op'; readonly id: number; readonly op: LifecycleOp }
  | { readonly t: 'key'; readonly channel: string; readonly key: ChannelKey }
  | { readonly t: 'flush-sync' }
  | { readonly t: 'close-sync' };

export interface WireError {
  readonly code: string;
  readonly message: string;
}

/** An error as it crosses threads: code and message (never a stack, never record content). */
export function wire(err: unknown): WireError {
  const e = asLogsError(err);
  return { code: e.code, message: e.message };
}

/** Back on the application's thread. */
export function unwire(e: WireError): LogsError {
  return new LogsError(e.code as LogsError['code'], e.message);
}

export type FromHost =
  | { readonly t: 'ready' }
  | {
      readonly t: 'acks';
      readonly ids: number[];
      readonly seqs: number[];
      readonly hashes: string[];
    }
  | { readonly t: 'reject'; readonly ids: number[]; readonly error: WireError }
  | { readonly t: 'error'; readonly error: WireError }
  | { readonly t: 'note'; readonly note: LifecycleNote }
  | {
      readonly t: 'done';
      readonly id: number;
      readonly error?: WireError;
      readonly result?: unknown;
    };

/** Lifecycle work the sequencer thread does on request (it holds the files and the key). */
export type LifecycleOp =
  | {
      readonly kind: 'rotate';
      readonly channel?: string;
      /** Only the channels due at this time (a new UTC day, or the size limit). */
      readonly dueAt?: string;
    }
  | { readonly kind: 'seal' }
  | {
      readonly kind: 'hold';
      readonly channel: string;
      readonly set: boolean;
      readonly reason: string;
    }
  | {
      readonly kind: 'tombstone';
      readonly channel: string;
      readonly first: number;
      readonly last: number;
      readonly reason: string;
    }
  | {
      /** A consistency proof between two sizes the writer folded to lately (or null). */
      readonly kind: 'consistency';
      readonly channel: string;
      readonly from: number;
      readonly to: number;
    };

/** What the sequencer thread did on its own, for the application's thread to record as events. */
export type LifecycleNote = StoreNote;

/** Index of each counter in `counters`. */
export const CONSUMED = 0;
export const SYNC_DONE = 1;
/** Commits of new people to the keystore: the writer syncs its WAL before records that follow. */
export const KEYS_COMMITTED = 2;
/** Fields per channel in `stats`. */
export const STATS_FIELDS = 4;
