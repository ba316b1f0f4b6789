import type { KeyObject } from 'node:crypto';
import type { ChannelKeyring } from '../crypto/body-cipher.js';
import { LogsError } from '../errors.js';
import { hitAt, inclusionProofFromIndex, type IndexDb } from '../search/index.js';
import { parseCheckpoint, type Checkpoint } from '../integrity/checkpoint.js';
import {
  checkpointNote,
  checkpointNoteText,
  checkpointNoteValid,
  logVerifierKey,
} from '../integrity/checkpoint-note.js';
import {
  parseSignatureLine,
  parseVerifierKey,
  verifyCosignature,
  type NoteVerifier,
} from '../integrity/note/index.js';
import { makeReceipt, verifyReceipt } from '../integrity/receipt.js';
import {
  readCosignatures,
  readSegmentBook,
  scanLines,
  type Cosignature,
  type LogLayout,
} from '../store/file/index.js';
import { RecordReader } from './read.js';

/**
 * Receipts (docs/receipts.md) for records of a logs directory: the part of `dihya-logs proof`
 * that the GDPR export and erasure share. Read only: the caller catches the index up first
 * (after a flush, when it just wrote the record), so that a signed checkpoint covers it.
 */

export interface ReceiptBuilderOptions {
  readonly layout: LogLayout;
  /** The index, caught up by the caller. */
  readonly db: IndexDb;
  /** The log's public key (checked against the pinned one by the caller). */
  readonly publicKey: KeyObject;
  /** The configured witnesses' verifier keys: only their valid cosignatures are included. */
  readonly witnessKeys: readonly string[];
  /** Cosignatures wanted; a checkpoint meeting it is preferred, none is required. */
  readonly quorum: number;
  /** To read the line of a record of an encrypted channel (`withRecord`). */
  readonly channelKeys?: ChannelKeyring;
}

/** Why a record has no receipt, for callers that list the records they could not prove. */
export type UnprovenReason = 'not-indexed' | 'not-checkpointed' | 'no-leaves' | 'not-stored';

/** A receipt and what anchors it. */
export interface BuiltReceipt {
  /** The c2sp.org/tlog-proof text. */
  readonly text: string;
  readonly channel: string;
  readonly seq: number;
  /** The size of the checkpoint's tree. */
  readonly treeSize: number;
  /** Distinct witnesses whose cosignatures it carries. */
  readonly cosignatures: number;
}

/** A signed checkpoint that can anchor a receipt, with the cosignature lines it would carry. */
interface Candidate {
  readonly checkpoint: Checkpoint;
  /** Its place in the checkpoint log: later is newer. */
  readonly order: number;
  readonly lines: string[];
  /** Distinct witnesses among `lines`. */
  readonly count: number;
}

/**
 * Makes receipts, many per channel at the cost of one scan of the checkpoint log per channel:
 * an export proves every record of a person with it.
 */
export class ReceiptBuilder {
  private readonly witnesses: NoteVerifier[];
  private readonly stored: Map<string, Cosignature[]>;
  private readonly candidates = new Map<string, Candidate[]>();
  private readonly noteChecked = new Set<Checkpoint>();
  private reader: RecordReader | undefined;

  constructor(private readonly options: ReceiptBuilderOptions) {
    this.witnesses = options.witnessKeys.map((k) => parseVerifierKey(k));
    this.stored = new Map();
    for (const c of readCosignatures(options.layout)) {
      const key = `${c.origin}\n${c.size}\n${c.root}`;
      this.stored.set(key, [...(this.stored.get(key) ?? []), c]);
    }
  }

  /**
   * The receipt of record `seq` of `channel`, checked before it is returned. Errors: USAGE
   * (`details.reason`: `not-indexed` for a channel or seq the index does not hold,
   * `not-checkpointed` when no signed checkpoint note covers it yet), PROOF_UNAVAILABLE
   * (`no-leaves`: the index lacks the leaves; `not-stored`: `withRecord` and the line is gone),
   * INTEGRITY_STATE when the files contradict each other.
   */
  async build(
    channel: string,
    seq: number,
    opts: { readonly withRecord?: boolean } = {},
  ): Promise<BuiltReceipt> {
    const { db, publicKey } = this.options;
    const state = db.state(channel);
    if (state === undefined)
      throw new LogsError('USAGE', `the log has no channel ${JSON.stringify(channel)}`, {
        details: { reason: 'not-indexed' },
      });
    if (seq > state.indexedSeq)
      throw new LogsError(
        'USAGE',
        `${channel} has ${state.indexedSeq} indexed record(s): seq ${seq} is past them (an encrypted channel is indexed only with the master key)`,
        { details: { reason: 'not-indexed' } },
      );
    const chosen = this.choose(channel, seq, state.indexedSeq);
    const cp = chosen.checkpoint;
    if (!this.noteChecked.has(cp)) {
      if (!checkpointNoteValid(cp, publicKey))
        throw new LogsError(
          'INTEGRITY_STATE',
          `the note of the checkpoint of ${channel} at ${cp.size} is not signed by the log's key: run verify`,
        );
      this.noteChecked.add(cp);
    }
    let proof;
    try {
      proof = inclusionProofFromIndex(db, channel, seq, cp.size);
    } catch (err) {
      if (err instanceof LogsError && err.code === 'PROOF_UNAVAILABLE')
        throw new LogsError(err.code, err.message, { details: { reason: 'no-leaves' } });
      throw err;
    }
    const line = opts.withRecord === true ? await this.storedLine(channel, seq) : undefined;
    const origin = cp.origin as string;
    const text = makeReceipt({
      proof,
      note: checkpointNote(cp) as string,
      cosignatures: chosen.lines,
      logVkey: logVerifierKey(origin, publicKey),
      ...(line === undefined ? {} : { line }),
    });
    // Never hand out a receipt that does not verify: the index or a file contradicts the log.
    const check = verifyReceipt(text, {
      logKey: publicKey,
      origin,
      witnessKeys: this.options.witnessKeys,
      quorum: 0,
    });
    if (!check.ok)
      throw new LogsError('INTEGRITY_STATE', `the receipt does not verify (${check.reason ?? ''})`);
    return { text, channel, seq, treeSize: cp.size, cosignatures: chosen.count };
  }

