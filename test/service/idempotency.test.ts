import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import type { LightMyRequestResponse } from 'fastify';
import { tempDir } from '../helpers.js';
import { testService, type TestService } from './helpers.js';
import { call, channelRecords, kill9, startServe, stopServe, workspace } from '../torture/serve.js';

type Payload = string | Record<string, unknown> | unknown[];

/** POST `route` with an ingest token, the Idempotency-Key `key` (when given) and a body. */
function post(
  s: TestService,
  key: string | undefined,
  payload: Payload,
  options: { route?: string; type?: string } = {},
): Promise<LightMyRequestResponse> {
  return s.app.inject({
    method: 'POST',
    url: options.route ?? '/v1/events',
    headers: {
      ...s.auth('ingest'),
      'content-type': options.type ?? 'application/json',
      ...(key === undefined ? {} : { 'idempotency-key': key }),
    },
    payload: payload as Record<string, unknown>,
  });
}

const keysOf = (s: TestService, channel: string): unknown[] =>
  s.records(channel).map((r) => r.idempotency_key);

test('Idempotency-Key: a retried event gets the very same answer and is stored once', async () => {
  const s = await testService();
  try {
    const event = { level: 'AUDIT', event: 'order.paid', msg: 'paid', data: { order: 7 } };
    const first = await post(s, 'order-7-paid', event);
    assert.equal(first.statusCode, 200, first.body);
    const again = await post(s, 'order-7-paid', event);
    assert.equal(again.statusCode, 200);
    assert.equal(again.body, first.body);
    // The key is the event's, whatever it holds: a retry with another body is still a retry.
    const changed = await post(s, 'order-7-paid', { ...event, msg: 'paid again' });
    assert.equal(changed.body, first.body);
    assert.deepEqual(keysOf(s, 'audit'), ['order-7-paid']);
    // Another key, and no key: stored.
    const other = await post(s, 'order-8-paid', event);
    assert.notEqual(other.body, first.body);
    assert.equal((await post(s, undefined, event)).statusCode, 200);
    assert.equal((await post(s, undefined, event)).statusCode, 200);
    assert.deepEqual(keysOf(s, 'audit'), ['order-7-paid', 'order-8-paid', undefined, undefined]);
  } finally {
    await s.close();
  }
});

test('Idempotency-Key: a retried batch (JSON or NDJSON) gets the same answer; event i has <key>:<i> unless it has its own', async () => {
  const s = await testService();
  try {
    const batch = [
      { event: 'cart.add', msg: 'one' },
      { level: 'AUDIT', event: 'cart.checkout', idempotency_key: 'own-key' },
      { event: 'cart.add', msg: 'three', level: 'DEBUG' }, // below app's minimum: not stored
      { event: 'cart.add', msg: 'four' },
    ];
    const first = await post(s, 'batch-1', batch);
    assert.equal(first.statusCode, 200, first.body);
    const body = first.json<{ stored: number; events: unknown[] }>();
    assert.equal(body.stored, 3);
    const retries = await Promise.all([post(s, 'batch-1', batch), post(s, 'batch-1', batch)]);
    for (const r of retries) assert.equal(r.body, first.body);
    assert.deepEqual(keysOf(s, 'app'), ['batch-1:0', 'batch-1:3']);
    assert.deepEqual(keysOf(s, 'audit'), ['own-key']);

    const ndjson = batch.map((e) => JSON.stringify(e)).join('\n');
    const nd = await post(s, 'batch-2', ndjson, { type: 'application/x-ndjson' });
    assert.equal(nd.statusCode, 200, nd.body);
    // Its own key was stored already (by the JSON batch): answered with that record's seq.
    assert.deepEqual(nd.json<{ events: unknown[] }>().events[1], body.events[1]);
    const ndAgain = await post(s, 'batch-2', ndjson, { type: 'application/x-ndjson' });
    assert.equal(ndAgain.body, nd.body);
    assert.deepEqual(keysOf(s, 'app'), ['batch-1:0', 'batch-1:3', 'batch-2:0', 'batch-2:3']);
    assert.deepEqual(keysOf(s, 'audit'), ['own-key']);
  } finally {
    await s.close();
  }
});

test('Idempotency-Key on OTLP logs: record i gets <key>:<i>, a retried export stores nothing', async () => {
  const s = await testService();
  try {
    const rec = (body: string): Record<string, unknown> => ({
      severityNumber: 9,
      body: { stringValue: body },
    });
    const exportRequest = { resourceLogs: [{ scopeLogs: [{ logRecords: [rec('a'), rec('b')] }] }] };
    for (let i = 0; i < 3; i++) {
      const res = await post(s, 'export-1', exportRequest, { route: '/v1/otlp/logs' });
      assert.equal(res.statusCode, 200, res.body);
    }
    assert.deepEqual(keysOf(s, 'app'), ['export-1:0', 'export-1:1']);
  } finally {
    await s.close();
  }
});

