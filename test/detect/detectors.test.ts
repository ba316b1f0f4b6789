import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { openIfSealed } from '../../src/crypto/body-cipher.js';
import { LogLayout } from '../../src/store/file/layout.js';
import { failedLogin, login, rig, type Rig } from './rig.js';
import type { AlertPayload } from '../../src/detect/notify.js';
import { expectCode } from '../helpers.js';

const MIN = 60_000;

function only(alerts: readonly AlertPayload[], type: string): AlertPayload {
  assert.deepEqual(
    alerts.map((a) => a.type),
    [type],
    `exactly one alert, ${type}`,
  );
  const [a] = alerts;
  assert.ok(a !== undefined);
  return a;
}

/** The alert's record, as stored: in `security`, opened with the channel key. */
function storedAlert(r: Rig, a: AlertPayload): Record<string, unknown> {
  assert.ok(a.record !== null, 'the alert was written');
  assert.equal(a.record.channel, 'security');
  const ring = r.logs.keys.channelKeyring();
  for (const line of readFileSync(path.join(r.t.dir, 'security.log'), 'utf8').trim().split('\n')) {
    const rec = openIfSealed(JSON.parse(line) as Record<string, unknown>, ring).record;
    if (rec.seq === a.record.seq) return rec;
  }
  throw new Error(`alert record security #${a.record.seq} not found`);
}

test('brute force on one account: one alert at the 5th failure, evidence by reference, no copy of personal data', async () => {
  const r = await rig();
  const refs: Array<{ channel: string; seq: number }> = [];
  for (let i = 0; i < 4; i++) {
    refs.push(await r.write(failedLogin('u-victim', `203.0.113.${i + 1}`)));
    r.step(MIN);
  }
  assert.deepEqual(await r.settle(), [], 'four failures: no alert yet');
  refs.push(await r.write(failedLogin('u-victim', '203.0.113.9')));
  for (let i = 0; i < 10; i++) await r.write(failedLogin('u-victim', '203.0.113.9'));
  const a = only(await r.settle(), 'alert.brute_force');
  assert.equal(a.detector, 'failed_logins');
  assert.equal(a.count, 5);
  assert.deepEqual(a.evidence, refs, 'the five failures, by channel and seq');
  assert.deepEqual(a.group, { by: 'account', value: r.logs.keys.pseudonymOf('u-victim') });
  const text = JSON.stringify(a);
  assert.ok(!text.includes('u-victim') && !text.includes('203.0.113'), 'no id or address');

  const stored = storedAlert(r, a);
  assert.equal(stored.event, 'alert.brute_force');
  assert.equal(stored.level, 'SECURITY');
  const data = stored.data as Record<string, unknown>;
  assert.equal(data.alert_id, a.id);
  assert.equal(data.group_by, 'account');
  assert.equal(data.group, a.group.value, 'the pseudonym, as is');
  assert.deepEqual(
    data.evidence,
    refs.map((x) => `${x.channel}#${x.seq}`),
  );
  assert.ok(!JSON.stringify(stored).includes('203.0.113'));
  await r.close();
});

test('normal traffic raises nothing: a person who mistypes twice, busy sign-ins, usual admin work', async () => {
  const r = await rig();
  // What the admins did before today: their first time was alerted then, not now.
  for (const admin of ['u-admin1', 'u-admin2'])
    await r.write({
      channel: 'audit',
      level: 'AUDIT',
      event: 'token.created',
      outcome: 'success',
      actor: admin,
    });
  await r.settle();
  r.alerts.length = 0;
  for (let hour = 0; hour < 3; hour++) {
    for (let minute = 0; minute < 60; minute += 5) {
      // 20 people sign in from their own addresses; one mistypes twice first.
      for (let p = 0; p < 20; p++) {
        if (p === 7 && minute === 10) {
          await r.write(failedLogin('u-7', '198.51.100.7'));
          await r.write(failedLogin('u-7', '198.51.100.7'));
        }
        await r.write(login(`u-${p}`, `198.51.100.${p}`));
      }
      // Offices behind one address: a few failures among many accounts, far apart.
      if (minute % 30 === 0) await r.write(failedLogin(`u-${minute}`, '192.0.2.1'));
      await r.write({ channel: 'app', event: 'page.view', msg: 'home' });
      await r.write({ channel: 'api', event: 'http.request', data: { status: 200 } });
      // A refused access now and then, an export, a deletion or two, admin work done before.
      if (minute === 20)
        await r.write({
          channel: 'security',
          level: 'SECURITY',
          event: 'access.denied',
          outcome: 'denied',
          actor: 'u-3',
        });
      if (minute === 40) {
        await r.logs.recorders.recordRequest({
          event: 'gdpr.export',
          actor: 'u-dpo',
          outcome: 'success',
          data: { request_id: `req-${hour}` },
        });
        await r.write({
          channel: 'audit',
          level: 'AUDIT',
          event: 'data.sensitive.delete',
          actor: 'u-admin1',
          data: { count: 3 },
        });
        await r.write({
          channel: 'audit',
          level: 'AUDIT',
          event: 'token.created',
          outcome: 'success',
          actor: `u-admin${(hour % 2) + 1}`,
        });
      }
      r.step(5 * MIN);
      await r.settle({ tick: true });
    }
  }
  assert.deepEqual(
    r.alerts.map((a) => `${a.type} ${a.message}`),
    [],
  );
  await r.close();
});

