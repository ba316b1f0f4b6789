/**
 * Messages between the application's thread (the client) and the sequencer thread (the host).
 *
 * Records travel in batches: one string per batch, fields separated by U+0001 and records by
 * U+0002. Canonical JSON never holds a raw control character (JSON escapes them), so these
 * separators cannot occur inside a field.
 */
import type { MerkleState } from '../../../integrity/merkle.js';
import type { Checkpoint } from '../../../integrity/checkpoint.js';
import type { Durability } from '../../../config/resolve.js';
import type { ChannelState } from '../channel-types.js';

const SEP = '\u0001';
const END = '\u0002';

/** `f`: nobody waits; `a`: acknowledge once sequenced; `d`: acknowledge once durable. */
export type Mode = 'f' | 'a' | 'd';

/** One record of a batch. */
export function encodeRecord(
  channel: number,
  id: number,
  mode: Mode,
  ts: string,
  skew: number,
  pre: string,
  mid: string,
): string {
  return `${channel}${SEP}${id}${SEP}${mode}${SEP}${ts}${SEP}${skew}${SEP}${pre}${SEP}${mid}${END}`;
}

export interface DecodedRecord {
  channel: number;
  id: number;
  mode: Mode;
  ts: string;
  skew: number;
  pre: string;
  mid: string;
}

/** Call `each` for every record of a batch; `rec` is reused between calls. */
export function decodeBatch(data: string, each: (rec: DecodedRecord) => void): void {
  const rec: DecodedRecord = { channel: 0, id: 0, mode: 'f', ts: '', skew: 0, pre: '', mid: '' };
  let at = 0;
  while (at < data.length) {
    const end = data.indexOf(END, at);
    const f1 = data.indexOf(SEP, at);
    const f2 = data.indexOf(SEP, f1 + 1);
    const f3 = data.indexOf(SEP, f2 + 1);
    const f4 = data.indexOf(SEP, f3 + 1);
    const f5 = data.indexOf(SEP, f4 + 1);
    const f6 = data.indexOf(SEP, f5 + 1);
    rec.channel = Number(data.slice(at, f1));
    rec.id = Number(data.slice(f1 + 1, f2));
    rec.mode = data.charAt(f2 + 1) as Mode;
    rec.ts = data.slice(f3 + 1, f4);
    rec.skew = Number(data.slice(f4 + 1, f5));
    rec.pre = data.slice(f5 + 1, f6);
    rec.mid = data.slice(f6 + 1, end);
    each(rec);
    at = end + 1;
  }
}

export interface ChannelInit {
  readonly name: string;
  readonly file: string;
  readonly durability: Durability;
  readonly state: ChannelState;
  readonly merkle: MerkleState;
  /** Records the last checkpoint covers (0 if none). */
  readonly checkpointed: number;
}

/** Everything the sequencer thread starts from (its workerData). */
export interface SequencerInit {
  readonly dir: string;
  readonly logId: string;
  readonly kid: string;
  /** PKCS#8 DER of the signing key. */
  readonly privateKey: Uint8Array;
  readonly checkpointPrev: string;
  readonly latestCheckpoints: Array<[string, Checkpoint]>;
  /** Channels whose last checkpoint is final: sign a reopen checkpoint first. */
  readonly reopen: string[];
  readonly channels: ChannelInit[];
  readonly checkpointIntervalMs: number;
  readonly flushIntervalMs: number;
  readonly maxPendingBytes: number;
  /** [0] batches consumed, [1] synchronous operations done (BigInt64Array). */
  readonly counters: SharedArrayBuffer;
  /** records, bytes, writes, syncs per channel (Float64Array). */
  readonly stats: SharedArrayBuffer;
}

export type ToHost =
  | { readonly t: 'batch'; readonly data: string }
  | { readonly t: 'flush'; readonly id: number }
  | { readonly t: 'close'; readonly id: number }
  | { readonly t: 'flush-sync' }
  | { readonly t: 'close-sync' };

export interface WireError {
  readonly code: string;
  readonly message: string;
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
  | { readonly t: 'done'; readonly id: number; readonly error?: WireError };

/** Index of each counter in `counters`. */
export const CONSUMED = 0;
export const SYNC_DONE = 1;
/** Fields per channel in `stats`. */
export const STATS_FIELDS = 4;
