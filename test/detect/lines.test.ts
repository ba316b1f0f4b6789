import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LineSelector } from '../../src/detect/lines.js';
import { splitLines } from '../../src/store/file/lines.js';

const interests = [
  { events: ['auth.login.failure', 'auth.failure'], outcomes: [], all: false },
  { events: ['admin.*', 'token.created'], outcomes: [], all: false },
  { events: [], outcomes: ['denied'], all: false },
];

function chunkOf(records: ReadonlyArray<Record<string, unknown>>): Buffer {
  return Buffer.from(records.map((r) => `${JSON.stringify(r)}\n`).join(''));
}

function picked(selector: LineSelector, chunk: Buffer): number[] {
  return selector.select(chunk).map((l) => (JSON.parse(l.toString('utf8')) as { seq: number }).seq);
}

test('the selector picks the lines of wanted events, glob prefixes, outcomes and clock skew, once each, in order', () => {
  const chunk = chunkOf([
    { seq: 1, event: 'page.view', msg: 'héllo ✓ "quoted"', outcome: 'success' },
    { seq: 2, event: 'auth.login.failure', outcome: 'failure' },
    { seq: 3, event: 'auth.login.failure.extra' },
    { seq: 4, event: 'admin.user.delete', outcome: 'success' },
    { seq: 5, event: 'administrator' },
    { seq: 6, event: 'report.read', outcome: 'denied' },
    { seq: 7, event: 'auth.failure', outcome: 'denied' },
    { seq: 8, event: 'page.view', ts_skew_ms: 1500 },
    { seq: 9, event: 'token.created' },
    { seq: 10, event: 'page.view', outcome: 'deniedish' },
  ]);
  assert.deepEqual(picked(new LineSelector(interests, true), chunk), [2, 4, 6, 7, 8, 9]);
  assert.deepEqual(picked(new LineSelector(interests, false), chunk), [2, 4, 6, 7, 9]);
  assert.deepEqual(
    splitLines(chunk).map((l) => (JSON.parse(l.toString()) as { seq: number }).seq),
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
  );
});

test('the selector never misses a wanted record among 5,000 random ones', () => {
  const events = [
    'auth.login.failure',
    'auth.failure',
    'admin.role.grant',
    'admin',
    'token.created',
    'token.create',
    'page.view',
    'ädmin.x',
  ];
  const outcomes = ['success', 'failure', 'denied', 'unknown'];
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(Math.random() * xs.length)] as T;
  const records = Array.from({ length: 5000 }, (_, seq) => {
    const r: Record<string, unknown> = { seq, event: pick(events) };
    if (Math.random() < 0.7) r.outcome = pick(outcomes);
    // A nested "event" key, and text holding what looks like a key: at most a parse for nothing.
    if (Math.random() < 0.3) r.data = { event: pick(events), note: `"event":"${pick(events)}"` };
    return r;
  });
  const wanted = (r: Record<string, unknown>): boolean =>
    ['auth.login.failure', 'auth.failure', 'token.created'].includes(r.event as string) ||
    (r.event as string).startsWith('admin.') ||
    r.outcome === 'denied';
  const got = new Set(picked(new LineSelector(interests, false), chunkOf(records)));
  for (const r of records)
    if (wanted(r)) assert.ok(got.has(r.seq as number), `record ${JSON.stringify(r)} was missed`);
  // And it is a filter: records with no wanted value anywhere on their line are left out.
  const noise = records.filter((r) => !wanted(r) && r.data === undefined);
  assert.ok(noise.length > 500);
  for (const r of noise) assert.ok(!got.has(r.seq as number), `picked ${JSON.stringify(r)}`);
});
