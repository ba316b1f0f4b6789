import { LogsError } from '../errors.js';
import type { Classifier } from '../redact/classifier.js';
import type { PiiPlan } from '../crypto/pii-cipher.js';
import type { ClassificationSettings } from '../redact/settings.js';
import { PiiContext } from './pii.js';
import { assertChannelName, defaultChannelForLevel } from '../event/channels.js';
import { parseLevel, type Level } from '../event/levels.js';
import {
  INPUT_FIELDS,
  OUTCOMES,
  RESERVED_FIELDS,
  type EventInput,
  type Outcome,
} from '../event/record.js';
import { ValueSerializer, quote, type Classification, type ValueLimits } from './serialize.js';

/**
 * An event validated, classified and serialized, waiting for its seq and ts (and, when it holds
 * personal data, for its `pii` to be encrypted, which binds the ciphertext to its seq). The
 * canonical record is `pre` + `"pii":{...},` + `post` + `"seq":N,` + `mid` + `"ts":"…"}`: keys in
 * RFC 8785 order, so sealing it is string concatenation, not a second serialization.
 */
export interface PreparedEvent extends Sealable {
  readonly channel: string;
  readonly level: Level;
  readonly event: string;
}

/** The serialized fields of an event, around what the writer adds. */
export interface Sealable {
  /** `{` and the sorted fields before `pii` (actor ... outcome), each followed by a comma. */
  readonly pre: string;
  /** The sorted fields between `pii` and `seq` (request_id), each followed by a comma. */
  readonly post: string;
  /** The sorted fields between `seq` and `ts` (sub, target), each followed by a comma. */
  readonly mid: string;
  /** Personal data to encrypt, one plaintext per person; absent when there is none. */
  readonly pii?: readonly PiiPlan[] | undefined;
  /**
   * The record's `idempotency_key`, exactly as stored (in `pre`); undefined when it has none.
   * A store answers a second record with the same key in the same channel, within its window,
   * with the first one's ack and stores nothing.
   */
  readonly idem?: string | undefined;
}

export interface PrepareOptions extends ValueLimits {
  /** Absent: values are stored as given (trusted, internal events only). */
  readonly classification?: ClassificationSettings | undefined;
}

// `"seq":<16 digits>,"ts":"<24>","ts_skew_ms":<16>,"hash":"<64>"}` and a newline.
const SEALED_OVERHEAD = 160;
const EVENT_TYPE = /^[a-z0-9][\w-]*(?:\.[a-z0-9][\w-]*)*$/i;
const INPUT_FIELD_SET: ReadonlySet<string> = new Set(INPUT_FIELDS);
const RESERVED_FIELD_SET: ReadonlySet<string> = new Set(RESERVED_FIELDS);

/**
 * Validate, classify and serialize an event. Throws a LogsError naming the field for anything
 * wrong, so a rejected event never reaches the sequencer, let alone the disk. Messages never
 * repeat the producer's values: they may be secrets.
 */
export function prepareEvent(input: unknown, options: PrepareOptions): PreparedEvent {
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
    // A mistyped field name is named back only when it is a plain word, not a secret.
    const classifier = options.classification?.classifier;
    const plain =
      /^[\w-]{1,32}$/.test(key) && (classifier === undefined || classifier.isPlain(key));
    const shown = plain ? `"${key}"` : '(a field name)';
    throw new LogsError('EVENT_INVALID', `unknown field ${shown}: put it under "data"`);
  }
  return prepareFields(input, options);
}

