import {
  existsSync,
  lstatSync,
  openSync,
  closeSync,
  readSync,
  renameSync,
  constants,
} from 'node:fs';
import { LogsError } from '../../errors.js';
import { chainGenesis, lineHash } from '../../integrity/chain.js';
import type { MerkleState } from '../../integrity/merkle.js';
import type { Checkpoint } from '../../integrity/checkpoint.js';
import { ensureDir, fsyncDir, writeFileDurable } from '../../util/fs.js';
import type { Segment } from '../store.js';
import type { ChannelState } from './channel-types.js';
import type { LogLayout } from './layout.js';
import { firstRecord, lastLines, scanLines } from './lines.js';
import { foldActiveFile, type Anchor, type TailProof } from './tail-proof.js';
import { quarantineTail, type QuarantineNote } from './quarantine.js';

export interface RecoveredChannel {
  readonly state: ChannelState;
  /** The Merkle tree at `state.seq`. */
  readonly merkle: MerkleState;
  /** The last record before the active file (end of the last segment cut), or 0 and hash_0. */
  readonly base: { readonly seq: number; readonly head: string };
  readonly lastTsMs: number;
  /** Times of the active file's first and last records. */
  readonly firstTs?: string;
  readonly lastTs?: string;
  /** An interrupted rotation was finished: the active file was moved to staging. */
  readonly finishedRotation?: { readonly first: number; readonly last: number };
  readonly quarantined: QuarantineNote[];
  /** The records past the last signed state, and whether open could prove them. */
  readonly proof: TailProof;
  /** Time of the last cut segment's last record (ms). */
  readonly cutTsMs?: number;
  /** The last checkpoint names more records than the file holds. */
  readonly behindCheckpoint?: { readonly checkpoint: number; readonly records: number };
  /** Records found after a clean close's final checkpoint, moved to quarantine. */
  readonly appendedAfterClose?: {
    readonly checkpoint: number;
    readonly records: number;
    readonly quarantine: string;
  };
}

// A torn write leaves at most one partial line; a few more means something else happened.
const MAX_QUARANTINED_LINES = 16;

/**
 * Open-time recovery of one channel file: a torn last line (the process died mid-write) is
 * quarantined, then the chain and Merkle state are resumed from the last good record.
 */
export function recoverChannel(
  layout: LogLayout,
  logId: string,
  channel: string,
  lastCheckpoint: Checkpoint | undefined,
  lastCut?: Segment,
): RecoveredChannel {
  const file = layout.channelFile(channel);
  const finishedRotation = lastCut === undefined ? undefined : finishRotation(layout, lastCut);
  const baseSeq = lastCut?.last ?? 0;
  if (!existsSync(file)) {
    if (lastCheckpoint !== undefined && lastCheckpoint.size > baseSeq) {
      throw new LogsError(
        'INTEGRITY_STATE',
        `${file} is missing but checkpoints record ${lastCheckpoint.size} record(s) in it; run: dihya-logs verify`,
      );
    }
    writeFileDurable(file, '', { exclusive: true });
  }
  assertRegularFile(file);
  const quarantined: QuarantineNote[] = [];
  let { last, end } = cutUnreadableTail(layout, file, quarantined);
  let appended: RecoveredChannel['appendedAfterClose'];
  if (lastCheckpoint?.final === true && last !== undefined && last.seq > lastCheckpoint.size) {
    // The writer closed cleanly at `size`: whatever follows was added by someone else.
    const cut = offsetAfterLine(file, Math.max(0, lastCheckpoint.size - baseSeq));
    const note = quarantineTail(layout, file, cut, readRange(file, cut, end));
    quarantined.push(note);
    appended = { checkpoint: lastCheckpoint.size, records: last.seq, quarantine: note.quarantine };
    ({ last, end } = cutUnreadableTail(layout, file, quarantined));
  }
  const base = {
    seq: baseSeq,
    head: lastCut?.head ?? chainGenesis(logId, channel),
    merkle: { size: baseSeq, peaks: lastCut?.peaks ?? [] },
  };
  const seq = last?.seq ?? base.seq;
  const head = last?.hash ?? base.head;
  // The last signed record: the checkpoint's when it is past the last cut, else the cut's.
  const anchor: Anchor =
    lastCheckpoint !== undefined && lastCheckpoint.size > base.seq
      ? {
          seq: lastCheckpoint.size,
          head: lastCheckpoint.head,
          what: `the checkpoint of ${lastCheckpoint.ts}`,
        }
      : lastCut !== undefined
        ? { seq: lastCut.last, head: lastCut.head, what: `the cut of ${lastCut.lastTs}` }
        : { seq: 0, head: base.head, what: 'hash_0' };
  const { merkle, proof } = foldActiveFile(layout, file, channel, base, anchor, last, end);
  if (merkle.size !== seq) {
    throw new LogsError(
      'INTEGRITY_STATE',
      `${file}: its last record is seq ${seq} but it holds ${merkle.size - base.seq} record(s) after seq ${base.seq}; run: dihya-logs verify`,
    );
  }
  const state: ChannelState = { seq, head, offset: end };
  const firstTs = last === undefined ? undefined : firstRecord(file)?.ts;
  const behind =
    lastCheckpoint !== undefined && lastCheckpoint.size > seq
      ? { checkpoint: lastCheckpoint.size, records: seq }
      : undefined;
  return {
    state,
    merkle,
    base: { seq: base.seq, head: base.head },
    lastTsMs: last?.ts ?? 0,
    ...(firstTs === undefined || last === undefined
      ? {}
      : { firstTs, lastTs: new Date(last.ts).toISOString() }),
    ...(finishedRotation === undefined ? {} : { finishedRotation }),
    quarantined,
    proof,
    ...(lastCut === undefined ? {} : { cutTsMs: Date.parse(lastCut.lastTs) }),
    ...(behind ? { behindCheckpoint: behind } : {}),
    ...(appended ? { appendedAfterClose: appended } : {}),
  };
}

