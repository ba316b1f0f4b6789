import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { testService, type TestService } from './helpers.js';

/** An export of `subject` through the service, as the dpo; its consulted.json and summaries. */
async function exportOf(
  s: TestService,
  subject: string,
): Promise<{
  consulted: Array<Record<string, unknown>>;
  summary: { consultations: { listed: number; may_have_included_your_data: number } };
  text: string;
}> {
  const res = await s.app.inject({
    method: 'POST',
    url: '/v1/gdpr/exports',
    headers: s.auth('dpo'),
    payload: { subject: [subject], reason: 'access request' },
  });
  assert.equal(res.statusCode, 201, res.body);
  const dir = path.join(s.t.dir, res.json<{ dir: string }>().dir);
  const read = (f: string): string => readFileSync(path.join(dir, f), 'utf8');
  return {
    consulted: JSON.parse(read('consulted.json')) as Array<Record<string, unknown>>,
    summary: JSON.parse(read('summary.json')) as {
      consultations: { listed: number; may_have_included_your_data: number };
    },
    text: read('summary.txt'),
  };
}

const reads = (c: Array<Record<string, unknown>>): Array<Record<string, unknown>> =>
  c.filter((x) => x.event === 'log.read');

test('a broad read that returned a person’s records is a consultation in their export; one that returned only others is not', async () => {
  const s = await testService();
  try {
    await s.logs.audit({ event: 'auth.login.success', actor: 'alice-1', msg: 'signed in' });
    await s.logs.audit({ event: 'auth.login.failure', actor: 'bob-2', msg: 'bad password' });
    s.logs.app.info({ event: 'page.view', actor: { id: 'carol-3', type: 'user' } }, 'carol');
    const adminId = /^dl_([\da-f]+)_/.exec(s.token.admin)?.[1];

    // Before: nobody consulted Alice's data.
    assert.deepEqual(reads((await exportOf(s, 'alice-1')).consulted), []);

    const broad = await s.app.inject({
      method: 'GET',
      url: '/v1/events?event=auth.login.*',
      headers: s.auth('admin'),
    });
    assert.equal(broad.statusCode, 200, broad.body);
    assert.equal(broad.json<{ records: unknown[] }>().records.length, 2);
    const others = await s.app.inject({
      method: 'GET',
      url: '/v1/events?channel=app',
      headers: s.auth('admin'),
    });
    assert.equal(others.json<{ records: unknown[] }>().records.length, 1);

    // The read's audit record names whom it returned, as pseudonyms, never in clear.
    await s.logs.flush();
    const audit = s.records('audit').filter((r) => r.event === 'log.read');
    const last = audit.at(-2) as { data: { subjects: string[]; filter: unknown } };
    assert.equal(last.data.subjects.length, 2);
    for (const p of last.data.subjects) assert.match(p, /^sub_[\da-f]{24}$/);
    const alice = s.logs.keys.pseudonymOf('alice-1');
    assert.ok(alice !== undefined && last.data.subjects.includes(alice));
    assert.equal(readFileSync(path.join(s.t.dir, 'audit.log'), 'utf8').includes('alice-1'), false);

    const after = await exportOf(s, 'alice-1');
    const listed = reads(after.consulted);
    assert.equal(listed.length, 1, JSON.stringify(after.consulted));
    const c = listed[0] as Record<string, unknown>;
    assert.equal(c.by, `token:${adminId}`);
    assert.equal(c.route, '/v1/events');
    assert.equal(c.records, 2);
    assert.equal(c.returned_your_records, true);
    assert.equal(c.may_have_included_your_data, undefined);
    assert.match(String(c.ts), /^\d{4}-\d{2}-\d{2}T/);
    assert.equal(after.summary.consultations.listed, after.consulted.length);
    assert.match(after.text, /Consultations of your data listed in consulted\.json[^\n]*: [1-9]/);
    assert.match(after.text, /Not counted: reads with the command line on the server/);
    assert.match(after.text, /dihya-logs query/);
    assert.match(after.text, /shell access/);

    // Carol's export counts the read of the app channel, not the one of sign-ins.
    const carol = reads((await exportOf(s, 'carol-3')).consulted);
    assert.deepEqual(
      carol.map((x) => [x.route, x.records]),
      [['/v1/events', 1]],
    );
  } finally {
    await s.close();
  }
});

