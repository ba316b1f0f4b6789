import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { LogsError } from '../../src/errors.js';
import { LogLayout } from '../../src/store/file/layout.js';
import { verifyLogs } from '../../src/store/file/verify.js';
import { summaryFile } from '../../src/policy/state.js';
import { readmeFile } from '../../src/policy/readme.js';
import { policySummary } from '../../src/policy/summary.js';
import { newLog, readRecords, type TestLog } from '../helpers.js';

const mode = (p: string): number => statSync(p).mode & 0o777;

function policyEvents(t: TestLog): Array<Record<string, unknown>> {
  return readRecords(path.join(t.dir, 'audit.log')).filter(
    (r) => r.event === 'config.policy.changed',
  );
}

const APP_30 = { channels: { app: { retention: { min_days: 30, max_days: 30 } } } };

test('the first open of a new log stores the policy silently (0600); the library writes no README.md', async () => {
  const t = newLog();
  const layout = new LogLayout(t.dir);
  assert.equal(existsSync(readmeFile(layout)), false, 'the library’s initLogs writes no README');
  const logs = await t.open();
  await logs.audit({ event: 'x.y' });
  await logs.close();
  assert.deepEqual(policyEvents(t), []);
  // The policy document is the CLI's and the service's to write (test/policy/cli.test.ts).
  assert.equal(existsSync(readmeFile(layout)), false, 'the library’s open writes no README');
  assert.equal(mode(summaryFile(layout)), 0o600);
  const stored = JSON.parse(readFileSync(summaryFile(layout), 'utf8')) as { summary: unknown };
  assert.deepEqual(stored.summary, policySummary(logs.config));
});

test('a changed retention is an audit event naming exactly that key, old and new; the same configuration again writes nothing', async () => {
  const t = newLog();
  await (await t.open()).close();
  const logs = await t.open({ settings: APP_30 });
  await logs.close();
  const events = policyEvents(t);
  assert.equal(events.length, 1);
  const e = events[0]!;
  assert.equal(e.level, 'AUDIT');
  assert.equal(e.outcome, 'success');
  assert.deepEqual(e.data, {
    changes: [{ from: 90, key: 'channels.app.retention.max_days', to: 30 }],
    config: 'defaults',
    count: 1,
  });
  assert.equal(e.msg, 'policy configuration changed: channels.app.retention.max_days');

  await (await t.open({ settings: APP_30 })).close();
  assert.equal(policyEvents(t).length, 1, 'no change, no event');
  // Going back is a change too.
  await (await t.open()).close();
  const back = policyEvents(t);
  assert.equal(back.length, 2);
  assert.deepEqual((back[1]!.data as { changes: unknown }).changes, [
    { from: 30, key: 'channels.app.retention.max_days', to: 90 },
  ]);
  const report = await verifyLogs({ dir: t.dir, publicKey: t.publicKey });
  assert.equal(report.ok, true, JSON.stringify(report.damage));
});

test('changes across the policy: classification, detectors, alerts (origin only), a new channel', async () => {
  const t = newLog();
  await (await t.open()).close();
  await (
    await t.open({
      settings: {
        channels: { billing: { durability: 'durable' } },
        classification: {
          ip_addresses: 'truncate',
          patterns: [{ name: 'badge', pattern: '(?<![\\w-])BDG-\\d{4}(?!\\d)', mode: 'remove' }],
        },
        detectors: { failed_logins: { per_account: 3 }, tampering: { enabled: false } },
        alerts: { webhook: { url: 'https://alerts.example.org/hook/s3cr3t?token=abc123' } },
      },
    })
  ).close();
  const [e] = policyEvents(t);
  const changes = (e!.data as { changes: Array<{ key: string; from: unknown; to: unknown }> })
    .changes;
  const byKey = new Map(changes.map((c) => [c.key, c]));
  assert.deepEqual(byKey.get('detectors.failed_logins.per_account'), {
    key: 'detectors.failed_logins.per_account',
    from: 5,
    to: 3,
  });
  assert.equal(byKey.get('detectors.tampering.enabled')?.to, false);
  assert.equal(byKey.get('classification.ip_addresses')?.to, 'truncate');
  assert.equal(byKey.get('classification.patterns.badge.mode')?.to, 'remove');
  assert.equal(byKey.get('channels.billing.durability')?.to, 'durable');
  assert.equal(byKey.get('channels.billing.retention.max_days')?.from, null);
  assert.equal(byKey.get('alerts.webhook.url')?.to, 'https://alerts.example.org');
  const raw = readFileSync(path.join(t.dir, 'audit.log'), 'utf8');
  assert.ok(
    !raw.includes('s3cr3t') && !raw.includes('abc123'),
    'no part of the URL but its origin',
  );
});

test('a summary removed from a log that has records, or damaged: the whole policy is recorded', async () => {
  const t = newLog();
  const logs = await t.open();
  await logs.audit({ event: 'x.y' });
  await logs.close();
  const layout = new LogLayout(t.dir);
  rmSync(summaryFile(layout));
  await (await t.open()).close();
  const [missing] = policyEvents(t);
  const data = missing!.data as { previous: string; count: number; changes: unknown[] };
  assert.equal(data.previous, 'missing');
  assert.equal(data.count, Object.keys(policySummary(logs.config)).length);
  assert.equal(data.changes.length, data.count);
  assert.match(String(missing!.msg), /no earlier summary could be read \(missing\)/);

  writeFileSync(summaryFile(layout), '{"v":1,"summary":{"channels.app.retention.max_days":{}}}');
  await (await t.open()).close();
  assert.equal((policyEvents(t)[1]!.data as { previous: string }).previous, 'unreadable');
  await (await t.open()).close();
  assert.equal(policyEvents(t).length, 2, 'stored again: the next open is quiet');
});

test('a change list larger than the record limit is cut, never refused: the open succeeds', async () => {
  const t = newLog();
  const logs = await t.open();
  await logs.audit({ event: 'x.y' });
  await logs.close();
  rmSync(summaryFile(new LogLayout(t.dir)));
  await (await t.open({ settings: { limits: { max_record_bytes: 1024 } } })).close();
  const [e] = policyEvents(t);
  const data = e!.data as { count: number; omitted: number; changes: unknown[] };
  assert.ok(data.omitted > 0);
  assert.equal(data.changes.length + data.omitted, data.count);
});

test('an audit channel whose minimum level drops the event: reported, and the open goes on', async () => {
  const t = newLog();
  await (await t.open()).close();
  const errors: LogsError[] = [];
  const settings = { channels: { audit: { min_level: 'SECURITY' } } };
  await (await t.open({ settings, onError: (e) => errors.push(e) })).close();
  assert.deepEqual(policyEvents(t), []);
  assert.equal(errors.length, 1);
  assert.equal(errors[0]!.code, 'EVENT_INVALID');
  assert.match(errors[0]!.message, /config\.policy\.changed is below the channel's minimum level/);
});
