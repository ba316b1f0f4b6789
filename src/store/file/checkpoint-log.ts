import { closeSync, existsSync, fdatasync, fdatasyncSync, openSync, constants } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import {
  checkpointGenesis,
  checkpointLinkHash,
  encodeCheckpoint,
  parseCheckpoint,
  signCheckpoint,
  type Checkpoint,
} from '../../integrity/checkpoint.js';
import { sha256Hex } from '../../crypto/hash.js';
import { CompactRange, type MerkleState } from '../../integrity/merkle.js';
import { FILE_MODE, writeAll } from '../../util/fs.js';
import { LogsError } from '../../errors.js';
import type { LogLayout } from './layout.js';
import type { LogMeta } from './meta.js';
import { lastLines } from './lines.js';
import { quarantineTail, type QuarantineNote } from './recovery.js';
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
}

/**
 * Read the end of `.integrity/checkpoints.log` at open: a torn last line (a crash while
 * appending) is quarantined, the link for the next checkpoint and each channel's latest
 * checkpoint are found.
 */
export function readCheckpointTail(layout: LogLayout, meta: LogMeta): CheckpointTail {
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
  return {
    prev: last === undefined ? checkpointGenesis(meta.log_id) : sha256Hex(last),
    latest,
    quarantined,
  };
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

  constructor(
    layout: LogLayout,
    private readonly meta: Pick<LogMeta, 'log_id' | 'kid'>,
    private readonly privateKey: KeyObject,
    tail: Pick<CheckpointTail, 'prev' | 'latest'>,
    private readonly onError: (err: unknown) => void,
  ) {
    this.fd = openSync(
      layout.checkpointsFile,
      constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW,
      FILE_MODE,
    );
    this.prev = tail.prev;
    this.latest = new Map(tail.latest);
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
  ): Checkpoint {
    const cp = signCheckpoint(
      {
        v: 1,
        log_id: this.meta.log_id,
        channel,
        size: state.seq,
        head: state.head,
        root: new CompactRange(merkle).root(),
        ts: now.toISOString(),
        prev: this.prev,
        kid: this.meta.kid,
        ...(final ? { final: true as const } : {}),
      },
      this.privateKey,
    );
    const line = encodeCheckpoint(cp);
    writeAll(this.fd, `${line}\n`);
    this.prev = checkpointLinkHash(line);
    this.latest.set(channel, cp);
    return cp;
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