test('a malformed Idempotency-Key is refused with 400 IDEMPOTENCY_KEY_INVALID, never repeated, nothing stored', async () => {
  const s = await testService();
  try {
    const event = { event: 'x.y', msg: 'hello' };
    const refused = async (key: string, payload: Payload, code = 'IDEMPOTENCY_KEY_INVALID') => {
      const res = await post(s, key, payload);
      assert.equal(res.statusCode, 400, res.body);
      const { error } = res.json<{ error: { code: string; message: string; index?: number } }>();
      assert.equal(error.code, code, error.message);
      // The header is at fault, not one event of the batch.
      if (code === 'IDEMPOTENCY_KEY_INVALID') assert.equal(error.index, undefined);
      for (const part of key.split(/[\s:@]+/).filter((p) => p.length >= 4))
        assert.ok(!res.body.includes(part), `the key is repeated in: ${res.body}`);
      return error.message;
    };
    assert.match(await refused('two words', event), /^Idempotency-Key: expected one header/);
    await refused('k'.repeat(129), event);
    await refused('tab\there', event);
    // Classified like any stored string: personal data or a secret is no key.
    assert.match(
      await refused('signup:jean.dupont@example.fr', event),
      /^Idempotency-Key: holds what looks like a secret or personal data/,
    );
    await refused('retry:sk_live_51HzSECRETvalue0123456789', [event, event]);
    // A batch: `<key>:<i>` must fit in 128 characters.
    const tooLong = `L${'k'.repeat(126)}`;
    assert.match(await refused(tooLong, [event, event]), /at most 126 characters/);
    assert.equal((await post(s, tooLong, event)).statusCode, 200, 'fits for a single event');
    // An event's own key is checked as an event field.
    const own = await refused('fine', { ...event, idempotency_key: 'own key' }, 'EVENT_INVALID');
    assert.match(own, /^event 0: idempotency_key: expected 1-128 visible ASCII characters/);
    assert.deepEqual(keysOf(s, 'app'), [tooLong]);
  } finally {
    await s.close();
  }
});

test('Idempotency-Key: a retry after the service was killed (SIGKILL) right after answering gets the original answer', async () => {
  const ws = workspace(path.join(tempDir('dihya-idem-'), 'w'), 'service: { min_free_bytes: 0 }\n');
  const batch = JSON.stringify([
    { level: 'AUDIT', event: 'order.paid', msg: 'durable' },
    { event: 'order.note', msg: 'buffered, answered once written' },
    { level: 'SECURITY', event: 'order.flagged', msg: 'encrypted channel' },
  ]);
  const single = JSON.stringify({ level: 'AUDIT', event: 'order.shipped' });
  let server = await startServe(ws);
  let first: Awaited<ReturnType<typeof call>>;
  let firstSingle: Awaited<ReturnType<typeof call>>;
  try {
    first = await call(server, ws, 'POST', '/v1/events', batch, { 'idempotency-key': 'pay-1' });
    firstSingle = await call(server, ws, 'POST', '/v1/events', single, {
      'idempotency-key': 'ship-1',
    });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(firstSingle.status, 200);
  } finally {
    // The answer is sent: the process dies before the client could have read it.
    await kill9(server);
  }
  server = await startServe(ws);
  try {
    const again = await call(server, ws, 'POST', '/v1/events', batch, {
      'idempotency-key': 'pay-1',
    });
    assert.deepEqual(again, first);
    const singleAgain = await call(server, ws, 'POST', '/v1/events', single, {
      'idempotency-key': 'ship-1',
    });
    assert.deepEqual(singleAgain, firstSingle);
  } finally {
    await stopServe(server);
  }
  const audit = [...channelRecords(ws.dir, 'audit').bySeq.values()];
  assert.deepEqual(
    audit
      .filter((r) => typeof r.event === 'string' && r.event.startsWith('order.'))
      .map((r) => r.idempotency_key),
    ['pay-1:0', 'ship-1'],
  );
  const app = [...channelRecords(ws.dir, 'app').bySeq.values()];
  assert.deepEqual(
    app.filter((r) => r.event === 'order.note').map((r) => r.idempotency_key),
    ['pay-1:1'],
  );
});
