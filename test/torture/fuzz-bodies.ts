/**
 * Hostile requests for the ingest and query routes: fast-check arbitraries of malformed JSON,
 * NDJSON, OTLP JSON and OTLP protobuf bodies (random and mutated valid ones), odd headers and
 * query strings. Each request is plain data, sent by fuzz.ts.
 */
import fc from 'fast-check';

export interface FuzzRequest {
  readonly family: string;
  readonly method: 'GET' | 'POST';
  readonly route: string;
  readonly headers: Record<string, string>;
  readonly body?: Buffer;
}

const LEVELS = ['DEBUG', 'INFO', 'WARNING', 'ERROR', 'CRITICAL', 'AUDIT', 'SECURITY', 'info', ''];

const text = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }), // lone surrogates
  fc.constantFrom(
    '__proto__',
    'constructor',
    'prototype',
    'toString',
    '\u0000',
    'a'.repeat(70_000),
  ),
);

/** Something shaped like an event, with every field possibly wrong. */
const eventish = fc.record(
  {
    level: fc.oneof(fc.constantFrom(...LEVELS), text, fc.integer()),
    event: fc.oneof(fc.constantFrom('user.login', 'gdpr.erase', 'a..b', 'x'.repeat(200)), text),
    msg: fc.oneof(text, fc.jsonValue({ maxDepth: 3 })),
    channel: fc.oneof(fc.constantFrom('app', 'audit', 'security', 'nope', 'api'), text),
    actor: fc.oneof(
      text,
      fc.record({ id: fc.oneof(text, fc.integer()), email: text, ip: text }, { requiredKeys: [] }),
    ),
    data: fc.jsonValue({ maxDepth: 6 }),
    ts: fc.oneof(text, fc.integer(), fc.constant('2024-02-30T25:61:00Z')),
    outcome: text,
    request_id: text,
  },
  { requiredKeys: [] },
);

/** Arrays or objects nested `depth` deep. */
const deep = fc
  .tuple(fc.integer({ min: 10, max: 5000 }), fc.boolean())
  .map(([depth, arr]) =>
    arr
      ? `${'['.repeat(depth)}${']'.repeat(depth)}`
      : `{"event":"a.b","data":${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}}`,
  );

const hostileJson = fc.constantFrom(
  '{"__proto__":{"polluted":1},"event":"a.b"}',
  '{"event":"a.b","data":{"\\u005f_proto__":{"x":1}}}',
  '{"event":"a.b","data":{"constructor":{"prototype":{"x":1}}}}',
  '{"event":"a.b","event":"c.d"}',
  '[',
  '',
  'null',
  '1e999999',
  '"\\ud800"',
  '{"event":"a.b","msg":"\\u0000"}',
  `[${'{},'.repeat(2000)}{}]`,
);

const json = (v: unknown) => Buffer.from(JSON.stringify(v));

const eventsBody = fc.oneof(
  fc.jsonValue().map(json),
  eventish.map(json),
  fc.array(eventish, { maxLength: 30 }).map(json),
  deep.map((s) => Buffer.from(s)),
  hostileJson.map((s) => Buffer.from(s)),
  fc.uint8Array({ maxLength: 2048 }).map((b) => Buffer.from(b)), // invalid UTF-8 and worse
  fc.string({ maxLength: 300 }).map((s) => Buffer.from(s)),
);

const ndjsonBody = fc
  .array(
    fc.oneof(
      eventish.map((e) => JSON.stringify(e)),
      fc.string({ maxLength: 80 }),
      fc.constantFrom('', ' ', '{', '[]', '{"event":"a.b"}', '\r', 'null'),
    ),
    { maxLength: 40 },
  )
  .chain((lines) => fc.constantFrom('\n', '\r\n').map((eol) => Buffer.from(lines.join(eol))));

/** A valid OTLP JSON request, then mutated at random places. */
function otlpJson(rec: Record<string, unknown>): Record<string, unknown> {
  return {
    resourceLogs: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'fuzz' } }] },
        scopeLogs: [{ scope: { name: 'fuzz', version: '1' }, logRecords: [rec] }],
      },
    ],
  };
}