/** prepareEvent for input built by the library itself (no unknown keys to look for). */
export function prepareFields(input: EventInput, options: PrepareOptions): PreparedEvent {
  const level = parseLevel(input.level ?? 'INFO');
  const channel =
    input.channel === undefined ? defaultChannelForLevel(level) : assertChannelName(input.channel);
  if (options.classification !== undefined && !options.classification.classifier.isPlain(channel)) {
    throw new LogsError(
      'EVENT_CHANNEL_UNKNOWN',
      'channel: the name holds what looks like a secret or personal data',
    );
  }
  const event = eventType(input.event, options.classification?.classifier);
  const settings = options.classification;
  const actor = asParty(input.actor, 'actor');
  const target = asParty(input.target, 'target');
  const targetIsPerson =
    settings !== undefined && target !== undefined && settings.personTypes.has(String(target.type));
  const ctx =
    settings === undefined
      ? undefined
      : new PiiContext(
          settings.keys,
          subjectOf(settings.subjectFields, input, actor, targetIsPerson ? target : undefined),
        );
  const classify: Classification | undefined =
    settings === undefined || ctx === undefined
      ? undefined
      : { classifier: settings.classifier, ctx };
  const s = new ValueSerializer(options, classify);

  let pre = '{';
  if (actor !== undefined) {
    pre += owned(ctx, partyId(actor), () =>
      entry('actor', s.field(actor, 'actor', settings?.actorRules)),
    );
  }
  pre += `"channel":"${channel}",`;
  pre += entry('data', data(s, input.data));
  const idem = idempotencyKey(s, input.idempotency_key);
  pre +=
    idem === undefined
      ? `"event":"${event}","level":"${level}",`
      : `"event":"${event}","idempotency_key":${quote(idem)},"level":"${level}",`;
  pre += entry('msg', msg(s, input.msg));
  pre += entry('outcome', outcome(input.outcome));
  const post = entry('request_id', requestId(s, input.request_id));
  let targetText = '';
  if (target !== undefined) {
    targetText = targetIsPerson
      ? owned(ctx, partyId(target), () =>
          entry('target', s.field(target, 'target', settings.personRules)),
        )
      : entry('target', s.field(target, 'target'));
  }
  const finished = ctx?.finish();
  const mid = (finished?.sub === undefined ? '' : `"sub":${quote(finished.sub)},`) + targetText;
  const pii = finished !== undefined && finished.plans.length > 0 ? finished.plans : undefined;
  // Bound on the stored line: the fields, plus seq, ts, a clock flag and the hash; and, for
  // personal data, its ciphertext (base64 of nonce, text and tag, with its pseudonym). UTF-8
  // takes at most 3 bytes per UTF-16 unit: the exact count is only needed near the limit.
  let piiChars = 0;
  if (pii !== undefined)
    for (const p of pii) piiChars += p.plain.length * 4 + p.pseudonym.length + 60;
  const chars = pre.length + post.length + mid.length;
  if (chars * 3 + piiChars + SEALED_OVERHEAD > options.maxRecordBytes) {
    let piiBytes = 8;
    if (pii !== undefined)
      for (const p of pii)
        piiBytes += Math.ceil((Buffer.byteLength(p.plain) + 28) / 3) * 4 + p.pseudonym.length + 8;
    const bytes =
      Buffer.byteLength(pre) + Buffer.byteLength(post) + Buffer.byteLength(mid) + piiBytes;
    if (bytes + SEALED_OVERHEAD > options.maxRecordBytes) {
      throw new LogsError(
        'EVENT_TOO_LARGE',
        `event: the record would exceed ${options.maxRecordBytes} bytes`,
      );
    }
  }
  if (idem === undefined)
    return { channel, level, event, pre, post, mid, ...(pii === undefined ? {} : { pii }) };
  return { channel, level, event, pre, post, mid, ...(pii === undefined ? {} : { pii }), idem };
}

/** Run `fn` with the personal values found attributed to `owner` (a party's own id). */
function owned(ctx: PiiContext | undefined, owner: string | undefined, fn: () => string): string {
  if (ctx === undefined || owner === undefined) return fn();
  const before = ctx.owner;
  ctx.owner = owner;
  try {
    return fn();
  } finally {
    ctx.owner = before;
  }
}

type Party = Record<string, unknown>;

function asParty(v: unknown, field: 'actor' | 'target'): Party | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string' || typeof v === 'number') return { id: String(v) };
  if (typeof v === 'object' && !Array.isArray(v)) return v as Party;
  throw new LogsError('EVENT_INVALID', `${field}: expected an id string or an object`);
}

function partyId(p: Party): string | undefined {
  const id = p.id ?? p.email;
  return typeof id === 'string' || typeof id === 'number' ? String(id) : undefined;
}

