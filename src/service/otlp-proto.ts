import protobuf from 'protobufjs';
import { LogsError } from '../errors.js';

// The OTLP logs format itself: its schema, protobuf decoding, and a reader of the shapes a
// decoded request has (JSON and protobuf alike). What the records become is otlp.ts's concern.

/**
 * The subset of opentelemetry-proto (v1.7: `collector/logs/v1/logs_service.proto`,
 * `logs/v1/logs.proto`, `common/v1/common.proto`, `resource/v1/resource.proto`) that an
 * ExportLogsServiceRequest needs, embedded so that the package works offline and ships no
 * `.proto` files. Field numbers are the upstream ones; fields left out (`Resource.entity_refs`,
 * deprecated ones) are skipped as unknown fields when they arrive. The messages share one
 * package here: package names never reach the wire.
 */
export const OTLP_LOGS_PROTO = `
syntax = "proto3";

package opentelemetry.proto;

message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    ArrayValue array_value = 5;
    KeyValueList kvlist_value = 6;
    bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue {
  string key = 1;
  AnyValue value = 2;
}
message InstrumentationScope {
  string name = 1;
  string version = 2;
  repeated KeyValue attributes = 3;
  uint32 dropped_attributes_count = 4;
}
message Resource {
  repeated KeyValue attributes = 1;
  uint32 dropped_attributes_count = 2;
}

enum SeverityNumber {
  SEVERITY_NUMBER_UNSPECIFIED = 0;
  SEVERITY_NUMBER_TRACE = 1;
  SEVERITY_NUMBER_TRACE2 = 2;
  SEVERITY_NUMBER_TRACE3 = 3;
  SEVERITY_NUMBER_TRACE4 = 4;
  SEVERITY_NUMBER_DEBUG = 5;
  SEVERITY_NUMBER_DEBUG2 = 6;
  SEVERITY_NUMBER_DEBUG3 = 7;
  SEVERITY_NUMBER_DEBUG4 = 8;
  SEVERITY_NUMBER_INFO = 9;
  SEVERITY_NUMBER_INFO2 = 10;
  SEVERITY_NUMBER_INFO3 = 11;
  SEVERITY_NUMBER_INFO4 = 12;
  SEVERITY_NUMBER_WARN = 13;
  SEVERITY_NUMBER_WARN2 = 14;
  SEVERITY_NUMBER_WARN3 = 15;
  SEVERITY_NUMBER_WARN4 = 16;
  SEVERITY_NUMBER_ERROR = 17;
  SEVERITY_NUMBER_ERROR2 = 18;
  SEVERITY_NUMBER_ERROR3 = 19;
  SEVERITY_NUMBER_ERROR4 = 20;
  SEVERITY_NUMBER_FATAL = 21;
  SEVERITY_NUMBER_FATAL2 = 22;
  SEVERITY_NUMBER_FATAL3 = 23;
  SEVERITY_NUMBER_FATAL4 = 24;
}
message LogRecord {
  reserved 4;
  fixed64 time_unix_nano = 1;
  fixed64 observed_time_unix_nano = 11;
  SeverityNumber severity_number = 2;
  string severity_text = 3;
  AnyValue body = 5;
  repeated KeyValue attributes = 6;
  uint32 dropped_attributes_count = 7;
  fixed32 flags = 8;
  bytes trace_id = 9;
  bytes span_id = 10;
  string event_name = 12;
}
message ScopeLogs {
  InstrumentationScope scope = 1;
  repeated LogRecord log_records = 2;
  string schema_url = 3;
}
message ResourceLogs {
  reserved 1000;
  Resource resource = 1;
  repeated ScopeLogs scope_logs = 2;
  string schema_url = 3;
}
message ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
message ExportLogsPartialSuccess {
  int64 rejected_log_records = 1;
  string error_message = 2;
}
message ExportLogsServiceResponse { ExportLogsPartialSuccess partial_success = 1; }
`;

/** Bounds on the values of a request (see OtlpLimits). */
export interface ValueLimits {
  /** Deepest nesting of AnyValue arrays and kvlists in a body or an attribute value. */
  readonly maxDepth: number;
  /** Longest string (a value, a key, a name), in UTF-16 code units. */
  readonly maxStringLength: number;
}

// Parsed once, at first use: the service pays for it only if OTLP protobuf arrives.
let types: { request: protobuf.Type; response: protobuf.Type; severity: protobuf.Enum } | undefined;

function otlpTypes(): NonNullable<typeof types> {
  if (types === undefined) {
    const root = protobuf.parse(OTLP_LOGS_PROTO, { keepCase: false }).root;
    types = {
      request: root.lookupType('opentelemetry.proto.ExportLogsServiceRequest'),
      response: root.lookupType('opentelemetry.proto.ExportLogsServiceResponse'),
      severity: root.lookupEnum('opentelemetry.proto.SeverityNumber'),
    };
  }
  return types;
}