const anyValue: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.record({ stringValue: text }),
    fc.record({ intValue: fc.oneof(fc.string({ maxLength: 25 }), fc.integer()) }),
    fc.record({ doubleValue: fc.oneof(fc.double(), fc.string({ maxLength: 5 })) }),
    fc.record({ boolValue: fc.jsonValue({ maxDepth: 1 }) }),
    fc.record({ bytesValue: text }),
    fc.record({ arrayValue: fc.record({ values: fc.array(tie('v'), { maxLength: 4 }) }) }),
    fc.record({
      kvlistValue: fc.record({
        values: fc.array(fc.record({ key: text, value: tie('v') }), { maxLength: 4 }),
      }),
    }),
    fc.jsonValue({ maxDepth: 2 }),
  ),
})).v;

const logRecord = fc.record(
  {
    timeUnixNano: fc.oneof(fc.string({ maxLength: 25 }), fc.bigInt().map(String), fc.integer()),
    observedTimeUnixNano: fc.oneof(fc.string({ maxLength: 25 }), fc.integer()),
    severityNumber: fc.oneof(fc.integer({ min: -5, max: 40 }), text),
    severityText: text,
    body: anyValue,
    eventName: text,
    attributes: fc.oneof(
      fc.array(fc.record({ key: text, value: anyValue }), { maxLength: 6 }),
      fc.jsonValue({ maxDepth: 2 }),
    ),
    traceId: fc.oneof(
      text,
      fc.string({ unit: fc.constantFrom(...Array.from('0123456789abcdefABCDEF')), maxLength: 40 }),
    ),
    spanId: text,
    flags: fc.oneof(fc.integer(), text),
  },
  { requiredKeys: [] },
);

const otlpJsonBody = fc.oneof(
  logRecord.map((r) => json(otlpJson(r))),
  fc.jsonValue({ maxDepth: 5 }).map((v) => json({ resourceLogs: v })),
  fc.jsonValue({ maxDepth: 5 }).map((v) => json({ resourceLogs: [{ scopeLogs: v }] })),
  fc.jsonValue().map(json),
);

// --- protobuf: a small encoder for ExportLogsServiceRequest, then random damage.
function varint(n: bigint): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, n);
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v !== 0n) b |= 0x80;
    out.push(b);
  } while (v !== 0n);
  return out;
}
const tag = (field: number, wire: number) => varint(BigInt((field << 3) | wire));
const bytesField = (field: number, b: number[] | Buffer) => [
  ...tag(field, 2),
  ...varint(BigInt(b.length)),
  ...b,
];
const strField = (field: number, s: string) => bytesField(field, Buffer.from(s));

function protoRequest(msg: string, severity: number, depth: number, attrs: number): Buffer {
  // AnyValue: string_value 1, kvlist_value 6 { values 1: KeyValue { key 1, value 2 } }
  let value = strField(1, msg);
  for (let i = 0; i < depth; i++)
    value = bytesField(6, bytesField(1, [...strField(1, `k${i}`), ...bytesField(2, value)]));
  const kv = (k: string) => bytesField(6, [...strField(1, k), ...bytesField(2, strField(1, 'v'))]);
  const rec = [
    ...tag(1, 1),
    ...Buffer.alloc(8, 1), // time_unix_nano (fixed64)
    ...tag(2, 0),
    ...varint(BigInt(severity)),
    ...strField(3, 'INFO'),
    ...bytesField(5, value),
    ...Array.from({ length: attrs }, (_, i) => kv(`a${i}`)).flat(),
  ];
  const scopeLogs = bytesField(2, [...bytesField(1, strField(1, 'fuzz')), ...bytesField(2, rec)]);
  const resourceLogs = bytesField(1, [...bytesField(1, kv('service.name')), ...scopeLogs]);
  return Buffer.from(resourceLogs);
}

const validProto = fc
  .tuple(text, fc.integer({ min: -3, max: 30 }), fc.nat({ max: 80 }), fc.nat({ max: 50 }))
  .map(([m, s, d, a]) => protoRequest(m.slice(0, 1000), s, d, a));

