import { LogsError } from '../errors.js';
import { severityLevel, type Level } from '../event/levels.js';
import { isReservedEvent, type EventInput } from '../event/record.js';
import { decodeUtf8, parseJson } from './body.js';
import {
  OtlpReader,
  decodeOtlpProtobuf,
  encodeEmptyResponse,
  type Fields,
  type IdEncoding,
  type ValueLimits,
} from './otlp-proto.js';

/** Bounds on one OTLP request, applied while it is decoded. */
export interface OtlpLimits extends ValueLimits {
  /** Most log records in one request, over all its resources and scopes. */
  readonly maxRecords: number;
}

/** The two OTLP/HTTP encodings. */
export type OtlpEncoding = 'json' | 'protobuf';

/** The Content-Type of each encoding, for requests and responses alike. */
export const OTLP_CONTENT_TYPES: Readonly<Record<OtlpEncoding, string>> = Object.freeze({
  json: 'application/json',
  protobuf: 'application/x-protobuf',
});

/** An OTLP log record as an event for `POST /v1/events` (channel, level and type always set). */
export type OtlpEvent = EventInput & { channel: string; level: Level; event: string };

/** The event type of a record without a valid event name of its own. */
export const OTLP_EVENT = 'otel.log';

const EVENT_TYPE = /^[a-z0-9][\w-]*(?:\.[a-z0-9][\w-]*)*$/i;
const REQUEST_ID = /^[\x21-\x7e]{1,128}$/;
// SeverityNumber comes in six ranges of four: TRACE, DEBUG, INFO, WARN, ERROR, FATAL.
const LEVEL_OF_RANGE: readonly Level[] = ['DEBUG', 'DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL'];

/**
 * Decode an OTLP/HTTP ExportLogsServiceRequest, JSON or protobuf, into events, one per log
 * record, in order. All or nothing: anything malformed throws a LogsError naming its place
 * (`resourceLogs[0].scopeLogs[1].logRecords[3].attributes[2].value`), never its value — USAGE
 * for what is not an OTLP request, BATCH_TOO_LARGE for more than `maxRecords` records,
 * EVENT_TOO_DEEP and EVENT_TOO_LARGE past `maxDepth` and `maxStringLength`. The events still
 * go through the writer's own validation and classification.
 */
export function decodeOtlpLogs(
  body: Buffer,
  contentType: OtlpEncoding,
  limits: OtlpLimits,
): OtlpEvent[] {
  if (contentType === 'protobuf') return requestEvents(decodeOtlpProtobuf(body), limits, 'base64');
  return otlpJsonEvents(parseJson(decodeUtf8(body), 'the OTLP body'), limits);
}

/**
 * decodeOtlpLogs for a JSON body the service has already parsed (strict UTF-8, no `__proto__`
 * keys), so it is not parsed twice.
 */
export function otlpJsonEvents(request: unknown, limits: OtlpLimits): OtlpEvent[] {
  return requestEvents(request, limits, 'hex');
}

/**
 * The body of an OTLP success response: an empty ExportLogsServiceResponse (the service stores
 * all records or none, so there is never a partial success to report).
 */
export function encodeOtlpResponse(contentType: 'json'): string;
export function encodeOtlpResponse(contentType: 'protobuf'): Buffer;
export function encodeOtlpResponse(contentType: OtlpEncoding): Buffer | string;
export function encodeOtlpResponse(contentType: OtlpEncoding): Buffer | string {
  return contentType === 'json' ? '{}' : encodeEmptyResponse();
}

function requestEvents(request: unknown, limits: OtlpLimits, ids: IdEncoding): OtlpEvent[] {
  const reader = new OtlpReader(limits, ids);
  try {
    return new RequestMapper(reader, limits).events(request);
  } catch (err) {
    if (err instanceof LogsError) throw err;
    // The depth limit keeps recursion short; this only backs it up if the limit is set huge.
    if (err instanceof RangeError) {
      throw new LogsError('EVENT_TOO_DEEP', 'otlp: the request nests values too deeply');
    }
    throw new LogsError('INTERNAL', 'otlp: the request could not be decoded', { cause: err });
  }
}

interface Group {
  readonly resourceLogs: Fields;
  readonly scopeLogs: Fields;
  readonly records: readonly unknown[];
  /** Where the ScopeLogs is: `resourceLogs[i].scopeLogs[j]`. */
  readonly at: string;
  readonly resourceAt: string;
}

class RequestMapper {
  constructor(
    private readonly r: OtlpReader,
    private readonly limits: OtlpLimits,
  ) {}

  events(request: unknown): OtlpEvent[] {
    const r = this.r;
    if (typeof request !== 'object' || request === null || Array.isArray(request)) {
      throw new LogsError('USAGE', 'otlp: expected an OTLP request object');
    }
    // Shapes and counts first: an oversized request is refused before any value is converted.
    const groups: Group[] = [];
    let count = 0;
    r.list(r.own(request as Fields, 'resourceLogs'), 'resourceLogs').forEach((rl, i) => {
      const resourceAt = `resourceLogs[${i}]`;
      const resourceLogs = r.required(rl, resourceAt);
      r.list(r.own(resourceLogs, 'scopeLogs'), `${resourceAt}.scopeLogs`).forEach((sl, j) => {
        const at = `${resourceAt}.scopeLogs[${j}]`;
        const scopeLogs = r.required(sl, at);
        const records = r.list(r.own(scopeLogs, 'logRecords'), `${at}.logRecords`);
        count += records.length;
        if (count > this.limits.maxRecords) {
          throw new LogsError(
            'BATCH_TOO_LARGE',
            `otlp: more than ${this.limits.maxRecords} log records in one request`,
          );
        }
        groups.push({ resourceLogs, scopeLogs, records, at, resourceAt });
      });
    });
    const out: OtlpEvent[] = [];
    let resource: { of: Fields; data: Fields | undefined } | undefined;
    for (const g of groups) {
      // One object per resource, shared by its records: it is only read downstream.
      if (resource?.of !== g.resourceLogs) {
        resource = { of: g.resourceLogs, data: this.resource(g.resourceLogs, g.resourceAt) };
      }
      const common = { resource: resource.data, scope: this.scope(g.scopeLogs, `${g.at}.scope`) };
      g.records.forEach((rec, k) => {
        out.push(this.record(rec, `${g.at}.logRecords[${k}]`, common));
      });
    }
    return out;
  }

