import { test } from 'node:test';
import assert from 'node:assert/strict';
import { testService, type TestService } from './helpers.js';

interface Source {
  source: string;
  id?: string;
  count: number;
}

interface StatsAnswer {
  failedSignIns: number[];
  topSecuritySources: Source[];
}

/** A failed sign-in as the README's Flask snippet sends it: no actor id, an e-mail and an IP. */
function failedSignIn(email: string, ip: string): Record<string, unknown> {
  return {
    level: 'SECURITY',
    event: 'auth.login.failure',
    outcome: 'failure',
    actor: { email, ip },
    msg: `sign-in failed for ${email}`,
  };
}

async function ingest(s: TestService, events: Array<Record<string, unknown>>): Promise<void> {
  const res = await s.app.inject({
    method: 'POST',
    url: '/v1/events',
    headers: { ...s.auth('ingest'), 'content-type': 'application/json' },
    payload: JSON.stringify(events),
  });
  assert.equal(res.statusCode, 200, res.body);
}

test('stats: failed sign-ins by e-mail and IP are one source; who it is for dpo and admin only', async () => {
  const s = await testService();
  try {
    const mallory = Array.from({ length: 22 }, (_, i) =>
      // The same address typed in another case is the same person.
      failedSignIn(i < 2 ? 'Mallory@Example.org' : 'mallory@example.org', '203.0.113.7'),
    );
    await ingest(s, [
      ...mallory.slice(0, 11),
      failedSignIn('eve@example.org', '198.51.100.9'),
      ...mallory.slice(11),
      failedSignIn('eve@example.org', '198.51.100.9'),
    ]);
    const stats = async (role: 'auditor' | 'dpo' | 'admin') => {
      const res = await s.app.inject({
        method: 'GET',
        url: '/v1/stats?bucket=hour',
        headers: s.auth(role),
      });
      assert.equal(res.statusCode, 200, res.body);
      return { body: res.body, stats: res.json<StatsAnswer>() };
    };

    const admin = (await stats('admin')).stats;
    assert.equal(
      admin.failedSignIns.reduce((x, y) => x + y, 0),
      24,
    );
    assert.equal(admin.topSecuritySources.length, 2);
    const [top, second] = admin.topSecuritySources;
    assert.ok(top !== undefined && second !== undefined);
    assert.deepEqual(top, { source: top.source, id: 'mallory@example.org', count: 22 });
    assert.match(top.source, /^sub_[\da-f]{24}$/);
    assert.deepEqual(second, { source: second.source, id: 'eve@example.org', count: 2 });

    const dpo = (await stats('dpo')).stats;
    assert.deepEqual(dpo.topSecuritySources, admin.topSecuritySources);

    // An auditor sees the same source, as the pseudonym only: no address anywhere.
    const auditor = await stats('auditor');
    assert.deepEqual(auditor.stats.topSecuritySources, [
      { source: top.source, count: 22 },
      { source: second.source, count: 2 },
    ]);
    assert.doesNotMatch(auditor.body, /mallory|eve@|example\.org|203\.0\.113|198\.51\.100/i);

    // The pseudonym leads to the records: they are the subject's.
    const found = await s.app.inject({
      method: 'GET',
      url: `/v1/events?channel=security&subject=${top.source}&limit=100`,
      headers: s.auth('auditor'),
    });
    assert.equal(found.json<{ records: unknown[] }>().records.length, 22);
  } finally {
    await s.close();
  }
});

test('stats: an actor with an id is the source, whoever the subject; top bounds the list', async () => {
  const s = await testService();
  try {
    await ingest(s, [
      ...Array.from({ length: 3 }, () => ({
        level: 'SECURITY',
        event: 'access.denied',
        outcome: 'denied',
        actor: { id: 'u-42', ip: '203.0.113.8' },
      })),
      failedSignIn('eve@example.org', '198.51.100.9'),
    ]);
    const res = await s.app.inject({
      method: 'GET',
      url: '/v1/stats?top=1',
      headers: s.auth('admin'),
    });
    assert.deepEqual(
      res.json<StatsAnswer>().topSecuritySources.map((e) => [e.id, e.count]),
      [['u-42', 3]],
    );
  } finally {
    await s.close();
  }
});
