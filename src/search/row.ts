import { isSealedRecord, openBody, type ChannelKeyring } from '../crypto/body-cipher.js';
import { LEVEL_RANK } from '../event/levels.js';
import type { IndexRow } from './types.js';
import { SEQ_LIMIT } from './schema.js';

// Bounds on what a line may put into the index. The writer never produces more (event types
// are at most 128 characters, request ids 128), but the files may have been edited.
const MAX_REF = 1024;

/**
 * The index row of one stored line, or undefined when the line is not a record of this channel
 * (it does not parse, or a field has the wrong type). Parse defensively: the line comes from a
 * file anyone with disk access may have edited; verify reports it, the index only skips it.
 *
 * A record of an encrypted channel is opened with `ring`; `locked` when there is no key for it
 * here. Its message is not indexed: the index would keep a clear copy of what the channel
 * encrypts (its event type, outcome, request id and pseudonyms are, to find it).
 */
export function lineToRow(
  bytes: Buffer,
  channel: string,
  lineOffset: number,
  ring?: ChannelKeyring,
): IndexRow | undefined | LockedRow {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  let r = value as Record<string, unknown>;
  let sealed = false;
  if (isSealedRecord(r)) {
    const opened = openBody(r, ring);
    if (!opened.ok) {
      if (opened.why === 'damaged') return undefined;
      // Its readable place in the chain, for a catch-up that resumes at it.
      const { seq, hash } = r;
      if (typeof seq !== 'number' || typeof hash !== 'string') return undefined;
      return { locked: true, seq, hash: Buffer.from(hash, 'hex') };
    }
    r = opened.record;
    sealed = true;
  }
  const { seq, ts, level, event, hash } = r;
  if (r.channel !== channel) return undefined;
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1 || seq >= SEQ_LIMIT) {
    return undefined;
  }
  if (typeof level !== 'string' || !Object.hasOwn(LEVEL_RANK, level)) return undefined;
  if (typeof ts !== 'string' || typeof event !== 'string' || event.length > MAX_REF) {
    return undefined;
  }
  const tsMs = Date.parse(ts);
  if (!Number.isFinite(tsMs) || typeof hash !== 'string' || hash.length !== 64) return undefined;
  const hashBytes = Buffer.from(hash, 'hex');
  if (hashBytes.length !== 32) return undefined;
  const actorRef = ref(idOf(r.actor));
  const targetRef = ref(targetOf(r.target));
  const sub = ref(r.sub);
  const outcome = ref(r.outcome);
  const requestId = ref(r.request_id);
  if (
    actorRef === null ||
    targetRef === null ||
    sub === null ||
    outcome === null ||
    requestId === null
  ) {
    return undefined;
  }
  return {
    seq,
    tsMs,
    levelRank: LEVEL_RANK[level as keyof typeof LEVEL_RANK],
    event,
    outcome: outcome ?? undefined,
    sub: sub ?? undefined,
    requestId: requestId ?? undefined,
    actorRef: actorRef ?? undefined,
    targetRef: targetRef ?? undefined,
    lineOffset,
    hash: hashBytes,
    msg: !sealed && typeof r.msg === 'string' ? r.msg : undefined,
  };
}

/** A record of an encrypted channel there is no key for: only where it is in the chain. */
export interface LockedRow {
  readonly locked: true;
  readonly seq: number;
  readonly hash: Buffer;
}

/** A string field: undefined when absent, null when present but unusable. */
function ref(v: unknown): string | undefined | null {
  if (v === undefined) return undefined;
  return typeof v === 'string' && v.length <= MAX_REF ? v : null;
}

function idOf(party: unknown): unknown {
  if (typeof party !== 'object' || party === null) return party === undefined ? undefined : null;
  const id = (party as { id?: unknown }).id;
  return typeof id === 'number' ? String(id) : id;
}

/** `type:id` of a stored target (its id is a pseudonym when the target is a person). */
function targetOf(target: unknown): unknown {
  const id = idOf(target);
  if (typeof id !== 'string') return id;
  const type = (target as { type?: unknown }).type;
  return typeof type === 'string' ? `${type}:${id}` : id;
}

