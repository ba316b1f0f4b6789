import type { KeyObject } from 'node:crypto';
import { sha256Hex } from '../crypto/hash.js';
import type { Damage } from './damage.js';
import {
  parseSegmentEntry,
  segmentGenesis,
  segmentSignatureValid,
  type SegmentEntry,
} from './segment.js';

/**
 * Checks the segment log line by line, as the checkpoint log is checked: each line parses,
 * belongs to this log, links to the line before, carries the trusted key id and a valid
 * signature. Entries from the first bad line on are not trusted.
 */
export class SegmentLogVerifier {
  private prev: string;
  readonly entries: SegmentEntry[] = [];
  private failure: Damage | undefined;

  constructor(
    private readonly logId: string,
    private readonly kid: string,
    private readonly publicKey: KeyObject,
    private readonly file: string,
  ) {
    this.prev = segmentGenesis(logId);
  }

  get damage(): Damage | undefined {
    return this.failure;
  }

  line(bytes: Buffer, lineNo: number): boolean {
    if (this.failure !== undefined) return false;
    let e: SegmentEntry;
    try {
      e = parseSegmentEntry(bytes.toString('utf8'));
    } catch (err) {
      return this.fail(lineNo, (err as Error).message);
    }
    if (e.log_id !== this.logId) return this.fail(lineNo, `the entry belongs to log ${e.log_id}`);
    if (e.prev !== this.prev)
      return this.fail(
        lineNo,
        'the entry does not link to the one before it: an entry was removed, inserted, reordered or altered',
      );
    if (e.kid !== this.kid)
      return this.fail(lineNo, `the entry is signed by key ${e.kid}, not by this log's key`);
    if (!segmentSignatureValid(e, this.publicKey))
      return this.fail(lineNo, 'the signature does not match the entry: it was altered or forged');
    this.entries.push(e);
    this.prev = sha256Hex(bytes);
    return true;
  }

  private fail(line: number, detail: string): false {
    this.failure = { kind: 'segment_log', file: this.file, line, detail };
    return false;
  }
}
