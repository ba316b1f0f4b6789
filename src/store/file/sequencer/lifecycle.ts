/**
 * The sequencer thread's lifecycle work on segments: rotating a channel's active file into a
 * segment, sealing segments (one at a time, in order), legal holds, tombstones, and the
 * consistency proofs witnesses ask for. It runs on request (a LifecycleOp) and on its own (a
 * rotation due before a record, seals a crash or a close left undone).
 */
import { existsSync, unlinkSync } from 'node:fs';
import path from 'node:path';
import { LogsError } from '../../../errors.js';
import type { RotationReason } from '../../../integrity/segment.js';
import { failpoint } from '../../../util/failpoint.js';
import { ensureDir, fsyncDir } from '../../../util/fs.js';
import type { SealResult, Segment } from '../../store.js';
import type { Cut } from '../channel-types.js';
import type { ChannelWriter } from '../channel-writer.js';
import type { LogLayout } from '../layout.js';
import { sealSegment } from '../sealer.js';
import type { SegmentLog } from '../segment-log.js';
import { wire, type FromHost, type LifecycleOp } from './protocol.js';

/** Where the host stands: closing (no new work), finished (its files are closed). */
export interface HostStatus {
  closing: boolean;
  finished: boolean;
}

/** Rotation, seals, holds and tombstones of the host's channels, through its segment log. */
export class HostLifecycle {
  // Seals run one at a time, in order; `queued` keeps a segment from being queued twice.
  private sealChain: Promise<unknown> = Promise.resolve();
  private readonly queued = new Map<string, Promise<SealResult | undefined>>();

  constructor(
    private readonly layout: LogLayout,
    private readonly writers: readonly ChannelWriter[],
    private readonly segments: SegmentLog,
    private readonly archiveLevel: number,
    private readonly status: Readonly<HostStatus>,
    private readonly send: (msg: FromHost) => void,
    /** Sign a checkpoint of a channel just cut (its records are synced) and sync it soon. */
    private readonly onCut: (w: ChannelWriter) => void,
  ) {}

  /** The seals queued so far, the last one settling after all the others. */
  get sealing(): Promise<unknown> {
    return this.sealChain;
  }

  /** Do what the application's thread asked; the result goes back in its `done` message. */
  async op(op: LifecycleOp): Promise<unknown> {
    if (this.status.closing) throw new LogsError('LOGS_CLOSED', 'the logs are closing');
    switch (op.kind) {
      case 'rotate': {
        const targets = this.writers.filter(
          (w) => op.channel === undefined || w.channel === op.channel,
        );
        if (targets.length === 0)
          throw new LogsError('CHANNEL_UNKNOWN', `no channel named ${op.channel ?? ''}`);
        const due = op.dueAt;
        const cuts = targets
          .map((w) => ({ w, reason: due === undefined ? 'manual' : w.rotationDue(due) }))
          .filter((x): x is { w: ChannelWriter; reason: RotationReason } => x.reason !== undefined)
          .map(({ w, reason }) => ({ channel: w.channel, cut: this.rotate(w, reason) }));
        return Promise.all(
          cuts.map(async ({ channel, cut }) => ({
            channel,
            ...(cut === undefined
              ? { rotated: false }
              : { rotated: true, first: cut.first, last: cut.last }),
            ...(cut === undefined ? {} : { seal: await this.queued.get(key(cut)) }),
          })),
        );
      }
      case 'seal': {
        const pending: Array<Promise<SealResult | undefined>> = [];
        for (const w of this.writers) {
          for (const seg of this.segments.book.segments(w.channel)) {
            if (seg.state === 'staging') pending.push(this.seal(seg));
          }
        }
        return (await Promise.all(pending)).filter((r) => r !== undefined);
      }
      case 'hold': {
        const e = this.segments.append(
          { kind: 'hold', channel: op.channel, set: op.set, reason: op.reason },
          new Date(),
        );
        return { channel: e.channel, set: op.set, ts: e.ts };
      }
      case 'tombstone':
        return this.tombstone(op.channel, op.first, op.last, op.reason);
      case 'consistency':
        // For witnesses: from the subtrees the writer's own fold completed, no hashing again.
        return (
          this.writers.find((w) => w.channel === op.channel)?.consistency(op.from, op.to) ?? null
        );
    }
  }