/** The record's subject: the first of the configured fields that is present. */
function subjectOf(
  fields: ReadonlyArray<readonly [string, string]>,
  input: EventInput,
  actor: Party | undefined,
  person: Party | undefined,
): string | undefined {
  for (let i = 0; i < fields.length; i++) {
    const [head, leaf] = fields[i] as readonly [string, string];
    const v =
      head === 'subject'
        ? input.subject
        : head === 'actor'
          ? actor?.[leaf]
          : head === 'target'
            ? person?.[leaf]
            : undefined;
    if (typeof v === 'string' && v !== '') return subjectId(v);
    if (typeof v === 'number') return String(v);
  }
  // An actor known only by an e-mail address is its own subject.
  const email = actor?.email;
  return typeof email === 'string' && email !== '' ? subjectId(email) : undefined;
}

/** E-mail addresses name one person whatever their case: one subject, one pseudonym. */
function subjectId(id: string): string {
  return id.includes('@') && !/\s/.test(id) ? id.toLowerCase() : id;
}

// Event types seen valid: a program logs a few hundred kinds of events, again and again.
const knownTypes = new Set<string>();
const KNOWN_TYPES_MAX = 4096;

function eventType(v: unknown, classifier: Classifier | undefined): string {
  const event = v ?? 'log';
  if (typeof event === 'string' && knownTypes.has(event)) {
    if (classifier === undefined || classifier.isPlain(event)) return event;
  }
  if (typeof event !== 'string' || event.length > 128 || !EVENT_TYPE.test(event)) {
    throw new LogsError(
      'EVENT_INVALID',
      'event: expected a dotted type such as "auth.login.failure" (letters, digits, _ and -, at most 128 characters)',
    );
  }
  // An event type is stored as it is: refuse one that holds a secret or personal data.
  if (classifier !== undefined && !classifier.isPlain(event)) {
    throw new LogsError(
      'EVENT_INVALID',
      'event: the type holds what looks like a secret or personal data',
    );
  }
  if (knownTypes.size < KNOWN_TYPES_MAX) knownTypes.add(event);
  return event;
}

/** 1 to `max` characters from `!` to `~`. */
function isVisibleAscii(s: string, max: number): boolean {
  if (s.length === 0 || s.length > max) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

function entry(key: string, json: string | undefined): string {
  return json === undefined ? '' : `"${key}":${json},`;
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

function requestId(s: ValueSerializer, v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !isVisibleAscii(v, 128)) {
    throw new LogsError('EVENT_INVALID', 'request_id: expected 1-128 visible ASCII characters');
  }
  // Classified like any string: a request id is no place for a token or an e-mail.
  return s.field(v, 'request_id');
}

/**
 * An idempotency key: checked as a request id is, and classified like any string. One that
 * classification would change is refused rather than stored changed: two keys differing only
 * by an e-mail address would both become `[email#1]`, and the second event would be taken for
 * a retry of the first and never stored.
 */
function idempotencyKey(s: ValueSerializer, v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !isVisibleAscii(v, 128)) {
    throw new LogsError(
      'EVENT_INVALID',
      'idempotency_key: expected 1-128 visible ASCII characters',
    );
  }
  if (s.field(v, 'idempotency_key') !== quote(v)) {
    throw new LogsError(
      'EVENT_INVALID',
      'idempotency_key: holds what looks like a secret or personal data; use an opaque key (a UUID)',
    );
  }
  return v;
}

/**
 * Give a prepared event its place: the canonical record text (without `hash`). `piiJson` is
 * the encrypted `pii` object, when the event has personal data. `skewMs` > 0 records that the
 * wall clock went back by that much since the previous record.
 */
export function sealEvent(
  p: Sealable,
  seq: number,
  ts: string,
  skewMs: number,
  piiJson?: string,
): string {
  const skew = skewMs > 0 ? `,"ts_skew_ms":${skewMs}` : '';
  const pii = piiJson === undefined ? '' : `"pii":${piiJson},`;
  return `${p.pre}${pii}${p.post}"seq":${seq},${p.mid}"ts":"${ts}"${skew}}`;
}
