import { isHex64 } from '../crypto/hash.js';
import { ChainHasher, rawLineHash } from './chain.js';
import { deepCheck, describeMalformed, tryParse } from './record-checks.js';
import type { Checkpoint } from './checkpoint.js';
import type { Damage, DamageKind } from './damage.js';
import { CompactRange } from './merkle.js';
import { olderThanSigned, recordTs, spansPastCrash } from './record-time.js';

/** A tree a witness cosigned: its size and root (hex), and the witness's name. */
export interface Witnessed {
  readonly size: number;
  readonly root: string;
  readonly witness: string;
}

/** The first record past the last checkpoint, and where it is. */
export interface UnsignedRecord {
  readonly seq: number;
  readonly line: number;
  readonly file: string;
  readonly ts: string;
  readonly tsMs: number;
}

// Leaves kept to name the first rewritten record: a second of a busy log is far below this.
const MAX_RECENT = 1_000_000;

/**
 * Checks one channel's records in order, line by line: each record's hash must follow from the
 * previous hash and its own bytes, seq must count up from 1, and at every signed checkpoint's
 * size the chain head and the Merkle root must be the checkpoint's. Stops at the first damage.
 *
 * Fast path: hashing the stored bytes is enough to authenticate them, so a record is only
 * parsed to explain a mismatch, or always with `deep`.
 */
export class ChannelVerifier {
  private readonly hasher = new ChainHasher();
  private readonly merkle = new CompactRange();
  private head: string;
  private seq = 0;
  private nextCheckpoint = 0;
  private failure: Damage | undefined;
  private checkedCheckpoints = 0;
  /** Size of the last checkpoint: records past it are unsigned. */
  private readonly lastSize: number;
  /** A checkpoint said an open could not prove the records from this seq on. */
  private readonly unproven:
    { cp: Checkpoint; first: number; last: number; reason: string } | undefined;
  private firstUnsigned: UnsignedRecord | undefined;
  private unprovenAt: { line: number; file: string } | undefined;
  private readonly witnessed: Witnessed[];
  private nextWitnessed = 0;
  private signedTs: number | undefined;
  // Leaves since the last matched checkpoint, to find the first rewritten record (bounded).
  private recent: Array<{ hash: string; line: number }> = [];
  private recentFrom = 1;
  private recentFile: string;

  constructor(
    private readonly channel: string,
    private file: string,
    genesis: string,
    private readonly checkpoints: readonly Checkpoint[],
    private readonly deep: boolean,
    /** Unsigned records from before this time (ms) must fit a crash's window. */
    private readonly startedMs = Date.now(),
    /** Trees witnesses cosigned (size, root): the log must hold each, with that root. */
    witnessed: ReadonlyArray<Witnessed> = [],
  ) {
    this.witnessed = [...witnessed].sort((a, b) => a.size - b.size);
    this.head = genesis;
    this.recentFile = file;
    this.lastSize = checkpoints[checkpoints.length - 1]?.size ?? 0;
    for (const cp of checkpoints) {
      if (cp.unproven !== undefined && this.unproven === undefined)
        this.unproven = { cp, ...cp.unproven };
    }
  }

  /** The first record past the last checkpoint (to compare with other channels' signed times). */
  get firstUnsignedRecord(): UnsignedRecord | undefined {
    return this.firstUnsigned;
  }

  /** Time (ms) of the record the last checkpoint covers, once reached. */
  get lastSignedTs(): number | undefined {
    return this.signedTs;
  }

  /**
   * The leaves checked since the last checkpoint that matched: from seq `from`, with their
   * lines in `file`. Empty when too many to keep.
   */
  get leavesSinceMatch(): {
    from: number;
    file: string;
    leaves: ReadonlyArray<{ hash: string; line: number }>;
  } {
    return { from: this.recentFrom, file: this.recentFile, leaves: this.recent };
  }

  get records(): number {
    return this.seq;
  }

  /** Chain hash of the last record checked. */
  get chainHead(): string {
    return this.head;
  }

  /** The lines that follow come from this file (damage names it; line numbers restart). */
  setFile(file: string): void {
    this.file = file;
    // Leaves kept across files would name lines of another file: start again.
    this.recent = [];
    this.recentFrom = this.seq + 1;
    this.recentFile = file;
  }

  /**
   * Continue after records that are gone on purpose (a segment deleted by retention): seq,
   * chain and Merkle tree resume from the signed cut. Checkpoints inside the gap cannot be
   * checked against records any more and are passed.
   */
  skipTo(seq: number, head: string, peaks: readonly string[]): void {
    this.recent = [];
    this.recentFrom = seq + 1;
    this.seq = seq;
    this.head = head;
    this.merkle.reset({ size: seq, peaks });
    while ((this.checkpoints[this.nextCheckpoint]?.size ?? Infinity) <= seq)
      this.nextCheckpoint += 1;
  }

