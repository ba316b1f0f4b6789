import { LogsError, asLogsError } from '../errors.js';
import type { EventInput } from '../event/record.js';
import type { RotationResult, SealResult, StoreNote } from '../store/store.js';
import type { CoreAccess } from './core-access.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/**
 * Lifecycle of the open logs: rotation, sealing, legal holds and the deletion of sealed
 * segments, each signed by the store and (holds, deletions) recorded as audit events. Handed
 * to the lifecycle jobs, the CLI and the service; an application's `Logs` has none of it.
 */
export class LifecycleOps {
  constructor(private readonly core: CoreAccess) {}

  /**
   * Rotate a channel (or every channel) now: its active file becomes a segment, sealed and
   * compressed into `archive/`. Resolves once the seals are signed. An empty channel is left as is.
   */
  async rotate(channel?: string): Promise<RotationResult[]> {
    if (channel !== undefined) this.core.assertChannel(channel);
    return this.core.store.rotate(channel === undefined ? {} : { channel });
  }

  /**
   * Rotate the channels that are due without a new record to trigger it: an active file begun
   * on an earlier UTC day (a quiet channel at midnight), or at its size limit. The `rotate` job.
   */
  async rotateDue(): Promise<RotationResult[]> {
    const dueAt = new Date(this.core.clock()).toISOString();
    return this.core.store.rotate({ dueAt });
  }

  /** Seal every rotated segment still waiting in staging (the `archive` job). */
  async seal(): Promise<SealResult[]> {
    return this.core.store.seal();
  }

  /**
   * Set or clear a legal hold on a channel: while set, retention deletes nothing in it. Signed
   * into the segment log and recorded as an `audit` event.
   */
  async hold(
    channel: string,
    set: boolean,
    reason: string,
    actor?: EventInput['actor'],
  ): Promise<void> {
    this.core.assertChannel(channel);
    if (reason.trim() === '')
      throw new LogsError('USAGE', 'a legal hold needs a reason (--reason)');
    // The reason may name people: it is kept, classified, in the audit event; the signed
    // segment log only points to that event.
    const ack = await this.core.audit({
      event: set ? 'retention.hold.set' : 'retention.hold.cleared',
      outcome: 'success',
      msg: `legal hold ${set ? 'set on' : 'cleared from'} ${channel}: ${reason}`,
      ...(actor === undefined ? {} : { actor }),
      data: { channel, reason },
    });
    await this.core.store.hold(channel, set, `audit #${ack.seq}`);
  }

  /**
   * Delete a sealed archive, leaving a signed tombstone: the step `applyRetention()` takes
   * after recording the deletion as an audit event. Refused under a legal hold
   * (RETENTION_HOLD) and while the segment's newest record is younger than the channel's
   * minimum retention (RETENTION_MINIMUM). Returns the archive's name and size.
   */
  async deleteSegment(
    channel: string,
    first: number,
    last: number,
    reason: string,
    now: number = this.core.clock(),
  ): Promise<{ file: string; size: number }> {
    this.core.assertChannel(channel);
    const seg = this.core.store.segments(channel).find((s) => s.first === first && s.last === last);
    const minDays = this.core.config.channels[channel]?.retention.minDays ?? 0;
    if (seg?.state === 'sealed' && now - Date.parse(seg.lastTs) < minDays * DAY_MS) {
      throw new LogsError(
        'RETENTION_MINIMUM',
        `${channel} records ${first} to ${last} are younger than the minimum retention of ${minDays} days`,
      );
    }
    return this.core.store.tombstone(channel, first, last, reason);
  }

  /** Record what the store did on its own: rotations and seals (scheduler events). */
  recordNote(note: StoreNote): void {
    if (this.core.closing || !this.core.hasChannel('scheduler')) return;
    try {
      switch (note.kind) {
        case 'rotated':
          this.core.emit({
            channel: 'scheduler',
            level: 'INFO',
            event: 'log.rotated',
            outcome: 'success',
            msg: `${note.channel} rotated (${note.reason}): records ${note.first} to ${note.last}`,
            data: {
              channel: note.channel,
              first: note.first,
              last: note.last,
              reason: note.reason,
              bytes: note.bytes,
            },
          });
          break;
        case 'sealed':
          this.core.emit({
            channel: 'scheduler',
            level: 'INFO',
            event: 'log.archive.sealed',
            outcome: 'success',
            msg:
              note.recovered === true
                ? `${note.seal.channel} records ${note.seal.first} to ${note.seal.last} were found sealed into ${note.seal.file} on open: the process that sealed them stopped before recording it`
                : `${note.seal.channel} records ${note.seal.first} to ${note.seal.last} sealed into ${note.seal.file}`,
            data: {
              ...(note.recovered === true ? { recovered: true } : {}),
              channel: note.seal.channel,
              first: note.seal.first,
              last: note.seal.last,
              file: note.seal.file,
              bytes: note.seal.bytes,
              size: note.seal.size,
              duration_ms: Math.round(note.seal.durationMs),
            },
          });
          break;
        case 'seal_failed':
          this.core.onError(
            new LogsError(
              note.error.code as LogsError['code'],
              `sealing ${note.channel} ${note.first}-${note.last} failed: ${note.error.message}`,
            ),
          );
          this.core.emit({
            channel: 'scheduler',
            level: 'ERROR',
            event: 'log.archive.sealed',
            outcome: 'failure',
            msg: `sealing ${note.channel} records ${note.first} to ${note.last} failed (${note.error.code}); it is retried by the archive job and on the next open`,
            data: {
              channel: note.channel,
              first: note.first,
              last: note.last,
              code: note.error.code,
            },
          });
          break;
      }
    } catch (err) {
      this.core.onError(asLogsError(err));
    }
  }
}