  /** Cut a channel's active file into a segment, checkpoint it, and queue its seal. */
  rotate(w: ChannelWriter, reason: RotationReason): Cut | undefined {
    const cut = w.rotate(
      reason,
      (c) => {
        ensureDir(this.layout.stagingDir);
        return this.layout.stagingFile(c.channel, c.first, c.last);
      },
      (c) => {
        this.segments.append({ kind: 'cut', ...c }, new Date());
      },
    );
    if (cut === undefined) return undefined;
    this.onCut(w);
    this.send({
      t: 'note',
      note: {
        kind: 'rotated',
        channel: cut.channel,
        first: cut.first,
        last: cut.last,
        reason,
        bytes: cut.bytes,
      },
    });
    const seg = this.segments.book.lastCut(w.channel);
    if (seg !== undefined) void this.seal(seg);
    return cut;
  }

  /**
   * Remove a sealed segment's staged copy, which a crash after its seal left behind; the
   * process that sealed it may have died before its seal was recorded: say it again.
   */
  removeStaged(seg: Segment): void {
    const staged = this.layout.stagingFile(seg.channel, seg.first, seg.last);
    try {
      if (existsSync(staged)) {
        unlinkSync(staged);
        fsyncDir(this.layout.stagingDir);
        const seal: SealResult = {
          channel: seg.channel,
          first: seg.first,
          last: seg.last,
          file: seg.file ?? '',
          bytes: seg.bytes,
          size: seg.size ?? 0,
          durationMs: 0,
        };
        this.send({ t: 'note', note: { kind: 'sealed', seal, recovered: true } });
      }
    } catch (err) {
      this.send({ t: 'error', error: wire(err) });
    }
  }

  /** Queue a segment's seal (once); resolves with its result, or undefined if it failed. */
  seal(seg: Segment): Promise<SealResult | undefined> {
    const k = key(seg);
    const existing = this.queued.get(k);
    if (existing !== undefined) return existing;
    const run = this.sealChain.then(async () => {
      if (this.status.closing) return undefined;
      try {
        return await sealSegment(
          this.layout,
          seg,
          this.archiveLevel,
          (entry) => {
            if (this.status.finished)
              throw new LogsError('LOGS_CLOSED', 'the logs closed during a seal');
            this.segments.append(entry, new Date());
          },
          (result) => this.send({ t: 'note', note: { kind: 'sealed', seal: result } }),
        );
      } catch (err) {
        this.send({
          t: 'note',
          note: {
            kind: 'seal_failed',
            channel: seg.channel,
            first: seg.first,
            last: seg.last,
            error: wire(err),
          },
        });
        return undefined;
      } finally {
        this.queued.delete(k);
      }
    });
    this.queued.set(k, run);
    this.sealChain = run;
    return run;
  }

  /**
   * Delete a sealed archive on purpose: the signed tombstone goes first, so a crash in between
   * leaves a removed-on-purpose segment whose file is still there (deleted on the next run),
   * never a missing archive without an explanation.
   */
  private tombstone(
    channel: string,
    first: number,
    last: number,
    reason: string,
  ): { file: string; size: number } {
    const book = this.segments.book;
    const hold = book.hold(channel);
    if (hold !== undefined) {
      throw new LogsError(
        'RETENTION_HOLD',
        `${channel} is under a legal hold (${hold.reason}); nothing is deleted until it is cleared`,
      );
    }
    const seg = book.segments(channel).find((s) => s.first === first && s.last === last);
    if (seg === undefined || seg.file === undefined || seg.sha256 === undefined) {
      throw new LogsError(
        'SEGMENT_UNKNOWN',
        `${channel}: no sealed segment ${first}-${last} to delete`,
      );
    }
    if (seg.state === 'sealed') {
      failpoint('retention.before');
      this.segments.append(
        {
          kind: 'tombstone',
          channel,
          first,
          last,
          start: seg.start,
          head: seg.head,
          file: seg.file,
          sha256: seg.sha256,
          reason,
        },
        new Date(),
      );
    }
    failpoint('retention.tombstoned');
    const file = this.layout.resolve(seg.file);
    if (existsSync(file)) {
      unlinkSync(file);
      failpoint('retention.unlinked');
      fsyncDir(path.dirname(file));
    }
    return { file: seg.file, size: seg.size ?? 0 };
  }
}

function key(s: { readonly channel: string; readonly first: number }): string {
  return `${s.channel}:${s.first}`;
}