const protoBody = fc.oneof(
  fc.uint8Array({ maxLength: 4096 }).map((b) => Buffer.from(b)),
  validProto,
  // Damaged valid messages: bytes flipped, cut short, lengths blown up.
  fc
    .tuple(
      validProto,
      fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }),
      fc.nat(),
    )
    .map(([b, flips, cut]) => {
      const c = Buffer.from(b);
      for (const [at, v] of flips) if (c.length > 0) c[at % c.length] = v;
      return cut % 3 === 0 ? c.subarray(0, cut % (c.length + 1)) : c;
    }),
  fc
    .tuple(validProto, fc.nat())
    .map(([b, at]) =>
      Buffer.concat([
        b.subarray(0, at % (b.length + 1)),
        Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f]),
        b.subarray(at % (b.length + 1)),
      ]),
    ),
);

const contentType = fc.constantFrom(
  'application/json',
  'application/json; charset=utf-8',
  'application/json; charset=latin1',
  'application/x-ndjson',
  'application/x-protobuf',
  'text/plain',
  'multipart/form-data; boundary=x',
  'application/x-www-form-urlencoded',
  '',
  'application/json, application/x-protobuf',
  'application/jsonx',
);

const QUERY_KEYS = [
  'channel',
  'level',
  'event',
  'outcome',
  'actor',
  'subject',
  'request_id',
  'since',
  'until',
  'text',
  'limit',
  'order',
  'cursor',
  'exclude_event',
  'foreign',
  'x',
];
const queryString = fc
  .array(
    fc.tuple(
      fc.oneof(fc.constantFrom(...QUERY_KEYS), fc.string({ maxLength: 10 })),
      fc.oneof(
        fc.string({ maxLength: 30 }),
        fc.constantFrom(
          '-1',
          '0',
          '10001',
          '1e9',
          'NaN',
          '*',
          '**/*',
          '[',
          'asc',
          'desc',
          '15m',
          '99999d',
          'WzEsMTc5XQ',
          '%',
          '%ZZ',
        ),
        fc.string({ unit: 'binary', maxLength: 20 }),
      ),
    ),
    { maxLength: 8 },
  )
  .map((pairs) =>
    pairs
      .map(([k, v]) => `${encodeURIComponent(k)}=${v.startsWith('%') ? v : encodeURIComponent(v)}`)
      .join('&'),
  );

export const fuzzRequest: fc.Arbitrary<FuzzRequest> = fc.oneof(
  eventsBody.map((body) => ({
    family: 'events-json',
    method: 'POST' as const,
    route: '/v1/events',
    headers: { 'content-type': 'application/json' },
    body,
  })),
  ndjsonBody.map((body) => ({
    family: 'events-ndjson',
    method: 'POST' as const,
    route: '/v1/events',
    headers: { 'content-type': 'application/x-ndjson' },
    body,
  })),
  otlpJsonBody.map((body) => ({
    family: 'otlp-json',
    method: 'POST' as const,
    route: '/v1/otlp/logs',
    headers: { 'content-type': 'application/json' },
    body,
  })),
  protoBody.map((body) => ({
    family: 'otlp-protobuf',
    method: 'POST' as const,
    route: '/v1/otlp/logs',
    headers: { 'content-type': 'application/x-protobuf' },
    body,
  })),
  fc
    .tuple(
      contentType,
      fc.constantFrom(
        '/v1/events',
        '/v1/otlp/logs',
        '/v1/events?foreign=true',
        '/v1/events?foreign=true&channel=audit',
        '/v1/events?channel=app',
      ),
      fc.oneof(eventsBody, protoBody, ndjsonBody),
      fc.constantFrom('', 'gzip', 'deflate', 'br', 'identity, gzip'),
    )
    .map(([ct, route, body, enc]) => ({
      family: 'headers',
      method: 'POST' as const,
      route,
      headers: {
        ...(ct === '' ? {} : { 'content-type': ct }),
        ...(enc === '' ? {} : { 'content-encoding': enc }),
      },
      body,
    })),
  queryString.map((q) => ({
    family: 'query',
    method: 'GET' as const,
    route: `/v1/events?${q}`,
    headers: {},
  })),
);
