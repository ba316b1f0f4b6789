import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Role } from '../../src/access/tokens.js';
import { testService } from './helpers.js';

type Caller = 'none' | 'bad' | 'revoked' | Role;
const CALLERS: readonly Caller[] = ['none', 'bad', 'revoked', 'ingest', 'auditor', 'dpo', 'admin'];

/** A request each route can take from an allowed caller (it may still be a 4xx of its own). */
function sample(method: string, url: string): { path: string; body?: unknown; type?: string } {
  const path = url
    .replace(':channel', 'app')
    .replace(':seq', '1')
    .replace(
      ':id',
      url.startsWith('/v1/tokens') ? '000000000000' : 'exp-20260101-0000000000000000',
    );
  if (method !== 'POST') return { path: path === '/v1/integrity/verify' ? path : path };
  if (path === '/v1/events') return { path, body: { event: 'matrix.check' } };
  if (path === '/v1/gdpr/exports') return { path, body: { subject: ['nobody-at-all'] } };
  if (path === '/v1/gdpr/erasures')
    return { path, body: { subject: ['nobody-at-all'], reason: 'matrix', dry_run: true } };
  if (path === '/v1/tokens') return { path, body: { role: 'ingest', name: 'matrix' } };
  if (path === '/v1/otlp/logs') return { path, body: { resourceLogs: [] } };
  return { path, body: {} };
}

test('every route, with no token, a bad token, a revoked token and each role: only the allowed roles get through; each refusal is a security event', async () => {
  const s = await testService({ auth: { slowAfter: 1000, maxFailures: 1000 } });
  const revoked = s.tokens.create('admin', 'to revoke');
  s.tokens.revoke(revoked.info.id);
  const base = await s.app.listen({ host: '127.0.0.1', port: 0 });
  const routes = s.app.service.routes;
  try {
    // Everything the router has is in the list, and every route says who may use it.
    assert.ok(routes.length >= 15, `routes: ${routes.map((r) => r.url).join(' ')}`);
    for (const r of routes)
      assert.ok(r.public || (r.roles?.length ?? 0) > 0, `${r.method} ${r.url} declares roles`);
    let refusals = 0;
    for (const r of routes) {
      for (const caller of CALLERS) {
        const { path, body } = sample(r.method, r.url);
        const headers: Record<string, string> = {};
        if (caller === 'bad') headers.authorization = 'Bearer dl_0123456789ab_not-a-real-token';
        else if (caller === 'revoked') headers.authorization = `Bearer ${revoked.token}`;
        else if (caller !== 'none') headers.authorization = `Bearer ${s.token[caller]}`;
        if (body !== undefined) headers['content-type'] = 'application/json';
        const abort = new AbortController();
        const res = await fetch(`${base}${path}`, {
          method: r.method,
          headers,
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: abort.signal,
        });
        const status = res.status;
        // A stream (tail) is left as soon as its headers arrive.
        if (res.headers.get('content-type')?.startsWith('text/event-stream') === true)
          abort.abort();
        else await res.arrayBuffer();
        const where = `${r.method} ${r.url} as ${caller}`;
        if (r.public) {
          assert.ok(status !== 401 && status !== 403, `${where}: public, got ${status}`);
          continue;
        }
        // The admin page's session probe answers a caller with no credential: signed out.
        if (caller === 'none' && `${r.method} ${r.url}` === 'GET /v1/session') {
          assert.equal(status, 200, `${where}: the signed-out answer`);
          continue;
        }
        const allowed =
          caller !== 'none' &&
          caller !== 'bad' &&
          caller !== 'revoked' &&
          (r.roles ?? []).includes(caller);
        if (allowed) {
          assert.ok(status !== 401 && status !== 403, `${where}: allowed, got ${status}`);
        } else {
          const expected =
            caller === 'none' || caller === 'bad' || caller === 'revoked' ? 401 : 403;
          assert.equal(status, expected, where);
          refusals += 1;
        }
      }
    }
    assert.ok(refusals > routes.length * 3, `refusals: ${refusals}`);
    await s.logs.flush();
    const denied = s
      .records('security')
      .filter((e) => e.event === 'access.denied' || e.event === 'auth.failure');
    assert.equal(denied.length, refusals, 'one security event per refused request');
    // They say what was refused and why, never the token's secret.
    const codes = new Set(denied.map((e) => (e.data as { code: string }).code));
    assert.deepEqual([...codes].sort(), ['AUTH_INVALID', 'AUTH_REQUIRED', 'FORBIDDEN']);
    const all = JSON.stringify(s.records('security'));
    for (const secret of [revoked.token, ...Object.values(s.token)])
      assert.ok(!all.includes(secret.slice(16)), 'no token secret in security events');
  } finally {
    await s.close();
  }
});