/** Rows packed for a worker thread's message: numbers and hashes in typed arrays, strings in one. */
export interface PackedRows {
  readonly count: number;
  /** seq, tsMs, lineOffset, levelRank per row. */
  readonly numbers: Float64Array;
  /** 32 bytes per row. */
  readonly hashes: Uint8Array;
  /** Per row, the dictionary number of each REF_FIELDS value, -1 when absent. */
  readonly refs: Int32Array;
  /** Strings added to the dictionary by this batch, numbered on from the previous ones. */
  readonly newRefs: readonly string[];
  /** The dictionary was cleared before this batch (it is bounded). */
  readonly resetRefs: boolean;
  /** Per row, the length of each TEXT_FIELDS value, -1 when absent. */
  readonly lengths: Int32Array;
  /** The TEXT_FIELDS values, concatenated. */
  readonly text: string;
}

// Fields that repeat from record to record go through a dictionary: each string crosses the
// thread boundary once, and arrives as the same string object every time, whose hash V8 keeps
// (the main thread's lookups of refs ids become cheap). The others are concatenated.
const REF_FIELDS = ['event', 'outcome', 'sub', 'actorRef', 'targetRef'] as const;
const TEXT_FIELDS = ['requestId', 'msg'] as const;
const NR = REF_FIELDS.length;
const NT = TEXT_FIELDS.length;
const DICTIONARY_MAX = 100_000;

/** Packs batches of rows on the worker side (one per scan: it keeps the dictionary). */
export class RowPacker {
  private readonly dictionary = new Map<string, number>();
  private reset = false;

  pack(rows: readonly IndexRow[]): PackedRows {
    const count = rows.length;
    const numbers = new Float64Array(count * 4);
    const hashes = new Uint8Array(count * 32);
    const refs = new Int32Array(count * NR);
    const lengths = new Int32Array(count * NT);
    const newRefs: string[] = [];
    const parts: string[] = [];
    if (this.dictionary.size > DICTIONARY_MAX) {
      this.dictionary.clear();
      this.reset = true;
    }
    for (let i = 0; i < count; i++) {
      const r = rows[i] as IndexRow;
      numbers[i * 4] = r.seq;
      numbers[i * 4 + 1] = r.tsMs;
      numbers[i * 4 + 2] = r.lineOffset;
      numbers[i * 4 + 3] = r.levelRank;
      hashes.set(r.hash, i * 32);
      for (let j = 0; j < NR; j++) {
        const v = r[REF_FIELDS[j] as (typeof REF_FIELDS)[number]];
        let n = -1;
        if (v !== undefined) {
          const known = this.dictionary.get(v);
          if (known === undefined) {
            n = this.dictionary.size;
            this.dictionary.set(v, n);
            newRefs.push(v);
          } else {
            n = known;
          }
        }
        refs[i * NR + j] = n;
      }
      for (let j = 0; j < NT; j++) {
        const v = r[TEXT_FIELDS[j] as (typeof TEXT_FIELDS)[number]];
        lengths[i * NT + j] = v === undefined ? -1 : v.length;
        if (v !== undefined) parts.push(v);
      }
    }
    const resetRefs = this.reset;
    this.reset = false;
    return { count, numbers, hashes, refs, newRefs, resetRefs, lengths, text: parts.join('') };
  }
}

/** The other side of RowPacker (one per scan). */
export class RowUnpacker {
  private strings: string[] = [];

  unpack(p: PackedRows): IndexRow[] {
    if (p.resetRefs) this.strings = [];
    for (const s of p.newRefs) this.strings.push(s);
    const strings = this.strings;
    const ref = (k: number): string | undefined => {
      const n = p.refs[k] ?? -1;
      return n < 0 ? undefined : strings[n];
    };
    const hashes = Buffer.from(p.hashes.buffer, p.hashes.byteOffset, p.hashes.byteLength);
    let at = 0;
    const text = (k: number): string | undefined => {
      const len = p.lengths[k] ?? -1;
      if (len < 0) return undefined;
      at += len;
      return p.text.slice(at - len, at);
    };
    const rows: IndexRow[] = new Array<IndexRow>(p.count);
    for (let i = 0; i < p.count; i++) {
      const k = i * NR;
      rows[i] = {
        seq: p.numbers[i * 4] ?? 0,
        tsMs: p.numbers[i * 4 + 1] ?? 0,
        lineOffset: p.numbers[i * 4 + 2] ?? 0,
        levelRank: p.numbers[i * 4 + 3] ?? 0,
        hash: hashes.subarray(i * 32, i * 32 + 32),
        event: ref(k) ?? '',
        outcome: ref(k + 1),
        sub: ref(k + 2),
        actorRef: ref(k + 3),
        targetRef: ref(k + 4),
        requestId: text(i * NT),
        msg: text(i * NT + 1),
      };
    }
    return rows;
  }
}
