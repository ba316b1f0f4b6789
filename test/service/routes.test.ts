import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { extract } from 'tar-stream';
import { Readable } from 'node:stream';
import { readLines } from '../helpers.js';
import { verifyConsistencyProof, verifyInclusionProof } from '../../src/integrity/proofs.js';
import { testService } from './helpers.js';

interface Stored {
  stored: number;
  events: Array<{ channel: string; seq: number }>;
}

test('ingest: an event, an array or NDJSON; all or none; audit is on disk when acknowledged', async () => {
  const s = await testService();
  try {
    const post = (payload: string, type = 'application/json') =>
      s.app.inject({
        method: 'POST',
        url: '/v1/events',
        headers: { ...s.auth('ingest'), 'content-type': type },
        payload,
      });
    const one = await post('{"event":"page.view","msg":"home"}');
    assert.equal(one.statusCode, 200);
    assert.deepEqual(one.json<Stored>(), { stored: 1, events: [{ channel: 'app', seq: 1 }] });

    const batch = await post(
      JSON.stringify([
        { event: 'page.view', msg: 'a' },
        { level: 'AUDIT', event: 'role.granted', actor: 'u-1', outcome: 'success' },
        { level: 'DEBUG', event: 'noise' }, // below app's minimum level (INFO)
      ]),
    );
    assert.deepEqual(batch.json<Stored>(), {
      stored: 2,
      events: [
        { channel: 'app', seq: 2 },
        { channel: 'audit', seq: 1 },
        { dropped: 'below_min_level' },
      ],
    });
    // Durable when acknowledged: the audit record is in its file now, without a flush.
    const audit = readLines(path.join(s.t.dir, 'audit.log')).map(
      (l) => JSON.parse(l) as { event: string; seq: number },
    );
    assert.deepEqual(
      audit.map((r) => [r.seq, r.event]),
      [[1, 'role.granted']],
    );

    const nd = await post(
      '{"event":"a.b"}\n\n{"event":"c.d","level":"WARNING"}\n',
      'application/x-ndjson',
    );
    assert.deepEqual(nd.json<Stored>().events, [
      { channel: 'app', seq: 3 },
      { channel: 'app', seq: 4 },
    ]);

    // One bad event refuses the whole request, and says which.
    const bad = await post(
      JSON.stringify([{ event: 'fine' }, { event: 'fine.too' }, { event: 'x', outcome: 'maybe' }]),
    );
    assert.equal(bad.statusCode, 400);
    const err = bad.json<{ error: { code: string; index: number; message: string } }>().error;
    assert.deepEqual([err.code, err.index], ['EVENT_INVALID', 2]);
    assert.match(err.message, /^event 2: outcome/);
    await s.logs.flush();
    assert.deepEqual(
      s.records('app').map((r) => r.event),
      ['page.view', 'page.view', 'a.b', 'c.d'],
      'nothing of the refused batch was stored',
    );
  } finally {
    await s.close();
  }
});