  /** Damage found outside the lines themselves (a missing archive, a gap between segments). */
  report(kind: DamageKind, line: number, seq: number, detail: string): Damage {
    this.fail(kind, line, seq, detail);
    return this.failure as Damage;
  }

  get damage(): Damage | undefined {
    return this.failure;
  }

  /** Checkpoints whose size was reached and matched. */
  get matchedCheckpoints(): number {
    return this.checkedCheckpoints;
  }

  /** Feed the next line (without its newline). Returns false once damage is found. */
  line(bytes: Buffer, lineNo: number): boolean {
    if (this.failure !== undefined) return false;
    const expected = this.seq + 1;
    const stored = rawLineHash(bytes);
    if (stored === undefined)
      return this.fail('malformed_record', lineNo, expected, describeMalformed(bytes));
    // Equal to a computed hash: the stored bytes are exactly those the writer hashed.
    if (this.hasher.nextFromLine(this.head, bytes) !== stored) {
      if (!isHex64(stored))
        return this.fail(
          'malformed_record',
          lineNo,
          expected,
          'the hash field is not 64 hex digits',
        );
      return this.explainMismatch(bytes, lineNo, expected);
    }
    if (this.deep) {
      const problem = deepCheck(bytes, this.channel, expected);
      if (problem !== undefined) return this.fail(problem.kind, lineNo, expected, problem.detail);
    }
    this.head = stored;
    this.merkle.append(stored);
    this.seq = expected;
    if (this.recent.length < MAX_RECENT) this.recent.push({ hash: stored, line: lineNo });
    // Where the unproven records start; reported once their checkpoint is reached, unless a
    // more precise damage (a checkpoint they contradict) comes first.
    if (expected === this.unproven?.first) this.unprovenAt = { line: lineNo, file: this.file };
    if (!this.checkWitnessed(lineNo)) return false;
    if (expected > this.lastSize) return this.unsignedRecord(bytes, lineNo, expected);
    return this.checkCheckpoints(lineNo, bytes);
  }

  /**
   * A record no checkpoint covers: only a crash explains it, and a crash leaves unsigned only
   * the records of its last checkpoint interval. A longer span means the checkpoints that
   * covered the older ones were removed.
   */
  private unsignedRecord(bytes: Buffer, lineNo: number, seq: number): boolean {
    const ts = recordTs(bytes);
    if (ts === undefined) return true;
    const first = this.firstUnsigned;
    if (first === undefined) {
      this.firstUnsigned = { seq, line: lineNo, file: this.file, ts: ts.text, tsMs: ts.ms };
      return true;
    }
    // Records written while verify runs are not signed yet in the checkpoints it read.
    if (ts.ms < this.startedMs && spansPastCrash(first.tsMs, ts.ms)) {
      this.failure = this.unsignedAt(
        first,
        `seq ${first.seq} (${first.ts}) to seq ${seq} (${ts.text}) are not covered by any signed checkpoint, though a writer signs every second: the checkpoints that covered them were removed`,
      );
      return false;
    }
    return true;
  }

  /** At each size a witness cosigned, the tree must have the root it cosigned. */
  private checkWitnessed(lineNo: number): boolean {
    while (this.nextWitnessed < this.witnessed.length) {
      const w = this.witnessed[this.nextWitnessed] as Witnessed;
      if (w.size > this.seq) break;
      this.nextWitnessed += 1;
      if (w.size < this.seq) continue; // inside a range retention removed
      if (w.root !== this.merkle.root())
        return this.fail(
          'rollback',
          lineNo,
          this.seq,
          `witness ${w.witness} cosigned this channel's tree of ${w.size} records with another root: the records up to seq ${w.size} are not the ones witnessed (a fork or a rewrite)`,
        );
    }
    return true;
  }

  /** Damage found by comparing with other channels (unsigned records older than signed ones). */
  reportUnsignedOlderThan(signedMs: number, signedWhere: string): Damage | undefined {
    const first = this.firstUnsigned;
    if (this.failure !== undefined || first === undefined) return this.failure;
    if (!olderThanSigned(first.tsMs, signedMs)) return undefined;
    this.failure = this.unsignedAt(
      first,
      `seq ${first.seq} (${first.ts}) is not covered by any signed checkpoint, though records written later (${signedWhere}) are: the checkpoints that covered it were removed`,
    );
    return this.failure;
  }

