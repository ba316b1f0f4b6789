import type { EventInput } from '../../event/record.js';
import type { RecoveredChannel } from './recovery.js';
import type { QuarantineNote } from './quarantine.js';
import type { OpenFindings } from './signed-state.js';

/**
 * The security events that say what open() found and did: unfinished writes moved aside,
 * records found after a clean close, a file shorter than its last checkpoint.
 */
export function recoveryEvents(
  recovered: ReadonlyMap<string, RecoveredChannel>,
  integrityLogs: ReadonlyArray<QuarantineNote | undefined>,
  findings?: OpenFindings,
): EventInput[] {
  const events: EventInput[] = [];
  if (findings?.checkpointsCut !== undefined) {
    events.push({
      channel: 'security',
      level: 'CRITICAL',
      event: 'log.integrity.checkpoints_cut',
      outcome: 'failure',
      msg: `the checkpoint log was tampered with: ${findings.checkpointsCut}; run: dihya-logs verify`,
      data: { reason: findings.checkpointsCut },
    });
  }
  for (const [channel, a] of findings?.adopt ?? []) {
    const r = recovered.get(channel);
    if (r === undefined) continue;
    const first = r.proof.first;
    const u = a.unproven;
    events.push(
      u === undefined
        ? {
            channel: 'security',
            level: 'WARNING',
            event: 'log.recovery.tail_signed',
            outcome: 'success',
            msg: `${channel}: signing ${r.proof.unsigned} record(s) a crash left unsigned, since seq ${first?.seq ?? '?'} (${first?.ts ?? 'time unknown'}); they continue the chain from the last signed head`,
            data: {
              channel,
              records: r.proof.unsigned,
              ...(first === undefined ? {} : { first: first.seq, since: first.ts }),
              last: r.state.seq,
            },
          }
        : {
            channel: 'security',
            level: 'CRITICAL',
            event: 'log.integrity.unproven',
            outcome: 'failure',
            msg: `${channel}: seq ${u.first} to ${u.last} could not be proven and were signed only as found (verify keeps reporting them): ${u.reason}`,
            data: { channel, first: u.first, last: u.last, reason: u.reason },
          },
    );
  }
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