test('reads: filters, one record, personal values for dpo and admin only, each read an audit event', async () => {
  const s = await testService();
  try {
    await s.logs.audit({
      event: 'account.update',
      actor: 'alice-1',
      msg: 'alice changed her e-mail to alice@example.org',
      request_id: 'req-42',
    });
    s.logs.app.info({ event: 'page.view', actor: 'bob-2' }, 'bob looked');
    const q = (role: 'auditor' | 'dpo', url: string) =>
      s.app.inject({ method: 'GET', url, headers: s.auth(role) });
    const asAuditor = await q('auditor', '/v1/events?request_id=req-42');
    assert.equal(asAuditor.statusCode, 200);
    const a = asAuditor.json<{ records: Array<Record<string, unknown>> }>().records;
    assert.equal(a.length, 1);
    assert.equal(a[0]?.msg, 'alice changed her e-mail to [email#1]');
    const asDpo = await q('dpo', '/v1/events?request_id=req-42');
    const d = asDpo.json<{ records: Array<Record<string, unknown>> }>().records;
    assert.equal(d[0]?.msg, 'alice changed her e-mail to alice@example.org');
    assert.equal(d[0].subject, 'alice-1');

    // By a real id (found through the keystore: the dpo's and admin's), by channel, with pages.
    const byActor = await q('dpo', '/v1/events?actor=bob-2');
    assert.deepEqual(
      byActor.json<{ records: Array<{ event: string }> }>().records.map((r) => r.event),
      ['page.view'],
    );
    const page = await q('auditor', '/v1/events?channel=audit&limit=1');
    const p = page.json<{ records: unknown[]; next: string | null }>();
    assert.equal(p.records.length, 1);

    const one = await q('auditor', '/v1/events/audit/1');
    assert.equal(one.statusCode, 200);
    assert.deepEqual(
      [
        one.json<{ status: string; record: { event: string } }>().status,
        one.json<{ record: { event: string } }>().record.event,
      ],
      ['ok', 'account.update'],
    );
    assert.equal((await q('auditor', '/v1/events/audit/999')).statusCode, 404);
    assert.equal((await q('auditor', '/v1/events/nosuch/1')).statusCode, 404);
    assert.equal((await q('auditor', '/v1/events?limit=0')).statusCode, 400);
    assert.equal(
      (await q('auditor', '/v1/events?cursor=bogus')).json<{ error: { code: string } }>().error
        .code,
      'QUERY_CURSOR_INVALID',
    );

    const stats = await q('auditor', '/v1/stats?bucket=hour');
    const st = stats.json<{
      byChannel: Record<string, number[]>;
      topEvents: Array<{ event: string; count: number }>;
    }>();
    assert.equal(
      st.byChannel.app?.reduce((x, y) => x + y, 0),
      1,
    );
    assert.ok(st.topEvents.some((e) => e.event === 'account.update' && e.count === 1));

    // Each answered read is in the audit trail: who, what, how many.
    await s.logs.flush();
    const reads = s.records('audit').filter((r) => r.event === 'log.read');
    assert.equal(reads.length, 6); // 4 queries answered, 1 record found, 1 stats (refused ones are not reads)
    const first = reads[0] as {
      actor: { id: string };
      data: { count: number; filter: Record<string, unknown> };
    };
    assert.match(first.actor.id, /^sub_/); // the token id, pseudonymized like any actor
    assert.equal(first.data.count, 1);
  } finally {
    await s.close();
  }
});

test('tail: a record sent over HTTP reaches an open stream; Last-Event-ID resumes without loss or repeat', async () => {
  const s = await testService();
  const base = await s.app.listen({ host: '127.0.0.1', port: 0 });
  const readEvents = async (
    res: Response,
    want: number,
  ): Promise<Array<{ id: string; data: Record<string, unknown> }>> => {
    const reader = (res.body as ReadableStream<Uint8Array>).getReader();
    const out: Array<{ id: string; data: Record<string, unknown> }> = [];
    let buf = '';
    const dec = new TextDecoder();
    while (out.length < want) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += dec.decode(value);
      let at: number;
      while ((at = buf.indexOf('\n\n')) !== -1) {
        const block = buf.slice(0, at);
        buf = buf.slice(at + 2);
        const id = /^id: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (id !== undefined && data !== undefined)
          out.push({ id, data: JSON.parse(data) as Record<string, unknown> });
      }
    }
    await reader.cancel();
    return out;
  };
  const send = (event: string) =>
    fetch(`${base}/v1/events`, {
      method: 'POST',
      headers: { ...s.auth('ingest'), 'content-type': 'application/json' },
      body: JSON.stringify({ event, msg: event }),
    });
  try {
    const abort = new AbortController();
    const stream = await fetch(`${base}/v1/tail?event=order.*`, {
      headers: s.auth('auditor'),
      signal: abort.signal,
    });
    assert.equal(stream.status, 200);
    assert.match(stream.headers.get('content-type') ?? '', /^text\/event-stream/);
    const got = readEvents(stream, 2);
    await send('order.created');
    await send('page.view'); // filtered out
    await send('order.paid');
    const events = await got;
    abort.abort();
    assert.deepEqual(
      events.map((e) => e.data.event),
      ['order.created', 'order.paid'],
    );

    // Disconnected after order.created: records written meanwhile come first on resume.
    await send('order.shipped');
    const resumed = await fetch(`${base}/v1/tail?event=order.*`, {
      headers: { ...s.auth('auditor'), 'last-event-id': (events[0] as { id: string }).id },
    });
    const again = await readEvents(resumed, 2);
    assert.deepEqual(
      again.map((e) => e.data.event),
      ['order.paid', 'order.shipped'],
    );
  } finally {
    await s.close();
  }
});

