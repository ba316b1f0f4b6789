import { closeSync, fdatasync, fdatasyncSync, openSync, constants } from 'node:fs';
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
import type { LogLayout } from './layout.js';
import type { LogMeta } from './meta.js';
import { lastLines } from './lines.js';
import { quarantineTail, type QuarantineNote } from './recovery.js';
import type { ChannelState } from './channel-writer.js';

// How far back open() looks for each channel's latest checkpoint.
const LOOKBACK_LINES = 4096;

/**
 * Writer side of `.integrity/checkpoints.log`: one signed checkpoint per line, each linked to the
 * previous line by hash. Appends are synchronous (they are rare: about one per channel per
 * second) and fdatasync'ed in the background.
 */
export class CheckpointLog {
  private readonly fd: number;
  private prev: string;
  private readonly latest = new Map<string, Checkpoint>();
  /** Set when open() had to move a torn last line aside. */
  readonly quarantined: QuarantineNote | undefined;

  constructor(
    private readonly layout: LogLayout,
    private readonly meta: LogMeta,
    private readonly privateKey: KeyObject,
    private readonly onError: (err: unknown) => void,
  ) {
    const file = layout.checkpointsFile;
    this.fd = openSync(
      file,
      constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT | constants.O_NOFOLLOW,
      FILE_MODE,
    );
    const tail = lastLines(file, LOOKBACK_LINES);
    this.quarantined =
      tail.tail.length > 0
        ? quarantineTail(layout, file, tail.end, Buffer.from(tail.tail))
        : undefined;
    const last = tail.lines[tail.lines.length - 1];
    this.prev = last === undefined ? checkpointGenesis(meta.log_id) : sha256Hex(last);
    for (const line of tail.lines) {
      try {
        const cp = parseCheckpoint(line.toString('utf8'));
        if (cp.log_id === meta.log_id) this.latest.set(cp.channel, cp);
      } catch {
        // An unreadable checkpoint is verify's business; the chain continues from its bytes.
      }
    }
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
    fdatasync(this.fd, (err) => {
      if (err) this.onError(err);
    });
  }

  closeSync(): void {
    try {
      fdatasyncSync(this.fd);
    } finally {
      closeSync(this.fd);
    }
  }
}
