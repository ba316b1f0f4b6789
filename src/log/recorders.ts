import { LogsError } from '../errors.js';
import {
  ALERT_EVENT_PREFIX,
  POLICY_CHANGE_EVENT,
  RESERVED_EVENT_PREFIX,
  isIntegrityEvent,
  type EventInput,
} from '../event/record.js';
import type { Ack } from '../store/store.js';
import type { CoreAccess } from './core-access.js';
import type { KeyAdmin } from './key-admin.js';

/**
 * The recorders of reserved event types: GDPR requests (`gdpr.*`), alerts (`alert.*`), the
 * log's own integrity (`log.integrity.*`, `log.witness.*`) and policy changes. Producers cannot
 * write these types, so each such record in the log was written by dihya-logs itself: the GDPR
 * module, the detectors, the witness client, the open.
 */
export class Recorders {
  constructor(
    private readonly core: CoreAccess,
    private readonly keys: KeyAdmin,
  ) {}

  /**
   * Record a GDPR request event (`gdpr.*`, in `audit`, durable). Only the GDPR module calls
   * this: producers cannot write `gdpr.*` events, so the request register (and the scheduled
   * erasures it drives) holds only what dihya-logs itself recorded.
   */
  recordRequest(event: EventInput): Promise<Ack> {
    if (!event.event?.startsWith(RESERVED_EVENT_PREFIX))
      return Promise.reject(new LogsError('INTERNAL', 'recordRequest takes gdpr.* events only'));
    return this.core
      .writeInternal({ channel: 'audit', level: 'AUDIT', ...event }, { wait: 'durable' })
      .then((ack) => {
        if (ack === null) throw new LogsError('EVENT_INVALID', 'audit: below the minimum level');
        this.keys.warrant(ack, event);
        return ack;
      });
  }

  /**
   * Record an alert (`alert.*`, in `security`, durable). Only the detectors call this:
   * producers cannot write `alert.*` events, so an alert in the log was raised by dihya-logs.
   */
  recordAlert(event: EventInput): Promise<Ack> {
    if (!event.event?.startsWith(ALERT_EVENT_PREFIX))
      return Promise.reject(new LogsError('INTERNAL', 'recordAlert takes alert.* events only'));
    return this.core
      .writeInternal({ channel: 'security', level: 'SECURITY', ...event }, { wait: 'durable' })
      .then((ack) => {
        if (ack === null) throw new LogsError('EVENT_INVALID', 'security: below the minimum level');
        return ack;
      });
  }

  /**
   * Record an event about the log's own integrity (`log.integrity.*`, `log.witness.*`, in
   * `security`, durable): what the witnesses answered. Only dihya-logs calls this; producers
   * cannot write these event types.
   */
  recordIntegrity(event: EventInput): Promise<Ack | null> {
    if (event.event === undefined || !isIntegrityEvent(event.event))
      return Promise.reject(
        new LogsError('INTERNAL', 'recordIntegrity takes log.integrity.* and log.witness.* events'),
      );
    return this.core.writeInternal({ channel: 'security', ...event }, { wait: 'durable' });
  }

  /**
   * Record a change of the policy the configuration states (`config.policy.changed`, in
   * `audit`, durable): written when the logs are opened, never by producers. Null when the
   * audit channel's minimum level drops it.
   */
  recordPolicyChange(event: EventInput): Promise<Ack | null> {
    if (event.event !== POLICY_CHANGE_EVENT)
      return Promise.reject(
        new LogsError('INTERNAL', `recordPolicyChange takes ${POLICY_CHANGE_EVENT} events only`),
      );
    return this.core.writeInternal({ channel: 'audit', ...event }, { wait: 'durable' });
  }
}
