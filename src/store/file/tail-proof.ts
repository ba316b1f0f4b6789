import { ChainHasher, lineHash } from '../../integrity/chain.js';
import type { Unproven } from '../../integrity/checkpoint.js';
import { CompactRange, type MerkleState } from '../../integrity/merkle.js';
import { lineEndingAt, scanLines } from './lines.js';
import { recordTs, spansPastCrash } from '../../integrity/record-time.js';
import { loadState, type SavedState } from './state-file.js';
import type { LogLayout } from './layout.js';

/** The last record signed for a channel: a checkpoint's, a segment cut's, or hash_0. */
export interface Anchor {
  readonly seq: number;
  readonly head: string;
  /** Where it was signed, for messages: `the checkpoint of <ts>`, `the cut of <ts>`... */
  readonly what: string;
  /** Time of the signed record, when known (ms). */
  readonly tsMs?: number;
}

/** What open learned about the records of the active file past the last signed record. */
export interface TailProof {
  /** Records past the anchor. */
  readonly unsigned: number;
  /** The first of them: seq and time. */
  readonly first?: { readonly seq: number; readonly ts: string; readonly tsMs: number };
  /** Time of the anchor record (ms), when the active file holds it. */
  readonly anchorTsMs?: number;
  /** Set when the records could not be proven to continue the last signed state. */
  readonly unproven?: Unproven;
}

export interface Folded {
  readonly merkle: MerkleState;
  readonly proof: TailProof;
}

/**
 * The Merkle state at the active file's end, and the proof of its unsigned records: they must
 * continue the chain from the anchor, whose record (when in the active file) must carry the
 * signed head, and they must span no more time than a crash can explain. Nothing is thrown for
 * damage: the writer goes on, and the damage is said in the checkpoint that signs the records
 * (`unproven`), in a security event, and by verify.
 */
export function foldActiveFile(
  layout: LogLayout,
  file: string,
  channel: string,
  base: { readonly seq: number; readonly head: string; readonly merkle: MerkleState },
  anchor: Anchor,
  last: { readonly seq: number; readonly hash: string } | undefined,
  end: number,
): Folded {
  const seq = last?.seq ?? base.seq;
  const fast = fromSavedState(layout, file, channel, base, anchor, end);
  const range = new CompactRange(fast?.merkle ?? base.merkle);
  const hasher = new ChainHasher();
  let prev = fast?.head ?? base.head;
  let count = fast?.merkle.size ?? base.seq;
  // The state file's offset was checked to hold the anchor record: the scan starts after it.
  let anchorFound =
    fast !== undefined ? true : anchor.seq === base.seq ? anchor.head === base.head : undefined;
  let anchorTsMs: number | undefined = fast?.anchorTsMs;
  let first: TailProof['first'];
  let breakAt: number | undefined;
  let spanBreak: { seq: number; ts: string } | undefined;
  scanLines(
    file,
    ({ bytes }) => {
      const stored = lineHash(bytes);
      if (stored === undefined) return false; // recovery cut unreadable lines already
      const at = count + 1;
      if (at > anchor.seq) {
        if (breakAt === undefined && hasher.nextFromLine(prev, bytes) !== stored) breakAt = at;
        const ts = recordTs(bytes);
        if (first === undefined) {
          if (ts !== undefined) first = { seq: at, ts: ts.text, tsMs: ts.ms };
        } else if (
          spanBreak === undefined &&
          ts !== undefined &&
          spansPastCrash(first.tsMs, ts.ms)
        ) {
          spanBreak = { seq: at, ts: ts.text };
        }
      } else if (at === anchor.seq) {
        anchorFound = stored === anchor.head;
        anchorTsMs = recordTs(bytes)?.ms;
      }
      range.append(stored);
      prev = stored;
      count = at;
      return true;
    },
    { start: fast?.offset ?? 0 },
  );
  const unsigned = Math.max(0, seq - Math.max(anchor.seq, base.seq));
  let unproven: Unproven | undefined;
  if (anchor.seq > seq) {
    // The file is shorter than what was signed: reported as behind its checkpoint.
    unproven = undefined;
  } else if (anchorFound !== true) {
    unproven = {
      first: base.seq + 1,
      last: seq,
      reason: `the record at seq ${anchor.seq} does not carry the chain hash ${anchor.what} signed: the records were rewritten`,
    };
  } else if (breakAt !== undefined) {
    unproven = {
      first: breakAt,
      last: seq,
      reason: `seq ${breakAt} does not chain from the record before it`,
    };
  } else if (spanBreak !== undefined && first !== undefined) {
    unproven = {
      first: first.seq,
      last: seq,
      reason: `records from ${first.ts} to ${spanBreak.ts} were never signed, though a writer signs every second: the checkpoints that covered them were removed`,
    };
  }
  return {
    merkle: range.state(),
    proof: {
      unsigned,
      ...(first === undefined ? {} : { first }),
      ...(anchorTsMs === undefined ? {} : { anchorTsMs }),
      ...(unproven === undefined ? {} : { unproven }),
    },
  };
}

/**
 * The Merkle state at the anchor from the channel's state file, trusted only when the record
 * just before the saved offset really is the anchor's: seq and stored hash.
 */
function fromSavedState(
  layout: LogLayout,
  file: string,
  channel: string,
  base: { readonly seq: number },
  anchor: Anchor,
  end: number,
):
  | { merkle: MerkleState; head: string; offset: number; anchorTsMs: number | undefined }
  | undefined {
  if (anchor.seq <= base.seq) return undefined;
  const saved: SavedState | undefined = loadState(layout, channel);
  if (saved?.size !== anchor.seq || saved.head !== anchor.head || saved.offset > end)
    return undefined;
  const line = lineEndingAt(file, saved.offset, MAX_RECORD);
  if (line === undefined || lineHash(line) !== anchor.head) return undefined;
  const ts = recordTs(line);
  if (recordSeq(line) !== anchor.seq) return undefined;
  return {
    merkle: { size: saved.size, peaks: saved.peaks },
    head: saved.head,
    offset: saved.offset,
    anchorTsMs: ts?.ms,
  };
}

const MAX_RECORD = 1024 * 1024;

/** A record's `seq` (one line, parsed: a nested `seq` in `target` must not be taken for it). */
function recordSeq(line: Buffer): number | undefined {
  try {
    const r = JSON.parse(line.toString('utf8')) as { seq?: unknown };
    return Number.isSafeInteger(r.seq) ? (r.seq as number) : undefined;
  } catch {
    return undefined;
  }
}
