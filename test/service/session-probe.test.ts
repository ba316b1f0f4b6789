import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DetectionEngine } from '../../src/detect/engine.js';
import type { AlertPayload } from '../../src/detect/notify.js';
import { testService, type TestService } from './helpers.js';

const BAD = { authorization: 'Bearer dl_0123456789ab_wrongwrongwrongwrongwrongwrongwrongwrong123' };

/** The detectors on the service's log, reading only when the test says so. */
function detectors(s: TestService): { settle(): Promise<AlertPayload[]>; close(): Promise<void> } {
  const alerts: AlertPayload[] = [];
  const errors: Error[] = [];
  const engine = new DetectionEngine({
    logs: s.logs,
    masterKey: s.t.masterKey,
    pollMs: 0,
    tickMs: 0,
    freeBytes: () => 10 * 1024 ** 3,
    onError: (e) => errors.push(e),
  });
  engine.onAlert((a) => alerts.push(a));
  return {
    async settle() {
      await s.logs.flush();
      engine.poll();
      await engine.settled();
      assert.deepEqual(errors, []);
      return alerts;
    },
    close: () => engine.close(),
  };
}

function failures(s: TestService): Array<Record<string, unknown>> {
  return s.records('security').filter((e) => e.event === 'auth.failure');
}

test('GET /v1/session without any credential is a signed-out probe: 200 signedIn false, no auth.failure, no brute-force alert', async () => {
  // With the default detectors, five failed authentications raise an alert: five probes must not.
  const s = await testService({ auth: { slowAfter: 1000, maxFailures: 1000 } });
  const d = detectors(s);
  try {
    for (let i = 0; i < 5; i++) {
      const res = await s.app.inject({ method: 'GET', url: '/v1/session' });
      assert.equal(res.statusCode, 200, res.body);
      assert.deepEqual(res.json(), { signedIn: false });
      assert.equal(res.headers['set-cookie'], undefined);
    }
    assert.deepEqual(await d.settle(), []);
    assert.deepEqual(failures(s), []);
    assert.deepEqual(
      s.records('security').filter((e) => String(e.event).startsWith('alert.')),
      [],
      'no alert record',
    );

    // The same detectors do see five failed authentications on that route.
    for (let i = 0; i < 5; i++) {
      const res = await s.app.inject({ method: 'GET', url: '/v1/session', headers: BAD });
      assert.equal(res.statusCode, 401);
    }
    const alerts = await d.settle();
    assert.deepEqual(
      alerts.map((a) => a.type),
      ['alert.brute_force'],
    );
    assert.equal(failures(s).length, 5);
  } finally {
    await d.close();
    await s.close();
  }
});

test('GET /v1/session with a credential that fails is still refused, recorded and throttled', async () => {
  const s = await testService({
    auth: { slowAfter: 1000, maxFailures: 3, windowMs: 60_000, lockoutMs: 60_000 },
  });
  try {
    // A forged session cookie, an Authorization header that is no bearer token, a bad token.
    const forged = await s.app.inject({
      url: '/v1/session',
      headers: { cookie: 'dihya_session=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
    });
    assert.equal(forged.statusCode, 401);
    assert.equal(forged.json<{ error: { code: string } }>().error.code, 'AUTH_REQUIRED');
    const basic = await s.app.inject({
      url: '/v1/session',
      headers: { authorization: 'Basic dXNlcjpwYXNz' },
    });
    assert.equal(basic.statusCode, 401);
    const bad = await s.app.inject({ url: '/v1/session', headers: BAD });
    assert.equal(bad.statusCode, 401);
    assert.equal(bad.json<{ error: { code: string } }>().error.code, 'AUTH_INVALID');
    await s.logs.flush();
    assert.deepEqual(
      failures(s).map((e) => {
        const data = e.data as { route: string; code: string };
        return `${data.route} ${data.code}`;
      }),
      ['/v1/session AUTH_REQUIRED', '/v1/session AUTH_REQUIRED', '/v1/session AUTH_INVALID'],
    );

    // Bad tokens count towards the throttle as on any route: the third locks the address.
    for (let i = 0; i < 2; i++)
      assert.equal((await s.app.inject({ url: '/v1/session', headers: BAD })).statusCode, 401);
    const locked = await s.app.inject({ url: '/v1/session', headers: BAD });
    assert.equal(locked.statusCode, 429);
    // A valid token is never throttled.
    const valid = await s.app.inject({ url: '/v1/session', headers: s.auth('admin') });
    assert.equal(valid.statusCode, 200);
    // A caller with nothing to check is not refused: there is nothing to throttle.
    const probe = await s.app.inject({ url: '/v1/session' });
    assert.deepEqual([probe.statusCode, probe.json()], [200, { signedIn: false }]);

    // A good token still answers who it is, unchanged.
    const other = await s.app.inject({
      url: '/v1/session',
      headers: s.auth('auditor'),
      remoteAddress: '10.0.0.9',
    });
    assert.equal(other.statusCode, 200);
    assert.deepEqual(other.json(), {
      tokenId: s.token.auditor.slice(3, 15),
      name: 'test auditor',
      role: 'auditor',
    });
  } finally {
    await s.close();
  }
});

test('/v1/openapi.json describes both answers of GET /v1/session', async () => {
  const s = await testService();
  try {
    const doc = (await s.app.inject({ url: '/v1/openapi.json' })).json<{
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    }>();
    const ok = JSON.stringify(doc.paths['/v1/session']?.get?.responses['200']);
    assert.match(ok, /"signedIn"/);
    assert.match(ok, /"tokenId"/);
    assert.match(ok, /"csrf"/);
  } finally {
    await s.close();
  }
});
