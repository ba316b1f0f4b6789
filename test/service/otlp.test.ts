import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';
import { ROOT_CONTEXT, TraceFlags, trace } from '@opentelemetry/api';
import { SeverityNumber } from '@opentelemetry/api-logs';
import { LogsError, type ErrorCode } from '../../src/errors.js';
import { prepareEvent } from '../../src/pipeline/prepare.js';
import {
  OTLP_CONTENT_TYPES,
  decodeOtlpLogs,
  encodeOtlpResponse,
  otlpJsonEvents,
  type OtlpEncoding,
  type OtlpEvent,
  type OtlpLimits,
} from '../../src/service/otlp.js';
import { OTLP_LOGS_PROTO } from '../../src/service/otlp-proto.js';
import { otelProvider } from './otel.js';

const LIMITS: OtlpLimits = { maxRecords: 100, maxDepth: 8, maxStringLength: 1000 };
const SECRET = 'sk_live_51HzSECRETvalue';
const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const SPAN_ID = 'b7ad6b7169203331';

type Json = Record<string, unknown>;
const str = (s: string): Json => ({ stringValue: s });
const kv = (key: string, value: Json): Json => ({ key, value });
const request = (...logRecords: Json[]): Json => ({
  resourceLogs: [{ scopeLogs: [{ logRecords }] }],
});
const decode = (req: unknown, limits = LIMITS): OtlpEvent[] =>
  decodeOtlpLogs(Buffer.from(JSON.stringify(req)), 'json', limits);
const one = (rec: Json): OtlpEvent => {
  const [e] = decode(request(rec));
  assert.ok(e);
  return e;
};
const attrsOf = (e: OtlpEvent): unknown => e.data?.attributes;

