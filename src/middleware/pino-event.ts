import { OUTCOMES, isReservedEvent, type EventInput, type Outcome } from '../event/record.js';
import { severityLevel } from '../event/levels.js';

/** How pino's lines become events. */
export interface PinoMapping {
  /** The channel of the events. Default `app`. */
  readonly channel: string;
  /** pino's `messageKey`. Default `msg`. */
  readonly messageKey: string;
}

/** The event type of a pino line without a valid `event` field of its own. */
export const PINO_EVENT = 'pino.log';

const EVENT_TYPE = /^[a-z0-9][\w-]*(?:\.[a-z0-9][\w-]*)*$/i;
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;
const OUTCOME_SET: ReadonlySet<string> = new Set(OUTCOMES);

type Fields = Record<string, unknown>;

/**
 * One pino log object as an event. The level maps by rank (trace and debug → DEBUG, info →
 * INFO, warn → WARNING, error → ERROR, fatal → CRITICAL; custom levels by the range they fall
 * in); the message becomes `msg`; `reqId` (or `req.id`) the request id; `event`, `actor`,
 * `target`, `subject` and `outcome` the record's fields when valid, as with the library's
 * loggers; `time` becomes `data.time`, `pid` `data.pid` and `hostname` `data.host`; every other
 * field goes under `data` unchanged, the classification applying to it as to any event.
 */
export function pinoEvent(line: Fields, mapping: PinoMapping): EventInput {
  // No prototype: a `__proto__` key from the JSON stays a plain key.
  const data = Object.create(null) as Fields;
  const event: EventInput = { channel: mapping.channel, level: 'INFO', event: PINO_EVENT };
  for (const key of Object.keys(line)) {
    const v = line[key];
    if (key === mapping.messageKey && typeof v === 'string') {
      event.msg = v;
      continue;
    }
    switch (key) {
      case 'level':
        event.level = levelOf(v);
        continue;
      case 'hostname':
        data.host = v;
        continue;
      case 'reqId':
        if (isRequestId(v)) {
          event.request_id = String(v);
          continue;
        }
        break;
      case 'event':
        if (typeof v === 'string' && isEventType(v)) {
          event.event = v;
          continue;
        }
        break;
      case 'actor':
      case 'target':
        if (typeof v === 'string' || isObject(v)) {
          event[key] = v;
          continue;
        }
        if (typeof v === 'number') {
          event[key] = String(v);
          continue;
        }
        break;
      case 'subject':
        if (typeof v === 'string' && v !== '') {
          event.subject = v;
          continue;
        }
        break;
      case 'outcome':
        if (typeof v === 'string' && OUTCOME_SET.has(v)) {
          event.outcome = v as Outcome;
          continue;
        }
        break;
    }
    data[key] = v; // time, pid and everything else
  }
  if (event.request_id === undefined) {
    const req = line.req;
    if (isObject(req) && isRequestId(req.id)) event.request_id = String(req.id);
  }
  if (Object.keys(data).length > 0) event.data = data;
  return event;
}

function levelOf(v: unknown): string {
  if (typeof v === 'number') {
    if (v >= 60) return 'CRITICAL';
    if (v >= 50) return 'ERROR';
    if (v >= 40) return 'WARNING';
    return v >= 30 ? 'INFO' : 'DEBUG';
  }
  return severityLevel(v) ?? 'INFO';
}

function isEventType(v: string): boolean {
  return v.length <= 128 && EVENT_TYPE.test(v) && !isReservedEvent(v);
}

function isRequestId(v: unknown): v is string | number {
  return (
    (typeof v === 'string' && REQUEST_ID.test(v)) ||
    (typeof v === 'number' && Number.isSafeInteger(v))
  );
}

function isObject(v: unknown): v is Fields {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
