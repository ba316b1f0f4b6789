import { test } from 'node:test';
import assert from 'node:assert/strict';
import { recordMatcher } from '../../src/query/filter.js';
import { testService } from './helpers.js';

interface Page {
  records: Array<{ event: string; seq: number }>;
  next: string | null;
}

test('GET /v1/events?exclude_event leaves event types out, page counts and cursors included', async () => {
  const s = await testService();
  try {
    for (let i = 0; i < 3; i++) await s.logs.audit({ event: 'account.update', msg: `u${i}` });
    const get = async (url: string) => {
      const res = await s.app.inject({ method: 'GET', url, headers: s.auth('auditor') });
      return { status: res.statusCode, body: res.json<Page & { error?: { code: string } }>() };
    };
    // Each read writes a log.read audit record: after a few reads, they outnumber the rest.
    for (let i = 0; i < 4; i++) assert.equal((await get('/v1/events?channel=audit')).status, 200);
    const all = await get('/v1/events?channel=audit&limit=100');
    assert.ok(all.body.records.some((r) => r.event === 'log.read'));

    // Left out by the index: a page of 2 holds 2 records that are not reads, and the cursor
    // continues without them.
    const first = await get('/v1/events?channel=audit&exclude_event=log.read&limit=2');
    assert.equal(first.status, 200);
    assert.deepEqual(
      first.body.records.map((r) => r.event),
      ['account.update', 'account.update'],
    );
    assert.ok(first.body.next !== null);
    const second = await get(
      `/v1/events?channel=audit&exclude_event=log.read&limit=2&cursor=${first.body.next}`,
    );
    assert.deepEqual(
      second.body.records.map((r) => r.event),
      ['account.update'],
    );
    assert.equal(second.body.next, null);

    // Globs, and a type the log never saw (nothing to leave out).
    const glob = await get('/v1/events?channel=audit&exclude_event=log.*,account.*');
    assert.deepEqual(glob.body.records, []);
    const unknown = await get('/v1/events?channel=audit&exclude_event=never.seen&limit=100');
    assert.equal(unknown.body.records.length, all.body.records.length + 4, 'the reads since');

    // Validated like `event`: a malformed type is a USAGE error, not a 500.
    const bad = await get('/v1/events?exclude_event=log%20read');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error?.code, 'USAGE');
  } finally {
    await s.close();
  }
});

test('a filter with excludeEvents matches records of the live tail the same way', () => {
  const m = recordMatcher({ excludeEvents: ['log.read', 'auth.*'] });
  assert.equal(m({ event: 'log.read' }), false);
  assert.equal(m({ event: 'auth.login.failure' }), false);
  assert.equal(m({ event: 'account.update' }), true);
  assert.equal(m({}), true);
});