/** Assert a LogsError with this code, whose message never repeats SECRET. */
function refused(fn: () => unknown, code: ErrorCode, message?: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof LogsError, `a LogsError, not ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.ok(!err.message.includes(SECRET), `no secret in: ${err.message}`);
    if (message !== undefined) assert.match(err.message, message);
    return true;
  });
}

test('otlp: severityNumber ranges, then severityText, then INFO', () => {
  const level = (severityNumber?: unknown, severityText?: string): string =>
    one({ severityNumber, severityText }).level;
  const byNumber = Array.from({ length: 24 }, (_, i) => level(i + 1));
  assert.deepEqual(byNumber, [
    ...Array<string>(8).fill('DEBUG'),
    ...Array<string>(4).fill('INFO'),
    ...Array<string>(4).fill('WARNING'),
    ...Array<string>(4).fill('ERROR'),
    ...Array<string>(4).fill('CRITICAL'),
  ]);
  assert.equal(level('SEVERITY_NUMBER_WARN3'), 'WARNING', 'enum names, as JSON may send them');
  assert.equal(level(17, 'info'), 'ERROR', 'the number wins');
  const texts = ['TRACE', 'debug', 'Info', 'warn', 'WARNING', 'error', 'fatal', 'Critical'];
  assert.deepEqual(
    texts.map((t) => level(0, t)),
    ['DEBUG', 'DEBUG', 'INFO', 'WARNING', 'WARNING', 'ERROR', 'CRITICAL', 'CRITICAL'],
  );
  assert.equal(level(undefined, 'notice'), 'INFO');
  assert.equal(level(undefined, 'constructor'), 'INFO');
  assert.equal(level(99, 'error'), 'ERROR', 'an unknown number is unspecified');
});

test('otlp: channel, event type, body, actor and request id', () => {
  const e = one({
    eventName: 'auth.login.failure',
    body: str('sign-in failed'),
    attributes: [
      kv('dihya.channel', str('security')),
      kv('enduser.id', str('u-42')),
      kv('http.request.id', str('req-7')),
      kv('event.name', str('other.name')),
    ],
  });
  assert.deepEqual(e, {
    channel: 'security',
    level: 'INFO',
    event: 'auth.login.failure',
    msg: 'sign-in failed',
    actor: { id: 'u-42' },
    request_id: 'req-7',
    data: { attributes: { 'event.name': 'other.name' } },
  });
  const b = one({
    eventName: 'not valid!',
    body: { kvlistValue: { values: [kv('code', { intValue: '42' })] } },
    attributes: [
      kv('event.name', str('quota.near')),
      kv('user.id', { intValue: 7 }),
      kv('request.id', str('has space')),
    ],
  });
  assert.deepEqual(b, {
    channel: 'app',
    level: 'INFO',
    event: 'quota.near',
    actor: { id: '7' },
    data: {
      event_name: 'not valid!',
      body: { code: 42 },
      attributes: { 'request.id': 'has space' },
    },
  });
  const bad = ['gdpr.erase', '.x', 'a..b', 'x'.repeat(129)].map(
    (name) => one({ attributes: [kv('event.name', str(name))] }).event,
  );
  assert.deepEqual(bad, Array<string>(4).fill('otel.log'), 'invalid names stay in data');
  assert.equal(one({ attributes: [kv('dihya.channel', { intValue: 1 })] }).channel, 'app');
});

test('otlp: AnyValue kinds become plain JSON', () => {
  const e = one({
    attributes: [
      kv('s', str('text')),
      kv('b', { boolValue: false }),
      kv('i', { intValue: '-12' }),
      kv('n', { intValue: 12 }),
      kv('big', { intValue: '9223372036854775807' }),
      kv('d', { doubleValue: 0.25 }),
      kv('nan', { doubleValue: 'NaN' }),
      kv('bytes', { bytesValue: Buffer.from('hi there').toString('base64url') }),
      kv('list', { arrayValue: { values: [str('a'), { intValue: '1' }, {}] } }),
      kv('map', { kvlistValue: { values: [kv('deep', { kvlistValue: {} })] } }),
      kv('empty', {}),
      { key: 'novalue' },
    ],
  });
  assert.deepEqual(attrsOf(e), {
    s: 'text',
    b: false,
    i: -12,
    n: 12,
    big: '9223372036854775807',
    d: 0.25,
    nan: 'NaN',
    bytes: Buffer.from('hi there').toString('base64'),
    list: ['a', 1, null],
    map: { deep: {} },
    empty: null,
    novalue: null,
  });
});

test('otlp: ids, times, resource and scope go under data', () => {
  const [a, b] = decode({
    resourceLogs: [
      {
        resource: { attributes: [kv('service.name', str('checkout'))] },
        scopeLogs: [
          {
            scope: { name: 'lib', version: '1.0' },
            logRecords: [
              {
                timeUnixNano: '1714564800123456789',
                observedTimeUnixNano: '1714564801000000000',
                traceId: TRACE_ID.toUpperCase(),
                spanId: SPAN_ID,
                flags: 1,
              },
              {
                timeUnixNano: 0,
                observedTimeUnixNano: 1714564801000000000,
                traceId: '0'.repeat(32),
                spanId: '',
              },
            ],
          },
        ],
      },
    ],
  });
  assert.deepEqual(a?.data, {
    time: '2024-05-01T12:00:00.123Z',
    resource: { 'service.name': 'checkout' },
    scope: { name: 'lib', version: '1.0' },
    trace_id: TRACE_ID,
    span_id: SPAN_ID,
  });
  assert.deepEqual(b?.data, {
    time: '2024-05-01T12:00:01.000Z',
    resource: { 'service.name': 'checkout' },
    scope: { name: 'lib', version: '1.0' },
  });
  assert.deepEqual(decode({}), [], 'no records: no events');
});

test('otlp: __proto__, constructor and prototype keys are dropped, never set', () => {
  const evil = [
    kv('__proto__', { kvlistValue: { values: [kv('polluted', { boolValue: true })] } }),
    kv('constructor', str('x')),
    kv('prototype', str('y')),
    kv('ok', str('z')),
  ];
  const [e] = decode({
    resourceLogs: [
      {
        resource: { attributes: evil },
        scopeLogs: [
          { logRecords: [{ attributes: evil, body: { kvlistValue: { values: evil } } }] },
        ],
      },
    ],
  });
  const data = e?.data as Record<string, Record<string, unknown>>;
  for (const part of ['attributes', 'body', 'resource']) {
    assert.deepEqual(Object.keys(data[part] ?? {}), ['ok'], part);
    assert.equal(Object.getPrototypeOf(data[part]), Object.prototype, part);
  }
  assert.equal(({} as { polluted?: boolean }).polluted, undefined);
  // A JSON key (not a KeyValue key) spelled __proto__ is refused outright, as by /v1/events.
  refused(
    () => decodeOtlpLogs(Buffer.from('{"resourceLogs":[],"__proto__":{"x":1}}'), 'json', LIMITS),
    'USAGE',
  );
});

test('otlp: malformed requests are USAGE, naming the place and never the value', () => {
  const bad = (body: string | Buffer, message?: RegExp): void => {
    refused(() => decodeOtlpLogs(Buffer.from(body), 'json', LIMITS), 'USAGE', message);
  };
  bad(`{"resourceLogs": [${SECRET}`, /not valid JSON/);
  bad(Buffer.from([0x7b, 0xff, 0x7d]), /UTF-8/);
  bad('[]', /expected an OTLP request object/);
  bad(JSON.stringify({ resourceLogs: SECRET }), /^otlp: resourceLogs: expected a list$/);
  const rec = (r: unknown): string => JSON.stringify(request(r as Json));
  bad(rec(SECRET), /logRecords\[0\]: expected an object/);
  bad(
    rec({ attributes: [kv('a', str('ok')), kv('b', str('ok')), { key: 'c', value: SECRET }] }),
    /^otlp: resourceLogs\[0\]\.scopeLogs\[0\]\.logRecords\[0\]\.attributes\[2\]\.value: expected an AnyValue$/,
  );
  bad(rec({ body: { stringValue: SECRET, intValue: '1' } }), /one value/);
  bad(rec({ body: { intValue: SECRET } }), /body\.intValue: expected an integer/);
  bad(rec({ body: { intValue: '9223372036854775808' } }), /64-bit/);
  bad(rec({ body: { doubleValue: SECRET } }), /expected a number/);
  bad(rec({ body: { bytesValue: `${SECRET}!` } }), /base64/);
  bad(rec({ body: { boolValue: SECRET } }), /true or false/);
  bad(rec({ severityNumber: SECRET }), /SeverityNumber/);
  bad(rec({ traceId: SECRET }), /traceId: expected 32 hex digits/);
  bad(rec({ spanId: 'zz'.repeat(8) }), /spanId/);
  bad(rec({ timeUnixNano: `-${SECRET}` }), /timeUnixNano/);
  bad(rec({ timeUnixNano: '18446744073709551616' }), /timeUnixNano/);
});

test('otlp: limits on records, depth and string length', () => {
  const small = { maxRecords: 2, maxDepth: 3, maxStringLength: 32 };
  refused(
    () =>
      decode(
        { resourceLogs: [{ scopeLogs: [{ logRecords: [{}, {}] }, { logRecords: [{}] }] }] },
        small,
      ),
    'BATCH_TOO_LARGE',
    /^otlp: more than 2 log records in one request$/,
  );
  assert.equal(decode(request({}, {}), small).length, 2);
  // Counted before any value is read: a bad value in a request too large is not looked at.
  refused(() => decode(request({ body: { intValue: 'x' } }, {}, {}), small), 'BATCH_TOO_LARGE');
  // Built as text: JSON.stringify itself would overflow the stack on 10,000 levels.
  const deep = (open: string, close: string, levels: number, where = 'body'): Buffer =>
    Buffer.from(
      `{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"${where}":` +
        `${open.repeat(levels)}{"stringValue":"leaf"}${close.repeat(levels)}}]}]}]}`,
    );
  const KVLIST = ['{"kvlistValue":{"values":[{"key":"k","value":', '}]}}'] as const;
  const ARRAY = ['{"arrayValue":{"values":[', ']}}'] as const;
  assert.equal(decodeOtlpLogs(deep(...ARRAY, 3), 'json', small).length, 1, '3 levels pass');
  refused(() => decodeOtlpLogs(deep(...ARRAY, 4), 'json', small), 'EVENT_TOO_DEEP');
  refused(
    () => decodeOtlpLogs(deep(...KVLIST, 10_000), 'json', LIMITS),
    'EVENT_TOO_DEEP',
    /^otlp: resourceLogs\[0\]\.scopeLogs\[0\]\.logRecords\[0\]\.body(?:\.kvlistValue\.values\[0\]\.value){8}: nested deeper than 8 levels$/,
  );
  refused(() => decodeOtlpLogs(deep(...ARRAY, 10_000), 'json', LIMITS), 'EVENT_TOO_DEEP');
  const PROTO = ['{"kvlistValue":{"values":[{"key":"__proto__","value":', '}]}}'] as const;
  assert.deepEqual(
    decodeOtlpLogs(deep(...PROTO, 10_000), 'json', LIMITS)[0]?.data,
    { body: {} },
    'a dropped key drops its value, however deep',
  );
  refused(() => decode(request({ body: str(SECRET.repeat(2)) }), small), 'EVENT_TOO_LARGE');
  refused(
    () => decode(request({ attributes: [kv(SECRET.repeat(2), str('v'))] }), small),
    'EVENT_TOO_LARGE',
    /attributes\[0\]\.key/,
  );
});

/** A protobuf field: tag and payload (length-delimited when the payload is bytes). */
function field(n: number, payload: Buffer): Buffer {
  return Buffer.concat([varint((n << 3) | 2), varint(payload.length), payload]);
}
function varint(v: number): Buffer {
  const out: number[] = [];
  for (; v > 0x7f; v >>>= 7) out.push((v & 0x7f) | 0x80);
  out.push(v);
  return Buffer.from(out);
}

test('otlp protobuf: decoded like JSON; malformed or 10,000-deep bytes refused', () => {
  const root = protobuf.parse(OTLP_LOGS_PROTO).root;
  const Req = root.lookupType('opentelemetry.proto.ExportLogsServiceRequest');
  const bytes = Req.encode(
    Req.fromObject({
      resourceLogs: [
        {
          scopeLogs: [
            {
              logRecords: [
                {
                  timeUnixNano: '1714564800123000000',
                  severityNumber: 13,
                  eventName: 'quota.near',
                  body: { stringValue: 'hi' },
                  traceId: Buffer.from(TRACE_ID, 'hex'),
                  spanId: Buffer.from(SPAN_ID, 'hex'),
                  attributes: [
                    { key: 'n', value: { intValue: '-9007199254740993' } },
                    { key: 'b', value: { bytesValue: Buffer.from([1, 2, 3]) } },
                    { key: '__proto__', value: { stringValue: 'x' } },
                  ],
                },
              ],
            },
          ],
        },
      ],
    }),
  ).finish();
  assert.deepEqual(decodeOtlpLogs(Buffer.from(bytes), 'protobuf', LIMITS), [
    {
      channel: 'app',
      level: 'WARNING',
      event: 'quota.near',
      msg: 'hi',
      data: {
        time: '2024-05-01T12:00:00.123Z',
        attributes: { n: '-9007199254740993', b: 'AQID' },
        trace_id: TRACE_ID,
        span_id: SPAN_ID,
      },
    },
  ]);
  refused(() => decodeOtlpLogs(Buffer.from(SECRET), 'protobuf', LIMITS), 'USAGE');
  refused(() => decodeOtlpLogs(Buffer.from([0x0a, 0xff]), 'protobuf', LIMITS), 'USAGE');
  let any = field(1, Buffer.from('leaf')); // AnyValue{string_value}
  for (let i = 0; i < 10_000; i++) {
    // AnyValue{kvlist_value: KeyValueList{values: [KeyValue{key: "k", value: any}]}}
    any = field(6, field(1, Buffer.concat([field(1, Buffer.from('k')), field(2, any)])));
  }
  const deep = field(1, field(2, field(2, field(5, any)))); // request > resource > scope > record
  refused(() => decodeOtlpLogs(deep, 'protobuf', LIMITS), 'EVENT_TOO_DEEP');
});

test('otlp: the success response of each encoding', () => {
  assert.equal(encodeOtlpResponse('json'), '{}');
  assert.equal(encodeOtlpResponse('protobuf').length, 0);
  assert.deepEqual(otlpJsonEvents({ resourceLogs: [] }, LIMITS), []);
});

interface Captured {
  readonly path: string | undefined;
  readonly type: string;
  readonly body: Buffer;
}

/** A stand-in for the service: keeps each request and answers like it. */
async function collector(): Promise<{ url: string; got: Captured[]; close(): Promise<void> }> {
  const got: Captured[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const body = req.headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
      const type = req.headers['content-type'] ?? '';
      got.push({ path: req.url, type, body });
      const enc: OtlpEncoding = type.startsWith(OTLP_CONTENT_TYPES.protobuf) ? 'protobuf' : 'json';
      res.writeHead(200, { 'content-type': OTLP_CONTENT_TYPES[enc] });
      res.end(encodeOtlpResponse(enc));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/otlp/logs`,
    got,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function roundTrip(encoding: OtlpEncoding): Promise<OtlpEvent[]> {
  const server = await collector();
  try {
    const { provider, codes: results } = otelProvider(encoding, server.url);
    const logger = provider.getLogger('checkout-lib', '1.2.3');
    const span = trace.setSpanContext(ROOT_CONTEXT, {
      traceId: TRACE_ID,
      spanId: SPAN_ID,
      traceFlags: TraceFlags.SAMPLED,
    });
    logger.emit({
      timestamp: new Date('2024-05-01T12:00:00.123Z'),
      severityNumber: SeverityNumber.WARN,
      severityText: 'WARN',
      body: 'quota almost used',
      attributes: {
        'event.name': 'quota.near',
        'enduser.id': 'u-42',
        quota: { daily: 100, used: { today: 97, ratio: 0.97 }, tags: ['a', 'b'] },
        retry: true,
      },
      context: span,
    });
    logger.emit({
      timestamp: new Date('2024-05-01T12:00:01Z'),
      eventName: 'payment.failed',
      severityNumber: SeverityNumber.FATAL,
      body: { code: 'E42', amount: 12.5 },
      attributes: { 'http.request.id': 'req-1', 'dihya.channel': 'api' },
    });
    await provider.forceFlush();
    await provider.shutdown();
    assert.deepEqual(results, [0], 'one export, a success');
    assert.equal(server.got.length, 1);
    const req = server.got[0];
    assert.ok(req);
    assert.equal(req.path, '/v1/otlp/logs');
    assert.equal(req.type, OTLP_CONTENT_TYPES[encoding]);
    return decodeOtlpLogs(req.body, encoding, LIMITS);
  } finally {
    await server.close();
  }
}

