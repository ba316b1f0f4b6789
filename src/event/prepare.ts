import { LogsError } from '../errors.js';
import { assertChannelName, defaultChannelForLevel } from './channels.js';
import { parseLevel, type Level } from './levels.js';
import {
  INPUT_FIELDS,
  OUTCOMES,
  RESERVED_FIELDS,
  type EventInput,
  type Outcome,
} from './record.js';
import { ValueSerializer, quote, type ValueLimits } from './serialize.js';

/**
 * An event validated and serialized, waiting for its seq and ts. The canonical record is
 * `pre + "seq":N, + mid + "ts":"…"` + `}`: keys in RFC 8785 order, so sealing it is string
 * concatenation, not a second serialization.
 */
export interface PreparedEvent extends Sealable {
  readonly channel: string;
  readonly level: Level;
  readonly event: string;
}

/** The serialized fields of an event, around the seq and ts the writer adds. */
export interface Sealable {
  /** `{` and every sorted field before `seq`, each followed by a comma. */
  readonly pre: string;
  /** Every sorted field between `seq` and `ts`, each followed by a comma. */
  readonly mid: string;
}

// `"seq":<16 digits>,"ts":"<24>","ts_skew_ms":<16>,"hash":"<64>"}` and a newline.
const SEALED_OVERHEAD = 160;
const EVENT_TYPE = /^[a-z0-9][\w-]*(?:\.[a-z0-9][\w-]*)*$/i;
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;
const INPUT_FIELD_SET: ReadonlySet<string> = new Set(INPUT_FIELDS);
const RESERVED_FIELD_SET: ReadonlySet<string> = new Set(RESERVED_FIELDS);

/**
 * Validate and serialize an event. Throws a LogsError naming the field for anything wrong, so a
 * rejected event never reaches the sequencer, let alone the disk.
 */
export function prepareEvent(input: unknown, limits: ValueLimits): PreparedEvent {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new LogsError('EVENT_INVALID', 'an event must be a JSON object');
  }
  for (const key of Object.keys(input)) {
    if (INPUT_FIELD_SET.has(key)) continue;
    if (RESERVED_FIELD_SET.has(key)) {
      throw new LogsError(
        'EVENT_FIELD_RESERVED',
        `field "${key}" is set by the writer, not the producer`,
      );
    }
    throw new LogsError(
      'EVENT_INVALID',
      `unknown field ${JSON.stringify(key.slice(0, 64))}: put it under "data"`,
    );
  }
  return prepareFields(input, limits);
}

/** prepareEvent for input built by the library itself (no unknown keys to look for). */
export function prepareFields(input: EventInput, limits: ValueLimits): PreparedEvent {
  const level = parseLevel(input.level ?? 'INFO');
  const channel =
    input.channel === undefined ? defaultChannelForLevel(level) : assertChannelName(input.channel);
  const event = input.event ?? 'log';
  if (typeof event !== 'string' || event.length > 128 || !EVENT_TYPE.test(event)) {
    throw new LogsError(
      'EVENT_INVALID',
      'event: expected a dotted type such as "auth.login.failure" (letters, digits, _ and -, at most 128 characters)',
    );
  }
  const s = new ValueSerializer(limits);
  let pre = '{';
  pre += entry('actor', party(s, input.actor, 'actor'));
  pre += `"channel":"${channel}",`;
  pre += entry('data', data(s, input.data));
  pre += `"event":"${event}","level":"${level}",`;
  pre += entry('msg', msg(s, input.msg));
  pre += entry('outcome', outcome(input.outcome));
  pre += entry('request_id', requestId(input.request_id));
  const mid = entry('target', party(s, input.target, 'target'));
  // Exact bound on the stored line: the fields, plus seq, ts, a clock flag and the hash.
  if (Buffer.byteLength(pre) + Buffer.byteLength(mid) + SEALED_OVERHEAD > limits.maxRecordBytes) {
    throw new LogsError(
      'EVENT_TOO_LARGE',
      `event: the record would exceed ${limits.maxRecordBytes} bytes`,
    );
  }
  return { channel, level, event, pre, mid };
}

function entry(key: string, json: string | undefined): string {
  return json === undefined ? '' : `"${key}":${json},`;
}

function party(s: ValueSerializer, v: unknown, field: 'actor' | 'target'): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return s.field({ id: v }, field);
  if (typeof v === 'object' && !Array.isArray(v)) return s.field(v, field);
  throw new LogsError('EVENT_INVALID', `${field}: expected an id string or an object`);
}

function data(s: ValueSerializer, v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'object' && !Array.isArray(v)) {
    const text = s.field(v, 'data');
    return text === '{}' ? undefined : text;
  }
  throw new LogsError('EVENT_INVALID', 'data: expected an object');
}

function msg(s: ValueSerializer, v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw new LogsError('EVENT_INVALID', 'msg: expected a string');
  return s.field(v, 'msg');
}

function outcome(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (!(OUTCOMES as readonly unknown[]).includes(v)) {
    throw new LogsError('EVENT_INVALID', `outcome: expected one of ${OUTCOMES.join(', ')}`);
  }
  return `"${v as Outcome}"`;
}

function requestId(v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !REQUEST_ID.test(v)) {
    throw new LogsError('EVENT_INVALID', 'request_id: expected 1-128 visible ASCII characters');
  }
  return quote(v);
}

/**
 * Give a prepared event its place: the canonical record text (without `hash`).
 * `skewMs` > 0 records that the wall clock went back by that much since the previous record.
 */
export function sealEvent(p: Sealable, seq: number, ts: string, skewMs: number): string {
  const skew = skewMs > 0 ? `,"ts_skew_ms":${skewMs}` : '';
  return `${p.pre}"seq":${seq},${p.mid}"ts":"${ts}"${skew}}`;
}