/**
 * Decode protobuf bytes of an ExportLogsServiceRequest into the plain object shape of its OTLP
 * JSON encoding, except that `bytes` fields (trace and span ids included) are base64 strings:
 * lowerCamelCase names, int64 and fixed64 as decimal strings, enums as numbers, absent fields
 * left out. Throws USAGE for malformed bytes, EVENT_TOO_DEEP past protobufjs's nesting limit.
 */
export function decodeOtlpProtobuf(body: Uint8Array): unknown {
  const { request } = otlpTypes();
  try {
    return request.toObject(request.decode(body), {
      longs: String,
      bytes: String,
      enums: Number,
      defaults: false,
    });
  } catch (err) {
    // protobufjs stops at 100 nested messages (protoc's default) rather than overflowing the
    // stack: 31 kvlists deep in an attribute, since each level is three messages.
    if (err instanceof Error && err.message === 'max depth exceeded') {
      throw new LogsError('EVENT_TOO_DEEP', 'otlp: the protobuf body nests messages too deeply');
    }
    // Its messages may quote offsets, never content; ours says only what failed.
    throw new LogsError('USAGE', 'otlp: the body is not a protobuf ExportLogsServiceRequest', {
      cause: err,
    });
  }
}

/** The number of a `SEVERITY_NUMBER_*` enum name (OTLP JSON may send names), if it is one. */
function severityNumberOfName(name: string): number | undefined {
  const values = otlpTypes().severity.values;
  return Object.hasOwn(values, name) ? values[name] : undefined;
}