/**
 * Finish a rotation a crash interrupted after its cut was signed: if the active file still
 * holds the cut segment (its first record is the cut's first), move it to staging and start an
 * empty active file. Returns the segment when something had to be done.
 */
function finishRotation(
  layout: LogLayout,
  cut: Segment,
): { first: number; last: number } | undefined {
  const file = layout.channelFile(cut.channel);
  if (!existsSync(file) || firstRecord(file)?.seq !== cut.first) return undefined;
  const staging = layout.stagingFile(cut.channel, cut.first, cut.last);
  ensureDir(layout.stagingDir);
  if (existsSync(staging)) {
    throw new LogsError(
      'INTEGRITY_STATE',
      `${file} and ${staging} both hold the segment ${cut.first}-${cut.last}; run: dihya-logs verify`,
    );
  }
  // Anything after the cut's last record was never acknowledged: rotation writes nothing new
  // before the rename. A torn line there is cut off by the usual recovery below.
  renameSync(file, staging);
  writeFileDurable(file, '', { exclusive: true });
  fsyncDir(layout.stagingDir);
  fsyncDir(layout.dir);
  return { first: cut.first, last: cut.last };
}

interface LastRecord {
  readonly seq: number;
  readonly hash: string;
  readonly ts: number;
}

/**
 * Move aside a torn last line (bytes after the last newline) and any complete but unreadable
 * lines before it; return the last readable record and the offset just after it.
 */
function cutUnreadableTail(
  layout: LogLayout,
  file: string,
  quarantined: QuarantineNote[],
): { last: LastRecord | undefined; end: number } {
  for (let moved = 0; moved <= MAX_QUARANTINED_LINES; moved++) {
    const tailInfo = lastLines(file, 1);
    let end = tailInfo.end;
    if (tailInfo.tail.length > 0) {
      quarantined.push(quarantineTail(layout, file, end, Buffer.from(tailInfo.tail)));
    }
    const lastLine = tailInfo.lines[0];
    if (lastLine === undefined) return { last: undefined, end };
    const last = parseRecordTail(lastLine);
    if (last !== undefined) return { last, end };
    end -= lastLine.length + 1;
    quarantined.push(
      quarantineTail(layout, file, end, Buffer.concat([lastLine, Buffer.from('\n')])),
    );
  }
  throw new LogsError(
    'INTEGRITY_STATE',
    `${file}: too many unreadable lines at its end; run: dihya-logs verify`,
  );
}

/** Offset just after the n-th line of a file. */
function offsetAfterLine(file: string, n: number): number {
  if (n === 0) return 0;
  let offset = 0;
  scanLines(file, ({ bytes, offset: at, line }) => {
    offset = at + bytes.length + 1;
    return line < n;
  });
  return offset;
}

function readRange(file: string, start: number, end: number): Buffer {
  const fd = openSync(file, constants.O_RDONLY);
  try {
    const buf = Buffer.alloc(end - start);
    readSync(fd, buf, 0, buf.length, start);
    return buf;
  } finally {
    closeSync(fd);
  }
}

/**
 * A channel file must be a plain file of ours: a symbolic link or a device in its place would
 * send records (or reads) somewhere else entirely.
 */
export function assertRegularFile(file: string): void {
  const st = lstatSync(file);
  if (!st.isFile()) {
    throw new LogsError(
      'PATH_UNSAFE',
      `${file} is not a regular file (a symbolic link, a device or a directory); refusing to use it`,
    );
  }
}

function parseRecordTail(line: Buffer): LastRecord | undefined {
  const hash = lineHash(line);
  if (hash === undefined) return undefined;
  try {
    const rec = JSON.parse(line.toString('utf8')) as { seq?: unknown; ts?: unknown };
    const ts = typeof rec.ts === 'string' ? Date.parse(rec.ts) : NaN;
    if (!Number.isSafeInteger(rec.seq) || Number.isNaN(ts)) return undefined;
    return { seq: rec.seq as number, hash, ts };
  } catch {
    return undefined;
  }
}
