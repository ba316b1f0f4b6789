import { test } from 'node:test';
import assert from 'node:assert/strict';
import { prepareEvent, prepareFields, sealEvent } from '../../src/pipeline/prepare.js';
import { canonicalize } from '../../src/event/canonical.js';
import { expectCode } from '../helpers.js';

const limits = { maxRecordBytes: 64 * 1024, maxDepth: 32 };
const seal = (input: unknown): Record<string, unknown> =>
  JSON.parse(sealEvent(prepareEvent(input, limits), 7, '2026-01-02T03:04:05.678Z', 0)) as Record<
    string,
    unknown
  >;

test('a sealed record is the RFC 8785 canonical form of its fields', () => {
  const input = {
    level: 'audit',
    event: 'project.generate',
    msg: 'généré',
    actor: { type: 'user', id: 'u1' },
    target: 'p-9',
    outcome: 'success',
    request_id: 'req-1',
    data: { z: 1, a: [true, null, 2.5], nested: { b: 'x', a: 'y' } },
  };
  const text = sealEvent(prepareEvent(input, limits), 7, '2026-01-02T03:04:05.678Z', 0);
  const rec = JSON.parse(text) as Record<string, unknown>;
  assert.equal(text, canonicalize(rec));
  assert.equal(rec.channel, 'audit', 'AUDIT routes to the audit channel');
  assert.equal(rec.level, 'AUDIT');
  assert.deepEqual(rec.target, { id: 'p-9' }, 'an id string becomes { id }');
  assert.equal(rec.seq, 7);
});

test('levels route by default and are parsed case-insensitively, with common aliases', () => {
  assert.equal(seal({ level: 'SECURITY' }).channel, 'security');
  assert.equal(seal({ level: 'warn' }).level, 'WARNING');
  assert.equal(seal({}).level, 'INFO');
  assert.equal(seal({}).channel, 'app');
  assert.equal(seal({ level: 'AUDIT', channel: 'app' }).channel, 'app', 'an explicit channel wins');
});

test('invalid events are refused with a stable code naming the problem', async () => {
  await expectCode('EVENT_LEVEL_UNKNOWN', () => prepareEvent({ level: 'LOUD' }, limits));
  await expectCode('EVENT_CHANNEL_UNKNOWN', () => prepareEvent({ channel: '../etc' }, limits));
  await expectCode('EVENT_CHANNEL_UNKNOWN', () => prepareEvent({ channel: 'App' }, limits));
  await expectCode('EVENT_INVALID', () => prepareEvent({ event: 'no spaces allowed' }, limits));
  await expectCode('EVENT_INVALID', () => prepareEvent({ outcome: 'maybe' }, limits));
  await expectCode('EVENT_INVALID', () => prepareEvent({ request_id: 'a\nb' }, limits));
  await expectCode('EVENT_INVALID', () => prepareEvent({ msg: 42 }, limits));
  await expectCode('EVENT_INVALID', () => prepareEvent({ data: [1, 2] }, limits));
  await expectCode('EVENT_INVALID', () => prepareEvent({ extra: 1 }, limits));
  await expectCode('EVENT_INVALID', () => prepareEvent([], limits));
  await expectCode('EVENT_INVALID', () => prepareEvent('text', limits));
  for (const reserved of ['seq', 'ts', 'hash', 'sub', 'pii']) {
    await expectCode('EVENT_FIELD_RESERVED', () => prepareEvent({ [reserved]: 1 }, limits));
  }
});

test('non-finite numbers are refused with the path of the value', async () => {
  const err = await expectCode('EVENT_NON_FINITE', () =>
    prepareEvent({ data: { a: { b: [1, NaN] } } }, limits),
  );
  assert.match(err.message, /data\.a\.b\[1\]/);
  await expectCode('EVENT_NON_FINITE', () => prepareEvent({ data: { x: Infinity } }, limits));
  await expectCode('EVENT_NON_FINITE', () => prepareEvent({ data: { x: -Infinity } }, limits));
});

test('nesting deeper than 32 levels (the record counts as one) is refused', async () => {
  const nest = (depth: number): Record<string, unknown> => {
    let v: Record<string, unknown> = {};
    for (let i = 0; i < depth; i++) v = { v };
    return v;
  };
  // record(1) > data(2) > 30 more levels = 32: accepted
  assert.ok(prepareEvent({ data: nest(30) }, limits));
  await expectCode('EVENT_TOO_DEEP', () => prepareEvent({ data: nest(31) }, limits));
  await expectCode('EVENT_TOO_DEEP', () => prepareEvent({ data: nest(10_000) }, limits));
});