  private unsignedAt(at: { file: string; line: number; seq: number }, detail: string): Damage {
    return {
      kind: 'unsigned_records',
      channel: this.channel,
      file: at.file,
      line: at.line,
      seq: at.seq,
      detail,
    };
  }

  private checkCheckpoints(lineNo: number, bytes: Buffer): boolean {
    while (this.nextCheckpoint < this.checkpoints.length) {
      const cp = this.checkpoints[this.nextCheckpoint] as Checkpoint;
      if (cp.size > this.seq) break;
      this.nextCheckpoint += 1;
      if (cp.size < this.seq) continue; // size 0, or an already-reported regression
      const root = this.merkle.root();
      if (cp.head !== this.head || cp.root !== root) {
        const what = cp.head !== this.head ? 'chain head' : 'Merkle root';
        return this.fail(
          'checkpoint_mismatch',
          lineNo,
          this.seq,
          `the ${what} after seq ${this.seq} differs from the checkpoint signed at ${cp.ts}: records up to seq ${this.seq} were rewritten`,
        );
      }
      this.checkedCheckpoints += 1;
      const u = this.unproven;
      if (cp === u?.cp) {
        this.failure = this.unsignedAt(
          {
            file: this.unprovenAt?.file ?? this.file,
            line: this.unprovenAt?.line ?? lineNo,
            seq: u.first,
          },
          `an open at ${cp.ts} found seq ${u.first} to ${u.last} past the last signed state and could not prove them (${u.reason}); it signed them only as found`,
        );
        return false;
      }
      this.recent = [];
      this.recentFrom = this.seq + 1;
      this.recentFile = this.file;
      if (cp.size === this.lastSize) this.signedTs = recordTs(bytes)?.ms;
    }
    return true;
  }

  /** The file ended: everything a checkpoint names must have been seen. */
  end(lineNo: number): Damage | undefined {
    if (this.failure !== undefined) return this.failure;
    const witnessed = this.witnessed[this.witnessed.length - 1];
    if (witnessed !== undefined && witnessed.size > this.seq) {
      this.fail(
        'rollback',
        lineNo + 1,
        this.seq + 1,
        `the channel ends at seq ${this.seq} but witness ${witnessed.witness} cosigned a tree of ${witnessed.size} records: the log was rolled back (seq ${this.seq + 1} to ${witnessed.size} are gone)`,
      );
      return this.failure;
    }
    const last = this.checkpoints[this.checkpoints.length - 1];
    if (last !== undefined && last.size > this.seq) {
      this.fail(
        'truncated',
        lineNo + 1,
        this.seq + 1,
        `the file ends at seq ${this.seq} but a checkpoint signed at ${last.ts} covers ${last.size} records: seq ${this.seq + 1} to ${last.size} were removed`,
      );
    } else if (last?.final === true && this.seq > last.size) {
      this.fail(
        'appended_after_close',
        last.size + 1,
        last.size + 1,
        `the writer closed cleanly at seq ${last.size} (${last.ts}); seq ${last.size + 1} to ${this.seq} were added afterwards by something else`,
      );
    }
    return this.failure;
  }

  /** Records after the last checkpoint that was reached. */
  get unsigned(): number {
    const last = this.checkpoints[this.checkpoints.length - 1];
    return this.seq - Math.min(last?.size ?? 0, this.seq);
  }

  private explainMismatch(bytes: Buffer, lineNo: number, expected: number): false {
    const rec = tryParse(bytes);
    if (rec === undefined)
      return this.fail('malformed_record', lineNo, expected, 'the line is not valid JSON');
    if (rec.seq !== expected) {
      const found = typeof rec.seq === 'number' ? rec.seq : NaN;
      if (found > expected) {
        return this.fail(
          'records_missing',
          lineNo,
          expected,
          `found seq ${found} where seq ${expected} was expected: seq ${expected} to ${found - 1} are missing`,
        );
      }
      return this.fail(
        'records_out_of_order',
        lineNo,
        expected,
        `found seq ${String(rec.seq)} where seq ${expected} was expected`,
      );
    }
    if (rec.channel !== this.channel) {
      return this.fail(
        'foreign_record',
        lineNo,
        expected,
        `the record belongs to channel ${JSON.stringify(rec.channel)}`,
      );
    }
    return this.fail(
      'record_altered',
      lineNo,
      expected,
      `the hash of seq ${expected} does not follow from its content and the previous record's hash`,
    );
  }

  private fail(kind: DamageKind, line: number, seq: number, detail: string): false {
    this.failure = { kind, channel: this.channel, file: this.file, line, seq, detail };
    return false;
  }
}
