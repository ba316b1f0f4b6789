import {
  closeSync,
  existsSync,
  fdatasync,
  fdatasyncSync,
  fstatSync,
  openSync,
  readSync,
  constants,
} from 'node:fs';
import type { KeyObject } from 'node:crypto';
import {
  checkpointGenesis,
  checkpointLinkHash,
  encodeCheckpoint,
  parseCheckpoint,
  signCheckpoint,
  type Checkpoint,
  type Unproven,
} from '../../integrity/checkpoint.js';
import { sha256Hex } from '../../crypto/hash.js';
import { channelOrigin, checkpointNoteText, NoteSigners } from '../../integrity/checkpoint-note.js';
import { CompactRange, type MerkleState } from '../../integrity/merkle.js';
import { FILE_MODE, writeAll } from '../../util/fs.js';
import { LogsError } from '../../errors.js';
import type { LogLayout } from './layout.js';
import type { LogMeta } from './meta.js';
import { lastLines, lineEndingAt, splitLines } from './lines.js';
import { quarantineTail, type QuarantineNote } from './quarantine.js';
import { loadState } from './state-file.js';
import type { ChannelState } from './channel-types.js';

// How far back open() looks for each channel's latest checkpoint.
const LOOKBACK_LINES = 4096;

/** What open() learns from the end of the checkpoint log. */
export interface CheckpointTail {
  /** Hash the next checkpoint links to. */
  readonly prev: string;
  /** The latest checkpoint of each channel among the last lines. */
  readonly latest: ReadonlyMap<string, Checkpoint>;
  /** Set when a torn last line had to be moved aside. */
  readonly quarantined: QuarantineNote | undefined;
  /** Size of the checkpoint log (complete lines only). */
  readonly bytes: number;
}

/** What a segment entry pins of the checkpoint log: its size then, and its last line's hash. */
export interface CheckpointPin {
  readonly bytes: number;
  readonly last: string;
}

/**
 * Read the end of `.integrity/checkpoints.log` at open: a torn last line (a crash while
 * appending) is quarantined, the link for the next checkpoint and each channel's latest
 * checkpoint are found.
 */
export function readCheckpointTail(
  layout: LogLayout,
  meta: LogMeta,
  channels: readonly string[] = [],
): CheckpointTail {
  const file = layout.checkpointsFile;
  if (!existsSync(file)) {
    // Recreating it would erase the evidence of every signed checkpoint: refuse.
    throw new LogsError('INTEGRITY_STATE', `${file} is missing; run: dihya-logs verify`);
  }
  const tail = lastLines(file, LOOKBACK_LINES);
  const quarantined =
    tail.tail.length > 0
      ? quarantineTail(layout, file, tail.end, Buffer.from(tail.tail))
      : undefined;
  const last = tail.lines[tail.lines.length - 1];
  const latest = new Map<string, Checkpoint>();
  for (const line of tail.lines) {
    try {
      const cp = parseCheckpoint(line.toString('utf8'));
      if (cp.log_id === meta.log_id) latest.set(cp.channel, cp);
    } catch {
      // An unreadable checkpoint is verify's business; the chain continues from its bytes.
    }
  }
  // A quiet channel's latest checkpoint may be older than the lines read: open must know it,
  // or the channel's records would look unsigned. The state file says where it was.
  for (const channel of channels) {
    if (latest.has(channel)) continue;
    const found = hintedCheckpoint(layout, meta, channel) ?? scanBackFor(file, meta, channel);
    if (found !== undefined) latest.set(channel, found);
  }
  return {
    prev: last === undefined ? checkpointGenesis(meta.log_id) : sha256Hex(last),
    latest,
    quarantined,
    bytes: tail.end,
  };
}

/**
 * The latest checkpoint of one channel, read-only (beside a running writer): from the last
 * lines, else where the channel's state file says, else by reading the log backwards.
 */
export function findLatestCheckpoint(
  layout: LogLayout,
  meta: Pick<LogMeta, 'log_id'>,
  channel: string,
): Checkpoint | undefined {
  const file = layout.checkpointsFile;
  if (!existsSync(file)) return undefined;
  const tail = lastLines(file, 64);
  for (let i = tail.lines.length - 1; i >= 0; i--) {
    try {
      const cp = parseCheckpoint((tail.lines[i] as Buffer).toString('utf8'));
      if (cp.channel === channel && cp.log_id === meta.log_id) return cp;
    } catch {
      // verify's business
    }
  }
  return hintedCheckpoint(layout, meta, channel) ?? scanBackFor(file, meta, channel);
}

// A checkpoint line is a few hundred bytes; anything longer is not one of ours.
const MAX_LINE = 8192;