test('brute force from one address over a few accounts: one alert for the address', async () => {
  const r = await rig();
  for (let i = 0; i < 12; i++) {
    await r.write(failedLogin(`u-${i % 3}`, '203.0.113.50'));
    r.step(20_000);
  }
  const a = only(await r.settle(), 'alert.brute_force_address');
  assert.equal(a.count, 10);
  assert.equal(a.group?.by, 'address');
  assert.match(a.group.value, /^addr_[0-9a-f]{24}$/);
  const data = storedAlert(r, a).data as Record<string, unknown>;
  assert.equal(data.group, a.group.value, 'the digest, as is');
  await r.close();
});

test('credential stuffing: many accounts from one address is one alert; the address digest is stable and distinct', async () => {
  const r = await rig();
  for (let i = 0; i < 20; i++) {
    await r.write(failedLogin(`u-${i}`, '203.0.113.66'));
    r.step(10_000);
  }
  const a = only(await r.settle(), 'alert.credential_stuffing');
  assert.equal(a.count, 5);
  r.step(20 * MIN); // after the quiet window, the same address again, and another one
  for (let i = 0; i < 5; i++) await r.write(failedLogin(`v-${i}`, '203.0.113.66'));
  for (let i = 0; i < 5; i++) await r.write(failedLogin(`w-${i}`, '203.0.113.67'));
  const [, again, other] = await r.settle();
  assert.equal(again?.group?.value, a.group?.value, 'same address, same digest');
  assert.notEqual(other?.group?.value, a.group?.value, 'another address, another digest');
  await r.close();
});

test('access denied burst: one alert per account, none for a few refusals', async () => {
  const r = await rig();
  const denied = (actor: string) => ({
    channel: 'security',
    level: 'SECURITY' as const,
    event: 'access.denied',
    outcome: 'denied' as const,
    actor,
  });
  for (let i = 0; i < 5; i++) await r.write(denied('u-curious'));
  assert.deepEqual(await r.settle(), []);
  for (let i = 0; i < 40; i++) {
    await r.write(denied('u-scanner'));
    r.step(2000);
  }
  const a = only(await r.settle(), 'alert.access_denied_burst');
  assert.equal(a.count, 20);
  assert.equal(a.group?.value, r.logs.keys.pseudonymOf('u-scanner'));
  await r.close();
});

test('a privileged action by an account that never did it: once per account and action, remembered across restarts', async () => {
  const r = await rig();
  const created = (actor: string) => ({
    channel: 'audit',
    level: 'AUDIT' as const,
    event: 'token.created',
    outcome: 'success' as const,
    actor,
  });
  await r.write(created('u-alice'));
  await r.write(created('u-alice'));
  const a = only(await r.settle(), 'alert.privileged_first_use');
  assert.equal(a.details?.action, 'token.created');
  assert.equal(a.group?.value, r.logs.keys.pseudonymOf('u-alice'));
  await r.restart();
  await r.write(created('u-alice'));
  await r.write({ ...created('u-alice'), event: 'admin.user.promote' });
  await r.write({ ...created('u-bob'), outcome: 'denied' as const }); // refused: not done
  const after = await r.settle();
  assert.deepEqual(
    after.slice(1).map((x) => [x.type, x.details?.action]),
    [['alert.privileged_first_use', 'admin.user.promote']],
  );
  await r.close();
});

test('GDPR burst: ten requests by one requester within the hour, counted once per request', async () => {
  // (the requester's first erasure is also a privileged first use: not what this test is about)
  const r = await rig({ detectors: { privileged: { enabled: false } } });
  for (let i = 0; i < 9; i++) {
    await r.logs.recorders.recordRequest({
      event: 'gdpr.erasure',
      actor: 'u-dpo',
      outcome: 'success',
      data: { request_id: `er-${i}` },
    });
    // The same request again (its scheduled end): not a new one.
    await r.logs.recorders.recordRequest({
      event: 'gdpr.erasure',
      outcome: 'success',
      actor: 'u-dpo',
      data: { request_id: `er-${i}` },
    });
    r.step(5 * MIN);
  }
  assert.deepEqual(await r.settle(), [], 'nine requests');
  await r.logs.recorders.recordRequest({
    event: 'gdpr.export',
    actor: 'u-dpo',
    outcome: 'success',
    data: { request_id: 'ex-1' },
  });
  const a = only(await r.settle(), 'alert.gdpr_burst');
  assert.equal(a.count, 10);
  await r.close();
});