test('GDPR over HTTP: export and download a signed bundle, erase, see both in the register', async () => {
  const s = await testService();
  try {
    await s.logs.audit({
      event: 'account.create',
      actor: 'carol-3',
      msg: 'welcome carol@example.org',
    });
    s.logs.app.info({ event: 'page.view', actor: 'dave-4' }, 'dave');
    const gdpr = (method: 'GET' | 'POST', url: string, payload?: unknown) =>
      s.app.inject({
        method,
        url,
        headers: s.auth('dpo'),
        ...(payload === undefined ? {} : { payload: payload as object }),
      });
    const exp = await gdpr('POST', '/v1/gdpr/exports', {
      subject: ['carol-3'],
      reason: 'access request',
    });
    assert.equal(exp.statusCode, 201, exp.body);
    const report = exp.json<{ requestId: string; records: number }>();
    assert.equal(report.records, 1);
    const dl = await gdpr('GET', `/v1/gdpr/exports/${report.requestId}`);
    assert.equal(dl.statusCode, 200);
    assert.equal(dl.headers['content-type'], 'application/x-tar');
    const files = new Map<string, string>();
    await new Promise<void>((resolve, reject) => {
      const x = extract();
      x.on('entry', (header, stream, next) => {
        let text = '';
        stream.on('data', (d: unknown) => (text += (d as Buffer).toString('utf8')));
        stream.on('end', () => {
          files.set(header.name, text);
          next();
        });
      });
      x.on('finish', resolve);
      x.on('error', reject);
      Readable.from(dl.rawPayload).pipe(x);
    });
    const id = report.requestId;
    assert.ok(files.has(`${id}/manifest.json`) && files.has(`${id}/records.json`));
    assert.ok(files.get(`${id}/records.json`)?.includes('carol@example.org'));
    assert.ok(!files.get(`${id}/records.json`)?.includes('dave'));
    assert.equal(
      (await gdpr('GET', '/v1/gdpr/exports/exp-20260101-0123456789abcdef')).statusCode,
      404,
    );
    assert.equal((await gdpr('GET', '/v1/gdpr/exports/..%2F..%2Fetc')).statusCode, 400);

    const dry = await gdpr('POST', '/v1/gdpr/erasures', {
      subject: ['dave-4'],
      reason: 'asked',
      dry_run: true,
    });
    assert.equal(dry.statusCode, 200, dry.body);
    const erase = await gdpr('POST', '/v1/gdpr/erasures', {
      subject: ['dave-4'],
      reason: 'asked by email',
    });
    assert.equal(erase.statusCode, 201, erase.body);
    assert.equal(s.logs.keys.pseudonymOf('dave-4'), undefined, 'the key is gone');

    const reg = await gdpr('GET', '/v1/gdpr/requests');
    const kinds = reg
      .json<{ requests: Array<{ kind: string; deadline: string }> }>()
      .requests.map((r) => r.kind);
    assert.ok(kinds.includes('export') && kinds.includes('erasure'), kinds.join());
  } finally {
    await s.close();
  }
  assert.ok(!readFileSync(path.join(s.t.dir, 'app.log'), 'utf8').includes('dave-4'));
});