/** The checkpoint the channel's state file points to, if that line is one of the channel's. */
function hintedCheckpoint(
  layout: LogLayout,
  meta: Pick<LogMeta, 'log_id'>,
  channel: string,
): Checkpoint | undefined {
  const offset = loadState(layout, channel)?.cp_offset;
  if (offset === undefined) return undefined;
  const fd = openSync(layout.checkpointsFile, constants.O_RDONLY);
  try {
    const buf = Buffer.alloc(MAX_LINE);
    const n = readSync(fd, buf, 0, MAX_LINE, offset);
    const nl = buf.subarray(0, n).indexOf(10);
    if (nl === -1) return undefined;
    if (offset > 0) {
      const before = Buffer.alloc(1);
      readSync(fd, before, 0, 1, offset - 1);
      if (before[0] !== 10) return undefined; // not the start of a line
    }
    const cp = parseCheckpoint(buf.subarray(0, nl).toString('utf8'));
    return cp.channel === channel && cp.log_id === meta.log_id ? cp : undefined;
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/** Read the checkpoint log backwards for the channel's latest checkpoint (slow path, rare). */
function scanBackFor(
  file: string,
  meta: Pick<LogMeta, 'log_id'>,
  channel: string,
): Checkpoint | undefined {
  const needle = Buffer.from(`"channel":${JSON.stringify(channel)}`);
  const fd = openSync(file, constants.O_RDONLY);
  try {
    let pos = fstatSync(fd).size;
    let carry = Buffer.alloc(0);
    const step = 1024 * 1024;
    while (pos > 0) {
      const len = Math.min(step, pos);
      pos -= len;
      const part = Buffer.allocUnsafe(len);
      readSync(fd, part, 0, len, pos);
      const buf = Buffer.concat([part, carry]);
      const firstNl = pos > 0 ? buf.indexOf(10) : -1;
      if (pos > 0 && firstNl === -1) {
        carry = buf; // no line ends in this chunk
        continue;
      }
      const lines = splitLines(buf.subarray(firstNl + 1));
      for (let i = lines.length - 1; i >= 0; i--) {
        const line = lines[i] as Buffer;
        if (line.indexOf(needle) === -1) continue;
        try {
          const cp = parseCheckpoint(line.toString('utf8'));
          if (cp.channel === channel && cp.log_id === meta.log_id) return cp;
        } catch {
          // verify's business
        }
      }
      carry = Buffer.from(buf.subarray(0, firstNl + 1));
    }
    return undefined;
  } finally {
    closeSync(fd);
  }
}

/**
 * The hash of the checkpoint line that ends at `bytes` (just before that offset), or undefined
 * when the file is shorter or no line ends there: what a segment entry's pin is checked against.
 */
export function checkpointLinkAt(file: string, bytes: number): string | undefined {
  const line = lineEndingAt(file, bytes, MAX_LINE);
  return line === undefined ? undefined : sha256Hex(line);
}

/**
 * Writer side of `.integrity/checkpoints.log`: one signed checkpoint per line, each linked to the
 * previous line by hash. Appends are synchronous (they are rare: about one per channel per
 * second) and fdatasync'ed in the background.
 */
export class CheckpointLog {
  private readonly fd: number;
  private prev: string;
  private readonly latest: Map<string, Checkpoint>;
  private closed = false;
  private bytes: number;
  private readonly notes: NoteSigners;
  /** Offset of the last line appended, for the channel's state file. */
  lastOffset = 0;

  constructor(
    layout: LogLayout,
    private readonly meta: Pick<LogMeta, 'log_id' | 'kid'>,
    private readonly privateKey: KeyObject,
    tail: Pick<CheckpointTail, 'prev' | 'latest'>,
    private readonly onError: (err: unknown) => void,
    /** The log name of the channels' origins (`<log name>/<channel>`); default from the log id. */
    private readonly logName?: string,
  ) {
    this.notes = new NoteSigners(privateKey);
    this.fd = openSync(
      layout.checkpointsFile,
      constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW,
      FILE_MODE,
    );
    this.prev = tail.prev;
    this.latest = new Map(tail.latest);
    this.bytes = fstatSync(this.fd).size;
  }

  /**
   * Sync the log and say what it holds: a segment entry signs this, so a checkpoint log later
   * found shorter, or different up to here, is damage whatever else was cut with it.
   */
  pin(): CheckpointPin {
    fdatasyncSync(this.fd);
    return { bytes: this.bytes, last: this.prev };
  }

  /** The most recent checkpoint of a channel seen in the last lines of the log, if any. */
  last(channel: string): Checkpoint | undefined {
    return this.latest.get(channel);
  }

  /** Sign and append a checkpoint for a synced channel state; returns it. */
  append(
    channel: string,
    state: ChannelState,
    merkle: MerkleState,
    now: Date,
    final = false,
    unproven?: Unproven,
  ): Checkpoint {
    const root = new CompactRange(merkle).root();
    const origin = channelOrigin(this.logName, this.meta.log_id, channel);
    const noteSig = this.notes.sign(origin, checkpointNoteText(origin, state.seq, root));
    const cp = signCheckpoint(
      {
        v: 1,
        log_id: this.meta.log_id,
        channel,
        size: state.seq,
        head: state.head,
        root,
        origin,
        note_sig: noteSig,
        ts: now.toISOString(),
        prev: this.prev,
        kid: this.meta.kid,
        ...(final ? { final: true as const } : {}),
        ...(unproven === undefined ? {} : { unproven }),
      },
      this.privateKey,
    );
    const line = encodeCheckpoint(cp);
    writeAll(this.fd, `${line}\n`);
    this.lastOffset = this.bytes;
    this.bytes += Buffer.byteLength(line) + 1;
    this.prev = checkpointLinkHash(line);
    this.latest.set(channel, cp);
    return cp;
  }

  /** fdatasync now; throws when it fails. */
  syncNow(): void {
    fdatasyncSync(this.fd);
  }

  /** Start an fdatasync in the background; failures are reported, the records are safe anyway. */
  syncSoon(): void {
    if (this.closed) return;
    fdatasync(this.fd, (err) => {
      if (err && !this.closed) this.onError(err);
    });
  }

  closeSync(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      fdatasyncSync(this.fd);
    } finally {
      closeSync(this.fd);
    }
  }
}
