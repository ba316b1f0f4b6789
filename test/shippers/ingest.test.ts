import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testService, type TestService } from '../service/helpers.js';

async function post(
  s: TestService,
  url: string,
  body: unknown,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await s.app.inject({
    method: 'POST',
    url,
    headers: { ...s.auth('ingest'), 'content-type': 'application/json' },
    payload: JSON.stringify(body),
  });
  return { status: res.statusCode, json: res.json<Record<string, unknown>>() };
}

const code = (r: { json: Record<string, unknown> }): unknown =>
  (r.json.error as { code?: string } | undefined)?.code;

test('without foreign=true, /v1/events is as strict as before: a field of another shape is refused', async () => {
  const s = await testService();
  try {
    const r = await post(s, '/v1/events', { MESSAGE: 'x', PRIORITY: 'notice' });
    assert.equal(r.status, 400);
    assert.equal(code(r), 'EVENT_INVALID');
    // Our own events may now name a syslog severity as their level.
    const ok = await post(s, '/v1/events', [{ level: 'notice' }, { level: 'emerg' }]);
    assert.equal(ok.status, 200, JSON.stringify(ok.json));
    await s.logs.flush();
    const recs = s.records('app');
    assert.deepEqual(
      recs.map((r) => r.level),
      ['INFO', 'CRITICAL'],
    );
  } finally {
    await s.close();
  }
});

test('foreign=true: channel= chooses a configured channel (default app); a record cannot choose its own', async () => {
  const s = await testService();
  try {
    const r = await post(s, '/v1/events?foreign=true&channel=scheduler', {
      message: 'nightly job',
      level: 'security',
      channel: 'security',
    });
    assert.equal(r.status, 200, JSON.stringify(r.json));
    assert.deepEqual(r.json.events, [{ channel: 'scheduler', seq: 1 }]);
    await s.logs.flush();
    const [rec] = s.records('scheduler');
    assert.equal(rec?.level, 'INFO', 'SECURITY is no severity');
    assert.deepEqual(rec.data, { level: 'security', channel: 'security' });
    assert.equal(rec.event, 'shipped.log');
  } finally {
    await s.close();
  }
});

test('foreign=true: an unknown channel, a malformed one, channel= alone or a bad flag are 400s that store nothing', async () => {
  const s = await testService();
  try {
    const unknown = await post(s, '/v1/events?foreign=true&channel=nosuch', { message: 'x' });
    assert.equal(unknown.status, 400);
    assert.equal(code(unknown), 'EVENT_CHANNEL_UNKNOWN');
    for (const url of [
      '/v1/events?foreign=true&channel=../etc',
      '/v1/events?channel=app',
      '/v1/events?foreign=perhaps',
    ]) {
      const r = await post(s, url, { message: 'x' });
      assert.equal(r.status, 400, `${url}: ${JSON.stringify(r.json)}`);
      assert.equal(code(r), 'USAGE', url);
    }
    await s.logs.flush();
    assert.deepEqual(s.records('app'), []);
  } finally {
    await s.close();
  }
});