test('tokens over HTTP: created (shown once), listed without secrets, revoked tokens stop working', async () => {
  const s = await testService();
  try {
    const made = await s.app.inject({
      method: 'POST',
      url: '/v1/tokens',
      headers: s.auth('admin'),
      payload: { role: 'auditor', name: 'grafana', expires: '30d' },
    });
    assert.equal(made.statusCode, 201);
    const t = made.json<{ token: string; id: string; role: string; expires: string }>();
    assert.match(t.token, /^dl_[\da-f]{12}_[\w-]{43}$/);
    assert.equal(made.headers['cache-control'], 'no-store');
    const use = () =>
      s.app.inject({ url: '/v1/events', headers: { authorization: `Bearer ${t.token}` } });
    assert.equal((await use()).statusCode, 200);
    const list = await s.app.inject({ url: '/v1/tokens', headers: s.auth('admin') });
    assert.ok(!list.body.includes(t.token.slice(16)), 'no secret in the list');
    assert.ok(list.json<{ tokens: Array<{ id: string }> }>().tokens.some((x) => x.id === t.id));
    const del = await s.app.inject({
      method: 'DELETE',
      url: `/v1/tokens/${t.id}`,
      headers: s.auth('admin'),
    });
    assert.equal(del.statusCode, 200);
    assert.equal((await use()).statusCode, 401);
    await s.logs.flush();
    const audit = s.records('audit').map((r) => r.event);
    assert.ok(audit.includes('token.created') && audit.includes('token.revoked'));
    assert.ok(!readFileSync(path.join(s.t.dir, 'audit.log'), 'utf8').includes(t.token.slice(16)));
  } finally {
    await s.close();
  }
});

test('health, readiness, metrics and the OpenAPI document', async () => {
  const s = await testService();
  try {
    assert.deepEqual((await s.app.inject({ url: '/healthz' })).json(), { status: 'ok' });
    // An unknown URL is 404, with or without a token: not a refusal, not a security event.
    for (const headers of [{}, s.auth('auditor')]) {
      const missing = await s.app.inject({ url: '/favicon.ico', headers });
      assert.equal(missing.statusCode, 404);
      assert.equal(missing.json<{ error: { code: string } }>().error.code, 'NOT_FOUND');
    }
    await s.logs.flush();
    assert.deepEqual(s.records('security'), []);
    assert.deepEqual((await s.app.inject({ url: '/readyz' })).json(), { status: 'ready' });
    await s.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { ...s.auth('ingest'), 'content-type': 'application/json' },
      payload: '[{"event":"a"},{"event":"b"}]',
    });
    const metrics = await s.app.inject({ url: '/metrics', headers: s.auth('auditor') });
    assert.equal(metrics.statusCode, 200);
    assert.match(metrics.body, /^dihya_logs_events_ingested_total\{channel="app"\} 2$/m);
    assert.match(
      metrics.body,
      /dihya_logs_http_requests_total\{route="\/v1\/events",method="POST",status="200"\} 1/,
    );
    const doc = (await s.app.inject({ url: '/v1/openapi.json' })).json<{
      openapi: string;
      paths: Record<string, unknown>;
    }>();
    assert.equal(doc.openapi, '3.1.0');
    for (const r of s.app.service.routes) {
      // Swagger names a wildcard segment {*}.
      const p = r.url.replace(/:(\w+)/g, '{$1}').replace(/\*$/, '{*}');
      assert.ok(Object.hasOwn(doc.paths, p), `${p} is documented`);
    }
  } finally {
    await s.close();
  }
});