  /** Prefer checkpoints meeting the quorum, then the most cosignatures, then the newest. */
  private choose(channel: string, seq: number, indexed: number): Candidate {
    let all = this.candidates.get(channel);
    if (all === undefined) {
      all = this.scan(channel, indexed);
      this.candidates.set(channel, all);
    }
    const covering = all.filter((c) => c.checkpoint.size >= seq);
    const quorum = this.options.quorum;
    const meeting = covering.filter((c) => c.count >= quorum);
    const pool = meeting.length > 0 ? meeting : covering;
    const best = pool.reduce<Candidate | undefined>((a, c) => {
      if (a === undefined) return c;
      if (meeting.length > 0 && c.count !== a.count) return c.count > a.count ? c : a;
      return c.order > a.order ? c : a;
    }, undefined);
    if (best === undefined)
      throw new LogsError(
        'USAGE',
        `no signed checkpoint note of ${channel} covers seq ${seq} yet (one is signed within a second of writing; checkpoints older than notes have none)`,
        { details: { reason: 'not-checkpointed' } },
      );
    return best;
  }

  /**
   * The checkpoints of the channel with a note whose tree is indexed: those with stored
   * cosignatures, and the newest. With witnesses configured only their valid cosignatures are
   * kept; without, every line stored. Cheap per checkpoint (a channel may have millions): only
   * cosignatures are verified here, the chosen checkpoint's own note when it is used.
   */
  private scan(channel: string, indexed: number): Candidate[] {
    const { layout, db } = this.options;
    const needle = Buffer.from(`"channel":${JSON.stringify(channel)}`);
    const out: Candidate[] = [];
    // Without cosignatures, the newest is the one to use; the largest too, in case a later
    // checkpoint is of a smaller tree (a restored copy: verify's business, not a reason to fail).
    let newest: Candidate | undefined;
    let largest: Candidate | undefined;
    let order = 0;
    scanLines(layout.checkpointsFile, ({ bytes }) => {
      order += 1;
      if (!bytes.includes(needle)) return;
      let cp: Checkpoint;
      try {
        cp = parseCheckpoint(bytes.toString('utf8'));
      } catch {
        return; // verify's business
      }
      if (cp.log_id !== db.logId || cp.channel !== channel || cp.origin === undefined) return;
      if (cp.size < 1 || cp.size > indexed) return;
      const cosigned = this.stored.get(`${cp.origin}\n${cp.size}\n${cp.root}`);
      if (cosigned === undefined) {
        newest = { checkpoint: cp, order, lines: [], count: 0 };
        if (largest === undefined || cp.size >= largest.checkpoint.size) largest = newest;
        return;
      }
      const text = checkpointNoteText(cp.origin, cp.size, cp.root);
      const lines = new Map<string, string>();
      for (const c of cosigned) {
        const name = cosignerOf(c.line, text, this.witnesses);
        if (name !== undefined && !lines.has(name)) lines.set(name, c.line);
      }
      out.push({ checkpoint: cp, order, lines: [...lines.values()], count: lines.size });
    });
    if (largest !== undefined && largest !== newest) out.push(largest);
    if (newest !== undefined) out.push(newest);
    return out;
  }

  /** The record's line as stored, read back from its segment. */
  private async storedLine(channel: string, seq: number): Promise<string> {
    const { layout, db, channelKeys } = this.options;
    const hit = hitAt(db, channel, seq);
    this.reader ??= new RecordReader(
      layout,
      db.logId,
      readSegmentBook(layout, db.logId),
      channelKeys,
    );
    const [read] = hit === undefined ? [] : await this.reader.read([hit]);
    if (read?.line === undefined)
      throw new LogsError(
        'PROOF_UNAVAILABLE',
        `${channel} #${seq} is no longer stored (deleted by retention or erasure): make the receipt without --with-record`,
        { details: { reason: 'not-stored' } },
      );
    return read.line;
  }
}

/** The reason a build failed, when it is one a caller lists rather than fails on. */
export function unprovenReason(err: unknown): UnprovenReason | undefined {
  if (!(err instanceof LogsError) || (err.code !== 'USAGE' && err.code !== 'PROOF_UNAVAILABLE'))
    return undefined;
  const reason = err.details?.reason;
  return reason === 'not-indexed' ||
    reason === 'not-checkpointed' ||
    reason === 'no-leaves' ||
    reason === 'not-stored'
    ? reason
    : undefined;
}

/** The witness a stored line is from, when it counts: valid for a configured key, or any without. */
function cosignerOf(
  line: string,
  text: string,
  witnesses: readonly NoteVerifier[],
): string | undefined {
  try {
    const sig = parseSignatureLine(line);
    if (witnesses.length === 0) return sig.name;
    const v = witnesses.find((w) => w.name === sig.name && w.keyId === sig.keyId);
    if (v === undefined) return undefined;
    verifyCosignature(v, text, line);
    return v.name;
  } catch {
    return undefined;
  }
}