test('mass deletion of sensitive data: counted by data.count, one alert', async () => {
  const r = await rig();
  const del = (count: number) => ({
    channel: 'audit',
    level: 'AUDIT' as const,
    event: 'data.sensitive.delete',
    actor: 'u-intern',
    data: { count },
  });
  await r.write(del(10));
  await r.write(del(30));
  assert.deepEqual(await r.settle(), []);
  await r.write(del(15));
  await r.write(del(100));
  const a = only(await r.settle(), 'alert.mass_deletion');
  assert.equal(a.count, 55);
  await r.close();
});

test('tampering: a failed verify job is one alert, its retries are not more', async () => {
  const r = await rig();
  await r.write({
    channel: 'scheduler',
    event: 'job.finished',
    target: { type: 'job', id: 'verify' },
  });
  assert.deepEqual(await r.settle(), []);
  for (let attempt = 1; attempt <= 3; attempt++) {
    await r.write({
      channel: 'scheduler',
      level: 'ERROR',
      event: 'job.failed',
      outcome: 'failure',
      target: { type: 'job', id: 'verify' },
      data: { code: 'INTEGRITY_STATE', attempt },
    });
    r.step(30_000);
  }
  const a = only(await r.settle(), 'alert.tampering');
  assert.equal(a.evidence[0]?.channel, 'scheduler');
  await r.close();
});

test('a restart keeps the counts and reads what was written while the service was down; nothing is alerted twice', async () => {
  const r = await rig();
  const refs: Array<{ channel: string; seq: number }> = [];
  for (let i = 0; i < 2; i++) refs.push(await r.write(failedLogin('u-away', '203.0.113.5')));
  assert.deepEqual(await r.settle(), []);
  await r.engine.close(); // the service stops
  const positions = new LogLayout(r.t.dir).serviceStateFile('positions');
  assert.equal(statSync(positions).mode & 0o777, 0o600);
  assert.ok(!readFileSync(positions, 'utf8').includes('u-away'), 'positions only');
  for (let i = 0; i < 3; i++) {
    refs.push(await r.write(failedLogin('u-away', '203.0.113.5')));
    r.step(MIN);
  }
  await r.restart();
  const a = only(await r.settle(), 'alert.brute_force');
  assert.deepEqual(a.evidence, refs, 'two before the stop, three while it was down');
  // Restarted again: the attack goes on within the quiet window that followed its alert.
  await r.restart();
  for (let i = 0; i < 5; i++) await r.write(failedLogin('u-away', '203.0.113.5'));
  await r.settle();
  assert.equal(r.alerts.length, 1, 'not alerted again after a restart, nor read twice');
  await r.close();
});

test('a rotation while the service was down: the new file is read, and the gap is an app record', async () => {
  const r = await rig();
  await r.write(failedLogin('u-rot', '203.0.113.6'));
  await r.settle();
  await r.engine.close();
  await r.write(failedLogin('u-rot', '203.0.113.6'));
  await r.logs.lifecycle.rotate('security');
  for (let i = 0; i < 5; i++) await r.write(failedLogin('u-rot', '203.0.113.6'));
  await r.restart();
  only(await r.settle(), 'alert.brute_force');
  await r.logs.flush();
  const gaps = readFileSync(path.join(r.t.dir, 'app.log'), 'utf8')
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((rec) => rec.event === 'detection.gap');
  assert.equal(gaps.length, 1);
  assert.deepEqual(gaps[0]?.data, { channel: 'security', reason: 'rotated' });
  await r.close();
});

test('logging stopped: a channel silent for the configured time after records, once; a full disk, once', async () => {
  let free = 10 * 1024 ** 3;
  const r = await rig({}, { freeBytes: () => free });
  await r.write({ channel: 'app', event: 'page.view' });
  await r.write({ channel: 'api', event: 'http.request' });
  await r.settle();
  for (let i = 0; i < 5; i++) {
    r.step(10 * MIN);
    await r.write({ channel: 'api', event: 'http.request' });
    await r.settle({ tick: true });
  }
  assert.deepEqual(r.alerts, [], '50 minutes of silence on app: not yet');
  r.step(11 * MIN);
  await r.write({ channel: 'api', event: 'http.request' });
  await r.settle({ tick: true });
  r.step(60 * MIN);
  await r.write({ channel: 'api', event: 'http.request' });
  await r.settle({ tick: true });
  const a = only(r.alerts, 'alert.logging_stopped');
  assert.equal(a.details?.channel, 'app');
  r.alerts.length = 0;
  free = 100 * 1024 * 1024;
  await r.write({ channel: 'app', event: 'page.view' });
  await r.settle({ tick: true });
  await r.settle({ tick: true });
  only(r.alerts, 'alert.disk_low');
  await r.close();
});

