import type { Level } from './levels.js';
import type { Outcome } from './record.js';

/** A known event type: where it goes and how loud it is. */
export interface EventType {
  readonly channel: string;
  readonly level: Level;
  readonly outcome?: Outcome;
  readonly description: string;
}

/**
 * The event types the platform records for every critical action (DESIGN.md, "Traceability").
 * Producers may use other dotted types; these have typed helpers and stable meanings.
 */
export const EVENT_CATALOGUE = {
  'auth.login.success': {
    channel: 'audit',
    level: 'AUDIT',
    outcome: 'success',
    description: 'A user signed in.',
  },
  'auth.login.failure': {
    channel: 'security',
    level: 'SECURITY',
    outcome: 'failure',
    description: 'A sign-in attempt failed (wrong password, unknown account, locked account...).',
  },
  'auth.logout': {
    channel: 'audit',
    level: 'AUDIT',
    outcome: 'success',
    description: 'A user signed out.',
  },
  'project.generate': {
    channel: 'audit',
    level: 'AUDIT',
    description: 'A project was generated from a template.',
  },
  'template.import': { channel: 'audit', level: 'AUDIT', description: 'A template was imported.' },
  'template.export': { channel: 'audit', level: 'AUDIT', description: 'A template was exported.' },
  'data.sensitive.change': {
    channel: 'audit',
    level: 'AUDIT',
    description: 'Sensitive data was changed.',
  },
  'data.sensitive.delete': {
    channel: 'audit',
    level: 'AUDIT',
    description: 'Sensitive data was deleted.',
  },
  'job.run': {
    channel: 'scheduler',
    level: 'INFO',
    description: 'A script or scheduled job ran (exit code, duration).',
  },
  'job.started': {
    channel: 'scheduler',
    level: 'INFO',
    description: 'A built-in job or a script started (`dihya-logs run`, the scheduler).',
  },
  'job.finished': {
    channel: 'scheduler',
    level: 'INFO',
    outcome: 'success',
    description: 'A job or script finished: duration, counts, exit code.',
  },
  'job.failed': {
    channel: 'scheduler',
    level: 'ERROR',
    outcome: 'failure',
    description: 'A job or script failed: error code, exit code or signal, retry planned.',
  },
  'log.rotated': {
    channel: 'scheduler',
    level: 'INFO',
    description: 'A channel file was rotated into a segment (by size, day or request).',
  },
  'log.archive.sealed': {
    channel: 'scheduler',
    level: 'INFO',
    description: 'A rotated segment was compressed and sealed into the signed segment log.',
  },
  'retention.segment.deleted': {
    channel: 'audit',
    level: 'AUDIT',
    outcome: 'success',
    description: 'An archive past its retention was deleted; a signed tombstone replaces it.',
  },
  'retention.hold.set': {
    channel: 'audit',
    level: 'AUDIT',
    description: 'A legal hold suspends the deletion of a channel’s archives.',
  },
  'retention.hold.cleared': {
    channel: 'audit',
    level: 'AUDIT',
    description: 'A legal hold was lifted; retention applies again.',
  },
  'config.policy.changed': {
    channel: 'audit',
    level: 'AUDIT',
    outcome: 'success',
    description:
      'On open, the configuration states another log policy (retention, classification, detectors...): the changed keys, old and new values.',
  },
  'access.denied': {
    channel: 'security',
    level: 'SECURITY',
    outcome: 'denied',
    description: 'An action or a read was refused for lack of rights.',
  },
  'attack.detected': {
    channel: 'security',
    level: 'SECURITY',
    description: 'An attack was detected (injection attempt, brute force, scanning...).',
  },
  'log.recovery': {
    channel: 'security',
    level: 'WARNING',
    description: 'On open, an unfinished write was moved aside to .integrity/quarantine/.',
  },
  'log.integrity.appended_after_close': {
    channel: 'security',
    level: 'CRITICAL',
    description: 'On open, records were found after a clean close; they were moved to quarantine.',
  },
  'log.recovery.tail_signed': {
    channel: 'security',
    level: 'WARNING',
    description:
      'On open, records a crash left unsigned were checked against the last signed head and signed: how many, since which seq and when.',
  },
  'log.integrity.unproven': {
    channel: 'security',
    level: 'CRITICAL',
    description:
      'On open, records past the last signed state could not be proven (rewritten chain, checkpoints removed); they were signed only as found, and verify keeps reporting them.',
  },
  'log.integrity.checkpoints_cut': {
    channel: 'security',
    level: 'CRITICAL',
    description:
      'On open, the checkpoint log was found emptied, cut back or rewritten against what the segment log signed.',
  },
  'log.integrity.behind_checkpoint': {
    channel: 'security',
    level: 'CRITICAL',
    description: 'On open, a channel file held fewer records than its last signed checkpoint.',
  },
  'log.integrity.rollback': {
    channel: 'security',
    level: 'CRITICAL',
    outcome: 'failure',
    description:
      'A witness has cosigned a larger tree of a channel than the log now holds: the log was rolled back (restored from an older copy) or forked. Names the witness, the witnessed size and the local size.',
  },
  'log.integrity.fork': {
    channel: 'security',
    level: 'CRITICAL',
    outcome: 'failure',
    description:
      'A witness refused a checkpoint as inconsistent with the tree it cosigned (same size and another root, or the consistency proof does not hold): the log’s history was rewritten or forked.',
  },
  'log.witness.unreachable': {
    channel: 'security',
    level: 'WARNING',
    outcome: 'failure',
    description:
      'A configured witness cannot be reached (network error, timeout, 5xx), does not know the log’s origin or key, or answered without a valid cosignature; checkpoints are sent again later, with backoff.',
  },
  'log.witness.reachable': {
    channel: 'security',
    level: 'INFO',
    outcome: 'success',
    description: 'A witness reported unreachable answers again.',
  },
} as const satisfies Record<string, EventType>;

export type KnownEventType = keyof typeof EVENT_CATALOGUE;