  private resource(resourceLogs: Fields, at: string): Fields | undefined {
    const r = this.r;
    const resource = r.object(r.own(resourceLogs, 'resource'), `${at}.resource`);
    if (resource === undefined) return undefined;
    return nonEmpty(r.keyValues(r.own(resource, 'attributes'), `${at}.resource.attributes`));
  }

  private scope(scopeLogs: Fields, at: string): Fields | undefined {
    const scope = this.r.object(this.r.own(scopeLogs, 'scope'), at);
    if (scope === undefined) return undefined;
    const out: Fields = {};
    const name = this.r.string(this.r.own(scope, 'name'), `${at}.name`);
    const version = this.r.string(this.r.own(scope, 'version'), `${at}.version`);
    if (name) out.name = name;
    if (version) out.version = version;
    return nonEmpty(out);
  }

  private record(
    value: unknown,
    at: string,
    g: { resource: Fields | undefined; scope: Fields | undefined },
  ): OtlpEvent {
    const r = this.r;
    const rec = r.required(value, at);
    const attrs = r.keyValues(r.own(rec, 'attributes'), `${at}.attributes`);
    const data: Fields = {};
    const event: OtlpEvent = { channel: 'app', level: 'INFO', event: OTLP_EVENT };

    const channel = take(attrs, 'dihya.channel', isString);
    if (channel !== undefined) event.channel = channel;
    event.level = levelOf(
      r.severityNumber(r.own(rec, 'severityNumber'), `${at}.severityNumber`),
      r.string(r.own(rec, 'severityText'), `${at}.severityText`),
    );
    const eventName = r.string(r.own(rec, 'eventName'), `${at}.eventName`);
    if (eventName !== undefined && isEventType(eventName)) event.event = eventName;
    else {
      if (eventName) data.event_name = eventName; // kept, not refused
      const named = take(attrs, 'event.name', isEventTypeValue);
      if (named !== undefined) event.event = named;
    }

    const body = r.anyValue(r.own(rec, 'body'), `${at}.body`, 0);
    if (typeof body === 'string') {
      if (body !== '') event.msg = body;
    } else if (body !== null) data.body = body;

    const actor = take(attrs, 'enduser.id', isActorId) ?? take(attrs, 'user.id', isActorId);
    if (actor !== undefined) event.actor = { id: String(actor) };
    const requestId =
      take(attrs, 'http.request.id', isRequestId) ?? take(attrs, 'request.id', isRequestId);
    if (requestId !== undefined) event.request_id = requestId;

    const time =
      r.unixNanos(r.own(rec, 'timeUnixNano'), `${at}.timeUnixNano`) ??
      r.unixNanos(r.own(rec, 'observedTimeUnixNano'), `${at}.observedTimeUnixNano`);
    if (time !== undefined) data.time = time;
    if (Object.keys(attrs).length > 0) data.attributes = attrs;
    if (g.resource !== undefined) data.resource = g.resource;
    if (g.scope !== undefined) data.scope = g.scope;
    const traceId = r.id(r.own(rec, 'traceId'), 16, `${at}.traceId`);
    if (traceId !== undefined) data.trace_id = traceId;
    const spanId = r.id(r.own(rec, 'spanId'), 8, `${at}.spanId`);
    if (spanId !== undefined) data.span_id = spanId;
    if (Object.keys(data).length > 0) event.data = data;
    return event;
  }
}

function levelOf(severity: number | undefined, text: string | undefined): Level {
  if (severity !== undefined && severity >= 1 && severity <= 24) {
    return LEVEL_OF_RANGE[Math.floor((severity - 1) / 4)] ?? 'INFO';
  }
  return severityLevel(text) ?? 'INFO';
}

/** Remove and return an attribute when `ok` accepts it; otherwise leave it among the data. */
function take<T>(attrs: Fields, key: string, ok: (v: unknown) => v is T): T | undefined {
  if (!Object.hasOwn(attrs, key)) return undefined;
  const v = attrs[key];
  if (!ok(v)) return undefined;
  Reflect.deleteProperty(attrs, key);
  return v;
}

function isString(v: unknown): v is string {
  return typeof v === 'string';
}

function isEventTypeValue(v: unknown): v is string {
  return typeof v === 'string' && isEventType(v);
}

function isEventType(v: string): boolean {
  return v.length <= 128 && EVENT_TYPE.test(v) && !isReservedEvent(v);
}

function isActorId(v: unknown): v is string | number {
  return (typeof v === 'string' && v !== '') || (typeof v === 'number' && Number.isInteger(v));
}

function isRequestId(v: unknown): v is string {
  return typeof v === 'string' && REQUEST_ID.test(v);
}

function nonEmpty(o: Fields | undefined): Fields | undefined {
  return o !== undefined && Object.keys(o).length > 0 ? o : undefined;
}