test('admin page session: sign in with a token, a HttpOnly SameSite=Strict cookie, CSRF on changes, sign out, revocation ends it', async () => {
  const s = await testService();
  try {
    const bad = await s.app.inject({
      method: 'POST',
      url: '/v1/session',
      payload: { token: 'dl_0123456789ab_nope' },
    });
    assert.equal(bad.statusCode, 401);
    const signIn = await s.app.inject({
      method: 'POST',
      url: '/v1/session',
      payload: { token: s.token.admin },
    });
    assert.equal(signIn.statusCode, 201);
    const setCookie = String(signIn.headers['set-cookie']);
    assert.match(setCookie, /^dihya_session=[\w-]{43};/);
    assert.match(setCookie, /HttpOnly/);
    assert.match(setCookie, /SameSite=Strict/);
    assert.doesNotMatch(setCookie, /Secure/, 'plain HTTP here: Secure only over HTTPS');
    const { csrf, role } = signIn.json<{ csrf: string; role: string }>();
    assert.equal(role, 'admin');
    const cookie = setCookie.split(';')[0] as string;

    const read = await s.app.inject({ url: '/v1/events', headers: { cookie } });
    assert.equal(read.statusCode, 200);
    const who = await s.app.inject({ url: '/v1/session', headers: { cookie } });
    assert.equal(who.json<{ csrf: string }>().csrf, csrf);
    const payload = { role: 'auditor', name: 'from the page' };
    const noCsrf = await s.app.inject({
      method: 'POST',
      url: '/v1/tokens',
      headers: { cookie },
      payload,
    });
    assert.equal(noCsrf.statusCode, 403);
    const wrongCsrf = await s.app.inject({
      method: 'POST',
      url: '/v1/tokens',
      headers: { cookie, 'x-csrf-token': `${csrf.slice(1)}x` },
      payload,
    });
    assert.equal(wrongCsrf.statusCode, 403);
    const withCsrf = await s.app.inject({
      method: 'POST',
      url: '/v1/tokens',
      headers: { cookie, 'x-csrf-token': csrf },
      payload,
    });
    assert.equal(withCsrf.statusCode, 201);

    const out = await s.app.inject({
      method: 'DELETE',
      url: '/v1/session',
      headers: { cookie, 'x-csrf-token': csrf },
    });
    assert.equal(out.statusCode, 204);
    assert.equal((await s.app.inject({ url: '/v1/events', headers: { cookie } })).statusCode, 401);

    // A session dies with its token.
    const again = await s.app.inject({
      method: 'POST',
      url: '/v1/session',
      payload: { token: s.token.auditor },
    });
    const cookie2 = String(again.headers['set-cookie']).split(';')[0] as string;
    assert.equal(
      (await s.app.inject({ url: '/v1/events', headers: { cookie: cookie2 } })).statusCode,
      200,
    );
    const id = s.token.auditor.slice(3, 15);
    s.tokens.revoke(id);
    assert.equal(
      (await s.app.inject({ url: '/v1/events', headers: { cookie: cookie2 } })).statusCode,
      401,
    );
  } finally {
    await s.close();
  }
});

test('proofs over HTTP: inclusion and consistency against signed checkpoints, checked with the public key alone', async () => {
  const s = await testService();
  try {
    for (let i = 0; i < 10; i++) s.logs.app.info({ event: 'step', data: { i } }, `step ${i}`);
    await s.logs.flush(); // a signed checkpoint at size 10
    for (let i = 10; i < 57; i++) s.logs.app.info({ event: 'step', data: { i } }, `step ${i}`);
    await s.logs.flush(); // and at 57
    const get = (url: string) => s.app.inject({ url, headers: s.auth('auditor') });
    const inc = await get('/v1/proofs/inclusion?channel=app&seq=23');
    assert.equal(inc.statusCode, 200, inc.body);
    const i = inc.json<{ proof: { tree_size: number }; checkpoint: unknown; public_key: string }>();
    assert.equal(i.proof.tree_size, 57);
    assert.deepEqual(verifyInclusionProof(i.proof, i.checkpoint, i.public_key), { ok: true });
    // With the record's own line: it is the one in the log.
    const line = readLines(path.join(s.t.dir, 'app.log'))[22] as string;
    assert.deepEqual(verifyInclusionProof(i.proof, i.checkpoint, s.t.publicKey, { line }), {
      ok: true,
    });
    const other = readLines(path.join(s.t.dir, 'app.log'))[21] as string;
    assert.equal(
      verifyInclusionProof(i.proof, i.checkpoint, s.t.publicKey, { line: other }).ok,
      false,
    );

    const con = await get('/v1/proofs/consistency?channel=app&from=10');
    assert.equal(con.statusCode, 200, con.body);
    const c = con.json<{ proof: unknown; checkpoints: { first: unknown; second: unknown } }>();
    assert.notEqual(c.checkpoints.first, null);
    assert.deepEqual(
      verifyConsistencyProof(c.proof, c.checkpoints.first, c.checkpoints.second, s.t.publicKey),
      { ok: true },
    );

    assert.equal((await get('/v1/proofs/inclusion?channel=app&seq=58&size=57')).statusCode, 400);
    assert.equal((await get('/v1/proofs/inclusion?channel=nosuch&seq=1')).statusCode, 404);
    assert.equal((await get('/v1/proofs/consistency?channel=app&from=0')).statusCode, 400);
  } finally {
    await s.close();
  }
});
