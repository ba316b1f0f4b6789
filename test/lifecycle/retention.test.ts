import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { applyRetention, planRetention } from '../../src/lifecycle/retention.js';
import { resolveConfig } from '../../src/config/resolve.js';
import { LogLayout } from '../../src/store/file/layout.js';
import { readSegmentBook } from '../../src/store/file/segment-log.js';
import { verifyLogs } from '../../src/store/file/verify.js';
import { expectCode, newLog } from '../helpers.js';
import { readChannel } from './read.js';

const DAY = 24 * 60 * 60 * 1000;
const NOW = Date.parse('2026-06-30T12:00:00.000Z');

/** App archives whose newest records are `ages` days old (one sealed segment per age). */
async function agedLog(ages: number[], settings: Record<string, unknown> = {}) {
  const t = newLog();
  let now = 0;
  const logs = await t.open({ clock: () => now, settings });
  for (const age of ages) {
    now = NOW - age * DAY;
    logs.app.info({ age }, 'aged');
    await logs.lifecycle.rotate('app');
  }
  return { t, logs };
}

test('retention deletes past the maximum, keeps within it and within the minimum (boundaries in days)', async () => {
  const { t, logs } = await agedLog([120, 91, 90, 60, 29]);
  const plan = await applyRetention(logs, { now: NOW, dryRun: true });
  assert.deepEqual(
    plan.decisions.filter((d) => d.channel === 'app').map((d) => [d.ageDays, d.action]),
    [
      [120, 'delete'],
      [91, 'delete'],
      [90, 'keep'],
      [60, 'keep'],
      [29, 'keep'],
    ],
  );
  assert.equal(plan.deleted, 0);
  assert.equal(
    readSegmentBook(new LogLayout(t.dir), t.logId)
      .segments('app')
      .filter((s) => s.state === 'deleted').length,
    0,
  );

  const report = await applyRetention(logs, { now: NOW });
  // The scheduler channel rotated daily too (it records each rotation): same rules.
  assert.equal(report.deleted, report.decisions.filter((d) => d.action === 'delete').length);
  assert.equal(
    report.decisions.filter((d) => d.channel === 'app' && d.action === 'delete').length,
    2,
  );
  await logs.close();
  const segs = readSegmentBook(new LogLayout(t.dir), t.logId).segments('app');
  assert.deepEqual(
    segs.map((s) => s.state),
    ['deleted', 'deleted', 'sealed', 'sealed', 'sealed'],
  );
  for (const s of segs.slice(0, 2)) assert.equal(existsSync(path.join(t.dir, s.file!)), false);

  // The chain continues over the tombstones; each deletion is an audit event.
  const v = await verifyLogs({ dir: t.dir, publicKey: t.publicKey });
  assert.ok(v.ok, JSON.stringify(v.damage));
  const audit = await readChannel(t.dir, t.logId, 'audit');
  const deletions = audit.filter(
    (r) =>
      r.event === 'retention.segment.deleted' && (r.data as { channel: string }).channel === 'app',
  );
  assert.equal(deletions.length, 2);
  assert.deepEqual(
    deletions.map((r) => (r.data as { first: number }).first),
    [1, 2],
  );
  assert.deepEqual(
    (await readChannel(t.dir, t.logId, 'app')).map((r) => (r.data as { age: number }).age),
    [90, 60, 29],
  );
});

test('the minimum wins over an early maximum: nothing younger than min_days is deleted', () => {
  assert.throws(
    () => resolveConfig({ channels: { app: { retention: { min_days: 60, max_days: 30 } } } }, '/'),
    /max_days \(30\) is below min_days \(60\)/,
  );
  const config = resolveConfig(
    { channels: { app: { retention: { min_days: 30, max_days: 30 } } } },
    '/',
  );
  assert.deepEqual(config.channels.app!.retention, { minDays: 30, maxDays: 30 });
  assert.deepEqual(config.channels.audit!.retention, { minDays: 365, maxDays: 1825 });
  assert.deepEqual(config.channels.api!.retention, { minDays: 90, maxDays: 90 });
});

test('a legal hold suspends deletion until it is cleared; both are signed and audited', async () => {
  const { t, logs } = await agedLog([200, 150]);
  await logs.lifecycle.hold('app', true, 'case 2026-114, court order');
  const held = await applyRetention(logs, { now: NOW });
  const app = held.decisions.filter((d) => d.channel === 'app');
  assert.equal(app.length, 2);
  assert.ok(
    app.every((d) => d.action === 'keep' && /^legal hold since .+ \(audit #\d+\)$/.test(d.why)),
  );
  await expectCode('RETENTION_HOLD', () =>
    logs.lifecycle.deleteSegment('app', 1, 1, 'by hand', NOW),
  );
  // The reason stays in the (classified) audit event; the signed segment log only points to it.
  assert.doesNotMatch(
    readFileSync(path.join(t.dir, '.integrity', 'segments.log'), 'utf8'),
    /2026-114/,
  );

  await logs.lifecycle.hold('app', false, 'case closed');
  await expectCode('RETENTION_MINIMUM', () =>
    logs.lifecycle.deleteSegment('app', 2, 2, 'too early', NOW - 150 * DAY + 29 * DAY),
  );
  const after = await applyRetention(logs, { now: NOW });
  assert.equal(
    after.decisions.filter((d) => d.channel === 'app' && d.action === 'delete').length,
    2,
  );
  await logs.close();
  const audit = await readChannel(t.dir, t.logId, 'audit');
  assert.deepEqual(
    audit
      .filter((r) => (r.data as { channel?: string }).channel === 'app')
      .map((r) => r.event)
      .filter((e) => String(e).startsWith('retention.')),
    [
      'retention.hold.set',
      'retention.hold.cleared',
      'retention.segment.deleted',
      'retention.segment.deleted',
    ],
  );
  assert.ok((await verifyLogs({ dir: t.dir, publicKey: t.publicKey })).ok);
});

test('retention never touches segments still in staging nor the active file', () => {
  const { book, config } = {
    book: {
      channels: () => ['app'],
      hold: () => undefined,
      segments: () => [
        { channel: 'app', first: 1, last: 5, state: 'staging', lastTs: '2020-01-01T00:00:00.000Z' },
      ],
    },
    config: resolveConfig({}, '/'),
  };
  const plan = planRetention(book as never, config, NOW);
  assert.deepEqual(plan, []);
});

test('removing the last hold entry of the segment log is caught by verify against the audit trail', async () => {
  const { t, logs } = await agedLog([200]);
  await logs.lifecycle.hold('app', true, 'case 77');
  await logs.close();
  assert.ok((await verifyLogs({ dir: t.dir, publicKey: t.publicKey })).ok);
  const file = path.join(t.dir, '.integrity', 'segments.log');
  const lines = readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l !== '');
  assert.match(lines[lines.length - 1]!, /"kind":"hold"/);
  writeFileSync(file, `${lines.slice(0, -1).join('\n')}\n`);
  const report = await verifyLogs({ dir: t.dir, publicKey: t.publicKey });
  assert.deepEqual(
    report.damage.map((d) => [d.kind, d.channel]),
    [['hold_mismatch', 'app']],
  );
});
