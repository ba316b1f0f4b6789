import type { Level } from './levels.js';

/** What a producer may give. The writer sets seq, ts and hash; classification sets sub and pii. */
export interface EventInput {
  channel?: string;
  /** One of the seven levels, any case (INFO when absent). */
  level?: string;
  /** Dotted event type such as `auth.login.failure`; `log` when absent. */
  event?: string;
  msg?: string;
  /** Who acted: an id string, or an object such as `{ id, type, ip }`. */
  actor?: string | Record<string, unknown>;
  /** What was acted on: an id string, or an object such as `{ type: 'project', id }`. */
  target?: string | Record<string, unknown>;
  outcome?: Outcome;
  request_id?: string;
  /**
   * Makes a retry safe: an event whose key its channel already stored (within
   * `idempotency.window_ms`) is not stored again, and is answered with the first one's seq and
   * hash. 1-128 visible ASCII characters; stored in the record, so it holds across restarts.
   */
  idempotency_key?: string;
  data?: Record<string, unknown>;
  /**
   * The person the record is about (a user id, an e-mail), when it is not the actor. Never
   * stored as given: it becomes `sub`, a pseudonym, and is kept encrypted under that person's key.
   */
  subject?: string;
}

export const OUTCOMES = ['success', 'failure', 'denied', 'error', 'pending', 'unknown'] as const;
export type Outcome = (typeof OUTCOMES)[number];

/** A stored record, as read back from a channel file. */
export interface LogRecord {
  seq: number;
  ts: string;
  level: Level;
  channel: string;
  event: string;
  /** The producer's idempotency key, when it gave one. */
  idempotency_key?: string;
  msg?: string;
  actor?: Record<string, unknown>;
  target?: Record<string, unknown>;
  outcome?: Outcome;
  request_id?: string;
  data?: Record<string, unknown>;
  /** Pseudonym of the record's subject. */
  sub?: string;
  /** Each person's personal values, AES-256-GCM under their key: pseudonym → base64. */
  pii?: Record<string, string>;
  /** Milliseconds the wall clock went back compared with the previous record of the channel. */
  ts_skew_ms?: number;
  hash: string;
}

/** Fields of EventInput, in the order a producer thinks of them. */
export const INPUT_FIELDS = [
  'channel',
  'level',
  'event',
  'msg',
  'actor',
  'target',
  'outcome',
  'request_id',
  'idempotency_key',
  'data',
  'subject',
] as const;

/** Fields only the writer (or classification) sets. */
/** Event types only dihya-logs writes: GDPR requests (the request register is read from them). */
export const RESERVED_EVENT_PREFIX = 'gdpr.';

/** Alerts raised by the detectors (`alert.*`, in `security`). */
export const ALERT_EVENT_PREFIX = 'alert.';

/** A change of the configuration that the log policy states (`audit`). */
export const POLICY_CHANGE_EVENT = 'config.policy.changed';

/**
 * Event types only dihya-logs itself writes (GDPR requests, alerts, policy changes): producers
 * cannot forge them.
 */
/**
 * Events about the log's own integrity (what an open found, what witnesses answered): written
 * by dihya-logs only, so a producer cannot raise a tampering alert or fake a recovery.
 */
export const INTEGRITY_EVENT_PREFIXES = ['log.integrity.', 'log.witness.', 'log.recovery'] as const;

export function isIntegrityEvent(type: string): boolean {
  return INTEGRITY_EVENT_PREFIXES.some((p) => type.startsWith(p));
}

export function isReservedEvent(type: string): boolean {
  return (
    type.startsWith(RESERVED_EVENT_PREFIX) ||
    type.startsWith(ALERT_EVENT_PREFIX) ||
    type === POLICY_CHANGE_EVENT ||
    isIntegrityEvent(type)
  );
}

export const RESERVED_FIELDS = ['seq', 'ts', 'hash', 'sub', 'pii', 'ts_skew_ms'] as const;