test('logging stopped: a watched channel with no record at all since the start, once', async () => {
  const r = await rig();
  for (let i = 0; i < 7; i++) {
    r.step(10 * MIN);
    await r.write({ channel: 'api', event: 'http.request' });
    await r.settle({ tick: true });
  }
  const a = only(r.alerts, 'alert.logging_stopped');
  assert.equal(a.details?.channel, 'app');
  assert.match(a.message, /no record on app since the detectors started 60 min ago/);
  r.step(60 * MIN);
  await r.write({ channel: 'api', event: 'http.request' });
  await r.settle({ tick: true });
  assert.equal(r.alerts.length, 1, 'still silent: no second alert');
  await r.close();
});

test('clock jump: the wall clock moving apart from the monotonic clock, once per jump', async () => {
  const r = await rig();
  for (let i = 0; i < 5; i++) {
    r.step(10_000);
    await r.settle({ tick: true });
  }
  assert.deepEqual(r.alerts, []);
  r.jumpWall(-10 * MIN);
  r.step(10_000);
  await r.settle({ tick: true });
  r.step(10_000);
  await r.settle({ tick: true });
  const a = only(r.alerts, 'alert.clock_jump');
  assert.equal(a.details?.jump_ms, -10 * MIN);
  await r.close();
});

test('clock jump in the records: a writer whose clock went back past the tolerance, once per channel', async () => {
  const r = await rig();
  await r.write({ channel: 'app', event: 'page.view' });
  r.jumpWall(-30_000); // within the tolerance
  await r.write({ channel: 'app', event: 'page.view' });
  assert.deepEqual(await r.settle(), []);
  r.jumpWall(-10 * MIN);
  const back = await r.write({ channel: 'app', event: 'page.view' });
  r.jumpWall(-10 * MIN);
  await r.write({ channel: 'app', event: 'page.view' });
  const a = only(await r.settle(), 'alert.clock_jump');
  assert.deepEqual(a.evidence, [back]);
  assert.deepEqual(a.group, { by: 'channel', value: 'app' });
  await r.close();
});

test('a user rule: a filter, a count over a window, grouped by a field', async () => {
  const r = await rig({
    detectors: {
      rules: [
        {
          name: 'many_exports',
          description: 'templates exported in bulk',
          filter: { channel: 'audit', event: 'template.*' },
          threshold: 3,
          window_ms: 10 * MIN,
          group_by: 'actor',
        },
      ],
    },
  });
  const exp = (actor: string) => ({
    channel: 'audit',
    level: 'AUDIT' as const,
    event: 'template.export',
    actor,
  });
  await r.write(exp('u-a'));
  await r.write(exp('u-b'));
  await r.write(exp('u-a'));
  await r.write(exp('u-b'));
  r.step(11 * MIN);
  await r.write(exp('u-b')); // the first of b's is out of the window
  assert.deepEqual(await r.settle(), []);
  await r.write(exp('u-a'));
  await r.write(exp('u-a'));
  await r.write(exp('u-a'));
  const a = only(await r.settle(), 'alert.rule.many_exports');
  assert.equal(a.detector, 'rule:many_exports');
  assert.match(a.message, /^templates exported in bulk: 3 matching events within 10 min$/);
  assert.equal(a.group?.value, r.logs.keys.pseudonymOf('u-a'));
  await r.close();
});

test('alert.*, log.integrity.* and config.policy.changed cannot be written by producers: such records were written by dihya-logs', async () => {
  const r = await rig();
  await expectCode('EVENT_INVALID', () =>
    r.logs.write({ channel: 'security', event: 'alert.brute_force', msg: 'forged' }),
  );
  await expectCode('EVENT_INVALID', () =>
    r.logs.write({ channel: 'audit', event: 'config.policy.changed', msg: 'forged' }),
  );
  await expectCode('EVENT_INVALID', () =>
    r.logs.writeAll([
      { channel: 'app', event: 'x' },
      { channel: 'security', event: 'alert.x' },
    ]),
  );
  // Nor the log's own integrity findings: a forged one would raise a tampering alert.
  for (const event of ['log.integrity.rollback', 'log.witness.unreachable', 'log.recovery']) {
    await expectCode('EVENT_INVALID', () => r.logs.write({ channel: 'security', event }));
  }
  await expectCode('INTERNAL', () =>
    r.logs.recorders.recordIntegrity({ event: 'auth.login.failure' }),
  );
  await r.close();
});