test('repeated failed authentication is slowed down, then refused for a while; a valid token is never throttled', async () => {
  const s = await testService({
    auth: { slowAfter: 2, maxFailures: 5, windowMs: 60_000, lockoutMs: 60_000 },
  });
  try {
    const bad = {
      authorization: 'Bearer dl_0123456789ab_wrongwrongwrongwrongwrongwrongwrongwrong123',
    };
    const times: number[] = [];
    const statuses: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const res = await s.app.inject({ method: 'GET', url: '/v1/events', headers: bad });
      times.push(performance.now() - t0);
      statuses.push(res.statusCode);
    }
    assert.deepEqual(statuses, [401, 401, 401, 401, 401]);
    // The third and fourth failures wait 100 ms and 200 ms before their answer.
    assert.ok((times[2] ?? 0) >= 90 && (times[3] ?? 0) >= 190, `delays: ${times.join(', ')}`);
    // The fifth locked the address and that credential: failures from it now get 429 with
    // Retry-After, for that token from anywhere and for any bad token from that address.
    const get = (headers: Record<string, string>, remoteAddress = '127.0.0.1') =>
      s.app.inject({ method: 'GET', url: '/v1/events', headers, remoteAddress });
    const locked = await get(bad);
    assert.equal(locked.statusCode, 429);
    assert.equal(locked.json<{ error: { code: string } }>().error.code, 'AUTH_THROTTLED');
    assert.equal(locked.headers['retry-after'], '60');
    const otherBad = { authorization: `Bearer dl_0123456789ab_${'x'.repeat(43)}` };
    assert.equal((await get(otherBad)).statusCode, 429, 'another bad token from that address');
    assert.equal((await get(bad, '10.0.0.9')).statusCode, 429, 'that token from elsewhere');
    assert.equal((await get(otherBad, '10.0.0.9')).statusCode, 401, 'neither locked');
    // A valid token is never throttled: producers sharing 127.0.0.1 keep writing.
    assert.equal((await get(s.auth('admin'))).statusCode, 200);
    const ingest = await s.ingest({ level: 'AUDIT', event: 'user.created', actor: 'u-1' });
    assert.equal(ingest.statusCode, 200, ingest.body);
    // Nor is signing in to the admin page with a valid token; a wrong one is throttled.
    const signIn = (token: string) =>
      s.app.inject({ method: 'POST', url: '/v1/session', payload: { token } });
    assert.equal((await signIn(s.token.admin)).statusCode, 201);
    assert.equal((await signIn('dl_0123456789ab_' + 'y'.repeat(43))).statusCode, 429);
  } finally {
    await s.close();
  }
});

test('filters by real identity are for the dpo and admin roles: an auditor filters by pseudonym', async () => {
  const s = await testService();
  try {
    await s.logs.audit({ event: 'user.updated', actor: { id: 'u-ada' }, outcome: 'success' });
    const get = (role: 'auditor' | 'dpo', actor: string) =>
      s.app.inject({
        url: `/v1/events?event=user.updated&actor=${encodeURIComponent(actor)}`,
        headers: s.auth(role),
      });
    const byDpo = await get('dpo', 'u-ada');
    assert.equal(byDpo.statusCode, 200, byDpo.body);
    const records = byDpo.json<{ records: Array<{ sub?: string }> }>().records;
    assert.equal(records.length, 1);
    const pseudonym = records[0]?.sub;
    assert.match(String(pseudonym), /^sub_/);

    // The auditor may not turn a real id into its pseudonym, not even as "no records".
    const byAuditor = await get('auditor', 'u-ada');
    assert.equal(byAuditor.statusCode, 403);
    assert.equal(byAuditor.json<{ error: { code: string } }>().error.code, 'FORBIDDEN');
    assert.ok(!byAuditor.body.includes(String(pseudonym)), 'the pseudonym is not given away');
    // By pseudonym, the auditor finds the same record, showing the pseudonym only.
    const byPseudonym = await get('auditor', String(pseudonym));
    assert.equal(byPseudonym.statusCode, 200);
    assert.equal(byPseudonym.json<{ records: unknown[] }>().records.length, 1);
    assert.doesNotMatch(byPseudonym.body, /u-ada/);
  } finally {
    await s.close();
  }
});