test('a read filtered on a person counts even when it returned nothing; one record read counts', async () => {
  const s = await testService();
  try {
    const ack = await s.logs.audit({ event: 'account.update', actor: 'dave-4', msg: 'changed' });
    s.logs.app.info({ event: 'page.view', actor: 'erin-5' }, 'erin');
    // A filter by real id is the dpo's (an auditor filters by pseudonym).
    const get = (url: string) => s.app.inject({ method: 'GET', url, headers: s.auth('dpo') });
    assert.equal((await get('/v1/events?actor=erin-5&channel=audit')).statusCode, 200);
    assert.equal((await get(`/v1/events/audit/${ack.seq}`)).statusCode, 200);

    const erin = reads((await exportOf(s, 'erin-5')).consulted);
    assert.deepEqual(
      erin.map((x) => [x.route, x.records, x.searched_for_you]),
      [['/v1/events', 0, true]],
    );
    const dave = reads((await exportOf(s, 'dave-4')).consulted);
    assert.deepEqual(
      dave.map((x) => [x.route, x.returned_your_records]),
      [['/v1/events/:channel/:seq', true]],
    );
  } finally {
    await s.close();
  }
});

test('a read that returned more people than its record can list is flagged in every export it may concern', async () => {
  // 4 KiB records: at most 66 pseudonyms in a read's audit record.
  const s = await testService({}, { limits: { max_record_bytes: 4096 } });
  try {
    const people = Array.from({ length: 80 }, (_, i) => `user-${i}`);
    for (const id of people) s.logs.app.info({ event: 'page.view', actor: id }, 'a view');
    const res = await s.app.inject({
      method: 'GET',
      url: '/v1/events?channel=app&limit=500',
      headers: s.auth('auditor'),
    });
    assert.equal(res.json<{ records: unknown[] }>().records.length, 80);
    await s.logs.flush();
    const read = s
      .records('audit')
      .filter((r) => r.event === 'log.read')
      .at(-1) as { data: { subjects: string[]; subjects_truncated?: boolean } };
    assert.equal(read.data.subjects_truncated, true);
    assert.equal(read.data.subjects.length, 66);

    const listedId = people.find((id) =>
      read.data.subjects.includes(s.logs.keys.pseudonymOf(id) ?? ''),
    ) as string;
    const leftOutId = people.find(
      (id) => !read.data.subjects.includes(s.logs.keys.pseudonymOf(id) ?? ''),
    ) as string;

    const listed = reads((await exportOf(s, listedId)).consulted);
    assert.deepEqual(
      listed.map((x) => [x.returned_your_records, x.may_have_included_your_data]),
      [[true, undefined]],
    );
    const leftOut = await exportOf(s, leftOutId);
    assert.deepEqual(
      reads(leftOut.consulted).map((x) => [x.returned_your_records, x.may_have_included_your_data]),
      [[undefined, true]],
    );
    assert.equal(leftOut.summary.consultations.may_have_included_your_data, 1);
    assert.match(leftOut.text, /of which 1 may have included your data/);
  } finally {
    await s.close();
  }
});

test('a tail records whom it sent when it ends: their export lists it', async () => {
  const s = await testService();
  const base = await s.app.listen({ host: '127.0.0.1', port: 0 });
  try {
    const abort = new AbortController();
    const stream = await fetch(`${base}/v1/tail?event=order.*`, {
      headers: s.auth('admin'),
      signal: abort.signal,
    });
    assert.equal(stream.status, 200);
    const reader = (stream.body as ReadableStream<Uint8Array>).getReader();
    await s.logs.audit({ event: 'order.paid', actor: 'gina-7', msg: 'paid' });
    const dec = new TextDecoder();
    let buf = '';
    while (!buf.includes('event: record')) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value);
    }
    abort.abort();
    await reader.cancel().catch(() => undefined);
    let ended: Record<string, unknown> | undefined;
    for (let i = 0; i < 100 && ended === undefined; i++) {
      await new Promise((r) => setTimeout(r, 50));
      await s.logs.flush();
      ended = s
        .records('audit')
        .find((r) => typeof r.msg === 'string' && r.msg.startsWith('tail ended'));
    }
    assert.ok(ended !== undefined, 'the end of the tail is recorded');
    const gina = reads((await exportOf(s, 'gina-7')).consulted);
    assert.deepEqual(
      gina.map((x) => [x.route, x.records, x.returned_your_records]),
      [['/v1/tail', 1, true]],
    );
  } finally {
    await s.close();
  }
});