const COMMON = {
  resource: { 'service.name': 'checkout' },
  scope: { name: 'checkout-lib', version: '1.2.3' },
};
const EXPECTED: OtlpEvent[] = [
  {
    channel: 'app',
    level: 'WARNING',
    event: 'quota.near',
    msg: 'quota almost used',
    actor: { id: 'u-42' },
    data: {
      time: '2024-05-01T12:00:00.123Z',
      attributes: {
        quota: { daily: 100, used: { today: 97, ratio: 0.97 }, tags: ['a', 'b'] },
        retry: true,
      },
      ...COMMON,
      trace_id: TRACE_ID,
      span_id: SPAN_ID,
    },
  },
  {
    channel: 'api',
    level: 'CRITICAL',
    event: 'payment.failed',
    request_id: 'req-1',
    data: { time: '2024-05-01T12:00:01.000Z', body: { code: 'E42', amount: 12.5 }, ...COMMON },
  },
];

test('otlp: records from the real OTLP/HTTP JSON exporter', async () => {
  assert.deepEqual(await roundTrip('json'), EXPECTED);
});

test('otlp: records from the real OTLP/HTTP protobuf exporter', async () => {
  assert.deepEqual(await roundTrip('protobuf'), EXPECTED);
});

test('otlp: the events are ones the writer accepts', () => {
  for (const e of EXPECTED) {
    assert.equal(prepareEvent(e, { maxDepth: 32, maxRecordBytes: 65_536 }).event, e.event);
  }
});