/** The bytes of an empty ExportLogsServiceResponse (which are no bytes at all). */
export function encodeEmptyResponse(): Buffer {
  const { response } = otlpTypes();
  const bytes = response.encode(response.create({})).finish();
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export type Fields = Record<string, unknown>;
/** How a JSON request writes trace and span ids (hex, per the OTLP spec); protobuf's are bytes. */
export type IdEncoding = 'hex' | 'base64';

const ANY_VALUE_KINDS = [
  'stringValue',
  'boolValue',
  'intValue',
  'doubleValue',
  'bytesValue',
  'arrayValue',
  'kvlistValue',
] as const;
// Never created as keys: `__proto__` would set a prototype, the others confuse whatever merges.
const UNSAFE_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
const INT64 = /^-?\d{1,19}$/;
const UINT64 = /^\d{1,20}$/;
const HEX = /^[\da-f]*$/i;
const BASE64 = /^[\w+/-]*={0,2}$/; // standard or URL-safe alphabet, as proto3 JSON allows
const ZEROS = /^0*$/;
const NON_FINITE: ReadonlySet<string> = new Set(['NaN', 'Infinity', '-Infinity']);
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/**
 * Reads the parts of a decoded request: checks each shape and bound, names the place of what
 * is wrong (never its value), and converts AnyValues to plain JSON. Fields that are absent or
 * `null` read as absent, as proto3 JSON says; unknown fields are ignored.
 */
export class OtlpReader {
  constructor(
    private readonly limits: ValueLimits,
    private readonly ids: IdEncoding,
  ) {}

  /** An own field: never one inherited from Object.prototype. */
  own(o: Fields, key: string): unknown {
    return Object.hasOwn(o, key) ? (o[key] ?? undefined) : undefined;
  }

  object(v: unknown, at: string, what = 'an object'): Fields | undefined {
    if (v === undefined || v === null) return undefined;
    if (typeof v !== 'object' || Array.isArray(v)) throw usage(at, `expected ${what}`);
    return v as Fields;
  }

  required(v: unknown, at: string, what = 'an object'): Fields {
    const o = this.object(v, at, what);
    if (o === undefined) throw usage(at, `expected ${what}`);
    return o;
  }

  list(v: unknown, at: string): readonly unknown[] {
    if (v === undefined) return [];
    if (!Array.isArray(v)) throw usage(at, 'expected a list');
    return v;
  }

  string(v: unknown, at: string): string | undefined {
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw usage(at, 'expected a string');
    if (v.length > this.limits.maxStringLength) {
      throw new LogsError(
        'EVENT_TOO_LARGE',
        `otlp: ${at}: a string longer than ${this.limits.maxStringLength} characters`,
      );
    }
    return v;
  }

  severityNumber(v: unknown, at: string): number | undefined {
    if (v === undefined) return undefined;
    if (typeof v === 'number' && Number.isInteger(v)) return v;
    const n = typeof v === 'string' ? severityNumberOfName(v) : undefined;
    if (n === undefined) throw usage(at, 'expected a SeverityNumber');
    return n;
  }

  /** A fixed64 of nanoseconds since 1970 as an ISO time (to the ms); absent when 0. */
  unixNanos(v: unknown, at: string): string | undefined {
    let n: bigint | undefined;
    if (typeof v === 'number' && Number.isInteger(v) && v >= 0) n = BigInt(v);
    else if (typeof v === 'string' && UINT64.test(v)) n = BigInt(v);
    else if (v !== undefined) throw usage(at, 'expected nanoseconds since 1970');
    if (n === undefined || n === 0n) return undefined;
    if (n > UINT64_MAX) throw usage(at, 'expected nanoseconds since 1970');
    // 2^64 ns is in the year 2554: always a valid Date.
    return new Date(Number(n / 1_000_000n)).toISOString();
  }

  /** A trace or span id as lowercase hex; absent when empty or all zeros (invalid ids). */
  id(v: unknown, bytes: number, at: string): string | undefined {
    const s = this.string(v, at);
    if (s === undefined || s === '') return undefined;
    let hex: string;
    if (this.ids === 'hex') {
      if (s.length !== bytes * 2 || !HEX.test(s))
        throw usage(at, `expected ${bytes * 2} hex digits`);
      hex = s.toLowerCase();
    } else {
      const b = Buffer.from(s, 'base64');
      if (b.length !== bytes) throw usage(at, `expected ${bytes} bytes`);
      hex = b.toString('hex');
    }
    return ZEROS.test(hex) ? undefined : hex;
  }

  /** A KeyValue list as an object; keys that could reach a prototype are dropped. */
  keyValues(v: unknown, at: string, depth = 0): Fields {
    const out: Fields = {};
    this.list(v, at).forEach((item, i) => {
      const kv = this.required(item, `${at}[${i}]`, 'a KeyValue');
      const key = this.string(this.own(kv, 'key'), `${at}[${i}].key`) ?? '';
      if (UNSAFE_KEYS.has(key)) return;
      out[key] = this.anyValue(this.own(kv, 'value'), `${at}[${i}].value`, depth);
    });
    return out;
  }

  /** An AnyValue as plain JSON; `depth` is the number of arrays and kvlists around it. */
  anyValue(v: unknown, at: string, depth: number): unknown {
    const o = this.object(v, at, 'an AnyValue');
    if (o === undefined) return null;
    let kind: (typeof ANY_VALUE_KINDS)[number] | undefined;
    for (const k of ANY_VALUE_KINDS) {
      if (this.own(o, k) === undefined) continue;
      if (kind !== undefined) throw usage(at, 'expected an AnyValue with one value');
      kind = k;
    }
    if (kind === undefined) return null; // an empty AnyValue: OTLP's null
    const x = o[kind];
    const where = `${at}.${kind}`;
    switch (kind) {
      case 'stringValue':
        return this.string(x, where);
      case 'boolValue':
        if (typeof x !== 'boolean') throw usage(where, 'expected true or false');
        return x;
      case 'intValue':
        return this.int64(x, where);
      case 'doubleValue':
        if (typeof x === 'number') return Number.isFinite(x) ? x : String(x);
        // JSON has no NaN or Infinity: proto3 JSON spells them as strings, and so do we.
        if (typeof x === 'string' && NON_FINITE.has(x)) return x;
        throw usage(where, 'expected a number');
      case 'bytesValue': {
        const s = this.string(x, where) ?? '';
        if (!BASE64.test(s)) throw usage(where, 'expected base64');
        return Buffer.from(s, 'base64').toString('base64');
      }
      case 'arrayValue':
      case 'kvlistValue': {
        // Checked before going down, so a hostile 10,000-deep value never grows the stack.
        if (depth >= this.limits.maxDepth) {
          throw new LogsError(
            'EVENT_TOO_DEEP',
            `otlp: ${at}: nested deeper than ${this.limits.maxDepth} levels`,
          );
        }
        const values = this.own(this.required(x, where, 'an object with values'), 'values');
        if (kind === 'kvlistValue') return this.keyValues(values, `${where}.values`, depth + 1);
        return this.list(values, `${where}.values`).map((e, i) =>
          this.anyValue(e, `${where}.values[${i}]`, depth + 1),
        );
      }
    }
  }

  /** An int64 as a number when exact, else as its decimal string. */
  private int64(v: unknown, at: string): number | string {
    // A JSON number past 2^53 has already lost digits: kept as JSON.parse read it.
    if (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) <= 2 ** 63) return v;
    if (typeof v !== 'string' || !INT64.test(v)) throw usage(at, 'expected an integer');
    const n = BigInt(v);
    if (n < INT64_MIN || n > INT64_MAX) throw usage(at, 'expected a 64-bit integer');
    const num = Number(n);
    return Number.isSafeInteger(num) ? num : n.toString();
  }
}

function usage(at: string, expected: string): LogsError {
  return new LogsError('USAGE', `otlp: ${at}: ${expected}`);
}
