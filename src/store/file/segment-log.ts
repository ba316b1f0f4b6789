import { closeSync, existsSync, fdatasyncSync, openSync, constants } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import { sha256Hex } from '../../crypto/hash.js';
import {
  encodeSegmentEntry,
  parseSegmentEntry,
  segmentGenesis,
  signSegmentEntry,
  type SegmentEntry,
  type SegmentEntryBody,
} from '../../integrity/segment.js';
import { FILE_MODE, writeAll, writeFileDurable } from '../../util/fs.js';
import { failpoint, failpointArmed } from '../../util/failpoint.js';
import type { LogLayout } from './layout.js';
import { scanLines } from './lines.js';
import { quarantineTail, type QuarantineNote } from './quarantine.js';
import type { CheckpointPin } from './checkpoint-log.js';

export { SegmentBook, type Hold } from '../segment-book.js';
import { SegmentBook } from '../segment-book.js';

export interface SegmentLogTail {
  readonly entries: SegmentEntry[];
  /** Hash the next entry links to. */
  readonly prev: string;
  readonly quarantined: QuarantineNote | undefined;
}

/**
 * Read the whole segment log for a writer (it is small: a few lines per channel per day). A
 * torn last line (a crash while appending) is moved to quarantine, as for the checkpoint log; a
 * missing file (a directory from before segments existed) is created empty. Lines that do not
 * parse are skipped here: `verify` reports them.
 */
export function readSegmentLog(layout: LogLayout, logId: string): SegmentLogTail {
  const file = layout.segmentsFile;
  if (!existsSync(file)) writeFileDurable(file, '', { exclusive: true });
  const entries: SegmentEntry[] = [];
  let last: Buffer | undefined;
  const scan = scanLines(file, ({ bytes }) => {
    last = Buffer.from(bytes);
    try {
      const e = parseSegmentEntry(bytes.toString('utf8'));
      if (e.log_id === logId) entries.push(e);
    } catch {
      // verify's business; the chain continues from the line's bytes
    }
  });
  const quarantined =
    scan.tail.length > 0 ? quarantineTail(layout, file, scan.end, scan.tail) : undefined;
  return {
    entries,
    prev: last === undefined ? segmentGenesis(logId) : sha256Hex(last),
    quarantined,
  };
}

/** Readers' view: the entries of the segment log, without repairing anything. */
export function readSegmentBook(layout: LogLayout, logId: string): SegmentBook {
  const file = layout.segmentsFile;
  if (!existsSync(file)) return new SegmentBook();
  const entries: SegmentEntry[] = [];
  scanLines(file, ({ bytes }) => {
    try {
      const e = parseSegmentEntry(bytes.toString('utf8'));
      if (e.log_id === logId) entries.push(e);
    } catch {
      // verify's business
    }
  });
  return new SegmentBook(entries);
}

type NewEntry = SegmentEntryBody extends infer B
  ? B extends SegmentEntryBody
    ? Omit<B, 'v' | 'log_id' | 'prev' | 'kid' | 'ts' | 'ck'>
    : never
  : never;

/**
 * Writer side of the segment log. Every entry is synced before `append` returns: the step
 * that follows it (a rename, a deletion) must never be on disk without it.
 */
export class SegmentLog {
  private readonly fd: number;
  private prev: string;
  readonly book: SegmentBook;
  private closed = false;

  constructor(
    layout: LogLayout,
    private readonly meta: { readonly log_id: string; readonly kid: string },
    private readonly privateKey: KeyObject,
    tail: Pick<SegmentLogTail, 'entries' | 'prev'>,
    private readonly pin?: () => CheckpointPin,
  ) {
    this.fd = openSync(
      layout.segmentsFile,
      constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW,
      FILE_MODE,
    );
    this.prev = tail.prev;
    this.book = new SegmentBook(tail.entries);
  }

  append(body: NewEntry, now: Date): SegmentEntry {
    if (this.closed) throw new Error('segment log closed');
    const entry = signSegmentEntry(
      {
        v: 1,
        log_id: this.meta.log_id,
        ts: now.toISOString(),
        prev: this.prev,
        kid: this.meta.kid,
        ...(this.pin === undefined ? {} : { ck: this.pin() }),
        ...body,
      },
      this.privateKey,
    );
    const line = encodeSegmentEntry(entry);
    const point = `segments.torn.${body.kind}`;
    if (failpointArmed(point)) writeAll(this.fd, line.slice(0, line.length >> 1)); // a torn entry
    failpoint(point);
    writeAll(this.fd, `${line}\n`);
    fdatasyncSync(this.fd);
    this.prev = sha256Hex(line);
    this.book.apply(entry);
    return entry;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeSync(this.fd);
  }
}
