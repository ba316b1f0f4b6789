import type { EventInput } from '../event/record.js';
import type { QuarantineNote, RecoveredChannel } from '../store/file/recovery.js';

/**
 * The security events that say what open() found and did: unfinished writes moved aside,
 * records found after a clean close, a file shorter than its last checkpoint.
 */
export function recoveryEvents(
  recovered: ReadonlyMap<string, RecoveredChannel>,
  integrityLogs: ReadonlyArray<QuarantineNote | undefined>,
): EventInput[] {
  const events: EventInput[] = [];
  const notes = [...recovered.values()].flatMap((r) => r.quarantined);
  for (const n of integrityLogs) if (n !== undefined) notes.push(n);
  for (const note of notes) {
    events.push({
      channel: 'security',
      level: 'WARNING',
      event: 'log.recovery',
      outcome: 'success',
      msg: `unfinished write moved aside: ${note.bytes} byte(s) of ${note.file} at offset ${note.offset}`,
      data: { ...note },
    });
  }
  for (const [channel, r] of recovered) {
    if (r.finishedRotation !== undefined) {
      events.push({
        channel: 'security',
        level: 'WARNING',
        event: 'log.recovery',
        outcome: 'success',
        msg: `a rotation of ${channel} interrupted by a crash was finished: records ${r.finishedRotation.first} to ${r.finishedRotation.last} moved to staging`,
        data: { channel, ...r.finishedRotation },
      });
    }
    const appended = r.appendedAfterClose;
    if (appended !== undefined) {
      events.push({
        channel: 'security',
        level: 'CRITICAL',
        event: 'log.integrity.appended_after_close',
        outcome: 'failure',
        msg: `${channel}.log held records ${appended.checkpoint + 1} to ${appended.records} after its clean close; they were moved to ${appended.quarantine}`,
        data: { channel, ...appended },
      });
    }
    if (r.behindCheckpoint !== undefined) {
      events.push({
        channel: 'security',
        level: 'CRITICAL',
        event: 'log.integrity.behind_checkpoint',
        outcome: 'failure',
        msg: `${channel}.log holds ${r.behindCheckpoint.records} record(s) but its last checkpoint names ${r.behindCheckpoint.checkpoint}: records were removed`,
        data: { channel, ...r.behindCheckpoint },
      });
    }
  }
  return events;
}
