import { severityLevel, syslogSeverityLevel, type Level } from '../event/levels.js';
import type { EventInput } from '../event/record.js';

/** The event type of a record posted by a log shipper (`POST /v1/events?foreign=true`). */
export const FOREIGN_EVENT = 'shipped.log';

// Looked for in this order; the first present is the one read. `time` comes first so that the
// `data.time` it becomes can never meet another field of that name.
const MESSAGE_KEYS = ['message', 'msg', 'MESSAGE', 'log'] as const;
const SEVERITY_KEYS = ['level', 'severity', 'LEVEL', 'SEVERITY', 'PRIORITY', 'priority'] as const;
const TIME_KEYS = ['time', 'timestamp', '@timestamp', 'date', 'ISODATE', 'DATE'] as const;

// RFC 3339 / ISO 8601 with a date, a time and a zone. Anything else (syslog's `Dec  7 10:00:01`)
// is not guessed at: Date.parse would read it in the local zone, in some year.
const ISO_TIME =
  /^(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2})?)(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})$/i;
const UPPER_KEY = /^_*[A-Z][A-Z0-9_]*$/;

type Fields = Record<string, unknown>;

/**
 * One record as a log shipper sends it (syslog-ng's `format-json`, Fluent Bit's `json`, Vector's
 * `json` codec, journald's fields) as an event of `channel`, event type `shipped.log`:
 * - the first string among `message`, `msg`, `MESSAGE`, `log` becomes `msg`, without a final
 *   line end;
 * - the first of `level`, `severity`, `LEVEL`, `SEVERITY`, `PRIORITY`, `priority` the level
 *   (a severity name, a syslog severity 0-7, a pino rank 10-60); AUDIT or SECURITY never. Read,
 *   it is removed, unless it spells something else than the level (`notice`, `5`), which then
 *   stays under `data`; unread, it stays and the level is INFO;
 * - the first of `time`, `timestamp`, `@timestamp`, `date`, `ISODATE`, `DATE` becomes
 *   `data.time` (ISO 8601 in ms) when it is an RFC 3339 time or epoch seconds, ms, µs or ns; a
 *   time it cannot read stays as it is;
 * - every other field goes under `data`, upper-case names (syslog-ng's macros, journald's
 *   fields) lower-cased when that name is free: `HOST` → `data.host`, `PROGRAM` → `data.program`.
 * Never refuses: what the writer refuses (size, depth) it refuses as for any event. A value that
 * is not an object is left as it is, for the writer to refuse.
 */
export function foreignEvent(record: unknown, channel: string): unknown {
  if (typeof record !== 'object' || record === null || Array.isArray(record)) return record;
  const fields = record as Fields;
  // No prototype: a field named like an Object method stays a plain key.
  const data = Object.create(null) as Fields;
  const event: EventInput = { channel, level: 'INFO', event: FOREIGN_EVENT };
  const used = new Set<string>();

  const msgKey = MESSAGE_KEYS.find((k) => typeof fields[k] === 'string');
  if (msgKey !== undefined) {
    used.add(msgKey);
    // Container runtimes keep the line's end in `log`: it is not part of the message.
    const text = (fields[msgKey] as string).replace(/\r?\n$/, '');
    if (text !== '') event.msg = text;
  }

  const levelKey = SEVERITY_KEYS.find((k) => Object.hasOwn(fields, k));
  if (levelKey !== undefined) {
    const given = fields[levelKey];
    const level = foreignLevel(given);
    if (level !== undefined) event.level = level;
    // `notice`, `alert` or `5` say more than the level: what was said stays, under data.
    if (typeof given === 'string' && given.toUpperCase() === level) used.add(levelKey);
  }

  const timeKey = TIME_KEYS.find((k) => Object.hasOwn(fields, k));
  if (timeKey !== undefined) {
    const time = foreignTime(fields[timeKey]);
    if (time !== undefined) {
      data.time = time;
      used.add(timeKey);
    }
  }

  for (const key of Object.keys(fields)) {
    if (used.has(key)) continue;
    let name = key;
    if (UPPER_KEY.test(key)) {
      const lower = key.toLowerCase();
      if (!Object.hasOwn(fields, lower) && !Object.hasOwn(data, lower)) name = lower;
    }
    if (!Object.hasOwn(data, name)) data[name] = fields[key];
    else data[key] = fields[key];
  }
  if (Object.keys(data).length > 0) event.data = data;
  return event;
}

/**
 * A foreign severity as a level: a name (any case: syslog's, pino's, OTLP's), a syslog severity
 * 0-7 (number or digit), or a pino / bunyan rank (10 trace ... 60 fatal). Undefined otherwise.
 */
export function foreignLevel(v: unknown): Level | undefined {
  if (typeof v === 'string') return severityLevel(v) ?? syslogSeverityLevel(v);
  if (typeof v !== 'number' || !Number.isInteger(v)) return undefined;
  if (v <= 7) return syslogSeverityLevel(v);
  if (v < 10) return undefined;
  if (v >= 60) return 'CRITICAL';
  if (v >= 50) return 'ERROR';
  if (v >= 40) return 'WARNING';
  return v >= 30 ? 'INFO' : 'DEBUG';
}

// Epoch numbers by magnitude: below 1e11 seconds (until the year 5138), then ms, µs, ns.
const EPOCH_UNITS: ReadonlyArray<readonly [number, number]> = [
  [1e11, 1000],
  [1e14, 1],
  [1e17, 1e-3],
  [Infinity, 1e-6],
];

/** A time as ISO 8601 in ms (UTC), or undefined when it is not one we can read for sure. */
export function foreignTime(v: unknown): string | undefined {
  let ms: number;
  if (typeof v === 'number') {
    if (!Number.isFinite(v) || v < 0) return undefined;
    const unit = EPOCH_UNITS.find(([below]) => v < below) as readonly [number, number];
    ms = Math.round(v * unit[1]);
  } else if (typeof v === 'string' && v.length <= 64) {
    const m = ISO_TIME.exec(v);
    if (m === null) return undefined;
    const [, day, clock, fraction, zone] = m as unknown as [
      string,
      string,
      string,
      string | undefined,
      string,
    ];
    // Date.parse wants at most milliseconds and a zone with a colon.
    const frac = fraction === undefined ? '' : `.${fraction.slice(0, 3).padEnd(3, '0')}`;
    const z = zone.length === 5 ? `${zone.slice(0, 3)}:${zone.slice(3)}` : zone.toUpperCase();
    ms = Date.parse(`${day}T${clock.length === 5 ? `${clock}:00` : clock}${frac}${z}`);
  } else return undefined;
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString();
}