test('records over the size limit are refused, without serializing a huge string first', async () => {
  await expectCode('EVENT_TOO_LARGE', () => prepareEvent({ msg: 'x'.repeat(70 * 1024) }, limits));
  await expectCode('EVENT_TOO_LARGE', () =>
    prepareEvent({ data: { a: 'é'.repeat(40 * 1024) } }, limits),
  );
  await expectCode('EVENT_TOO_LARGE', () =>
    prepareEvent({ data: { big: 'x'.repeat(50_000_000) } }, limits),
  );
  const many = Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`k${i}`, i]));
  await expectCode('EVENT_TOO_LARGE', () => prepareEvent({ data: many }, limits));
  assert.ok(prepareEvent({ msg: 'x'.repeat(60 * 1024) }, limits));
});

test('values a program logs are converted to JSON: Error, Date, Map, Set, BigInt, Buffer, cycles', () => {
  const cause = new Error('root cause');
  const err = Object.assign(new TypeError('bad thing', { cause }), { code: 'E_BAD' });
  const cyclic: Record<string, unknown> = { name: 'loop' };
  cyclic.self = cyclic;
  const rec = seal({
    data: {
      err,
      when: new Date('2026-01-01T00:00:00Z'),
      map: new Map([['k', 1]]),
      set: new Set(['a']),
      big: 12345678901234567890n,
      buf: Buffer.from('secret bytes'),
      cyclic,
      fn: () => 1,
      undef: undefined,
      arr: [undefined, () => 1],
    },
  });
  const data = rec.data as Record<string, unknown>;
  const e = data.err as Record<string, unknown>;
  assert.equal(e.type, 'TypeError');
  assert.equal(e.message, 'bad thing');
  assert.equal(e.code, 'E_BAD');
  assert.match(String(e.stack), /TypeError: bad thing/);
  assert.equal((e.cause as Record<string, unknown>).message, 'root cause');
  assert.equal(data.when, '2026-01-01T00:00:00.000Z');
  assert.deepEqual(data.map, { k: 1 });
  assert.deepEqual(data.set, ['a']);
  assert.equal(data.big, '12345678901234567890');
  assert.equal(data.buf, '[binary 12 bytes]', 'raw bytes are never stored');
  assert.deepEqual(data.cyclic, { name: 'loop', self: '[Circular]' });
  assert.equal('fn' in data, false);
  assert.equal('undef' in data, false);
  assert.deepEqual(data.arr, [null, null]);
});

test('__proto__, constructor and prototype keys are plain data, and pollute nothing', () => {
  const hostile = JSON.parse(
    '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}',
  ) as unknown;
  const rec = seal({ data: hostile });
  assert.deepEqual(Object.keys(rec.data as object).sort(), ['__proto__', 'constructor']);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
  const viaLogger = prepareFields({ data: { ['__proto__']: { x: 1 } } }, limits);
  assert.ok(viaLogger.pre.includes('"__proto__"'));
});

test('lone surrogates are replaced, so every stored record is valid UTF-8 JSON', () => {
  const rec = seal({ msg: 'a\ud800b', data: { ['k\udc00']: 'v' } });
  assert.equal(rec.msg, 'a\ufffdb');
  assert.deepEqual(Object.keys(rec.data as object), ['k\ufffd']);
});

test('a clock that went backwards is flagged on the record', () => {
  const text = sealEvent(prepareEvent({}, limits), 2, '2026-01-01T00:00:00.000Z', 1500);
  assert.equal((JSON.parse(text) as Record<string, unknown>).ts_skew_ms, 1500);
  assert.equal(text, canonicalize(JSON.parse(text)));
});

test('an idempotency key is stored after event, before level, and handed to the store as idem', async () => {
  const p = prepareEvent(
    { event: 'order.paid', level: 'AUDIT', idempotency_key: 'k-"1"\\', msg: 'm' },
    limits,
  );
  assert.equal(p.idem, 'k-"1"\\');
  assert.ok(
    p.pre.includes('"event":"order.paid","idempotency_key":"k-\\"1\\"\\\\","level":"AUDIT"'),
  );
  const text = sealEvent(p, 1, '2026-01-02T03:04:05.678Z', 0);
  assert.equal(text, canonicalize(JSON.parse(text)));
  assert.equal((JSON.parse(text) as { idempotency_key: string }).idempotency_key, 'k-"1"\\');
  assert.equal(Object.hasOwn(prepareEvent({ event: 'x' }, limits), 'idem'), false);
  assert.equal(Object.hasOwn(prepareEvent({ idempotency_key: null }, limits), 'idem'), false);
  for (const bad of ['', 'a b', 'é', 'k'.repeat(129), 42, {}]) {
    const err = await expectCode('EVENT_INVALID', () =>
      prepareEvent({ idempotency_key: bad }, limits),
    );
    assert.equal(err.message, 'idempotency_key: expected 1-128 visible ASCII characters');
  }
  prepareEvent({ idempotency_key: 'k'.repeat(128) }, limits);
});
