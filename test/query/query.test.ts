import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { LEVEL_RANK, type Level } from '../../src/event/levels.js';
import { IndexDb } from '../../src/search/index-db.js';
import { parseFilter, type RawFilter } from '../../src/query/filter.js';
import { runQuery, type QueryResult } from '../../src/query/query.js';
import { decodeCursor } from '../../src/query/search.js';
import { LogLayout } from '../../src/store/file/layout.js';
import { expectCode, type TestLog } from '../helpers.js';
import { seededLog, writeSome } from '../search/helpers.js';
import { key, pseudonymOf, storedRecords, words, type Rec } from './helpers.js';

const CHANNELS = ['app', 'audit', 'security', 'scheduler', 'api'];

/** Every page of a query, by `limit` records a page. */
async function allPages(
  t: TestLog,
  db: IndexDb,
  raw: RawFilter,
  limit: number,
  order: 'asc' | 'desc' = 'desc',
): Promise<{ records: Rec[]; pages: number }> {
  const { filter } = parseFilter(raw, {
    nowMs: Date.now(),
    channels: CHANNELS,
    pseudonymOf: (id) => pseudonymOf(t, id),
  });
  const records: Rec[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const r: QueryResult = await runQuery(new LogLayout(t.dir), t.logId, db, {
      filter,
      limit,
      order,
      ...(cursor === undefined ? {} : { cursor }),
    });
    assert.deepEqual(r.damaged, []);
    for (const x of r.records) records.push(x.record as Rec);
    cursor = r.next;
    pages += 1;
    assert.ok(pages < 1000, 'pagination ends');
  } while (cursor !== undefined);
  return { records, pages };
}

const byTime = (a: Rec, b: Rec): number =>
  a.ts.localeCompare(b.ts) ||
  CHANNELS.indexOf(a.channel) - CHANNELS.indexOf(b.channel) ||
  a.seq - b.seq;

test('each filter, and filters combined, give exactly the records that match, across archives and the active file', async () => {
  const t = await seededLog();
  const all = await storedRecords(t);
  const u3 = pseudonymOf(t, 'u-3');
  const jean = pseudonymOf(t, 'jean.dupont@example.fr');
  const sorted = [...all].sort(byTime);
  const middle = sorted[Math.floor(sorted.length / 2)] as Rec;
  const late = sorted[Math.floor((sorted.length * 3) / 4)] as Rec;
  const midMs = Date.parse(middle.ts);
  const lateMs = Date.parse(late.ts);
  const actorId = (r: Rec): unknown => (r.actor as { id?: unknown } | undefined)?.id;
  const rank = (r: Rec): number => LEVEL_RANK[r.level as Level];
  const cases: Array<[string, RawFilter, (r: Rec) => boolean]> = [
    ['channel', { channel: ['audit'] }, (r) => r.channel === 'audit'],
    ['level', { level: 'warning' }, (r) => rank(r) >= LEVEL_RANK.WARNING],
    ['event', { event: ['access.denied'] }, (r) => r.event === 'access.denied'],
    ['event glob', { event: ['auth.*'] }, (r) => String(r.event).startsWith('auth.')],
    ['event suffix glob', { event: ['*.export'] }, (r) => String(r.event).endsWith('.export')],
    [
      'two events',
      { event: ['job.run,data.export'] },
      (r) => ['job.run', 'data.export'].includes(String(r.event)),
    ],
    ['outcome', { outcome: ['failure'] }, (r) => r.outcome === 'failure'],
    ['actor by real id', { actor: ['u-3'] }, (r) => actorId(r) === u3],
    ['subject by e-mail', { subject: ['jean.dupont@example.fr'] }, (r) => r.sub === jean],
    [
      'request id',
      { requestId: ['req-7', 'req-250'] },
      (r) => ['req-7', 'req-250'].includes(String(r.request_id)),
    ],
    ['since', { since: middle.ts }, (r) => Date.parse(r.ts) >= midMs],
    ['until', { until: middle.ts }, (r) => Date.parse(r.ts) < midMs],
    ['text word', { text: 'zanzibar' }, (r) => words(r.msg).includes('zanzibar')],
    ['text phrase', { text: '"almost used"' }, (r) => String(r.msg).includes('almost used')],
    [
      'text prefix, any case',
      { text: 'ZANZ*' },
      (r) => words(r.msg).some((w) => w.startsWith('zanz')),
    ],
    [
      'text two words',
      { text: 'quota 12' },
      (r) => words(r.msg).includes('quota') && words(r.msg).includes('12'),
    ],
    [
      'channel + level + outcome + actor',
      { channel: ['app'], level: 'WARNING', outcome: ['failure'], actor: ['u-3'] },
      (r) =>
        r.channel === 'app' &&
        rank(r) >= LEVEL_RANK.WARNING &&
        r.outcome === 'failure' &&
        actorId(r) === u3,
    ],
    [
      'event glob + time window',
      { event: ['*.denied', 'auth.*'], since: middle.ts, until: late.ts },
      (r) =>
        (String(r.event).endsWith('.denied') || String(r.event).startsWith('auth.')) &&
        Date.parse(r.ts) >= midMs &&
        Date.parse(r.ts) < lateMs,
    ],
    [
      'text + actor + level',
      { text: 'zanzibar', actor: ['u-3'], level: 'INFO' },
      (r) => words(r.msg).includes('zanzibar') && actorId(r) === u3 && rank(r) >= LEVEL_RANK.INFO,
    ],
    ['no match', { event: ['no.such.event'] }, () => false],
  ];
  const db = IndexDb.open(new LogLayout(t.dir), t.logId);
  try {
    for (const [name, raw, match] of cases) {
      const expected = all.filter(match).sort(byTime).reverse().map(key);
      const { records } = await allPages(t, db, raw, 25);
      assert.deepEqual(records.map(key), expected, name);
      if (name !== 'no match')
        assert.ok(expected.length > 0, `${name}: the seeded log has answers`);
    }
    // Known answers of the seeded log: 260 app records, one event type in four.
    const denied = await allPages(t, db, { event: ['access.denied'] }, 100);
    assert.equal(denied.records.length, 65);
    const jeanRecords = await allPages(t, db, { subject: ['jean.dupont@example.fr'] }, 100);
    assert.equal(jeanRecords.records.length, 3); // one data.export per writeSome, three calls
  } finally {
    db.close();
  }
});

test('pagination returns every record exactly once, in order, in both directions', async () => {
  const t = await seededLog();
  const all = (await storedRecords(t)).sort(byTime);
  const db = IndexDb.open(new LogLayout(t.dir), t.logId);
  try {
    const desc = await allPages(t, db, {}, 7);
    assert.deepEqual(desc.records.map(key), [...all].reverse().map(key));
    assert.equal(desc.pages, Math.ceil(all.length / 7));
    const asc = await allPages(t, db, {}, 7, 'asc');
    assert.deepEqual(asc.records.map(key), all.map(key));
  } finally {
    db.close();
  }
});

test('a page after a cursor neither repeats nor skips records while new ones are written', async () => {
  const t = await seededLog();
  const logs = await t.open();
  const layout = new LogLayout(t.dir);
  const db = IndexDb.open(layout, t.logId);
  try {
    const filter = { channels: ['app'] };
    const seen: string[] = [];
    let r = await runQuery(layout, t.logId, db, { filter, limit: 100, order: 'asc' });
    seen.push(...r.records.map(key));
    await writeSome(logs, 30, 1000); // while the reader is between pages
    while (r.next !== undefined) {
      r = await runQuery(layout, t.logId, db, { filter, limit: 100, cursor: r.next });
      seen.push(...r.records.map(key));
    }
    assert.equal(new Set(seen).size, seen.length, 'no record twice');
    assert.deepEqual(
      seen,
      Array.from({ length: 290 }, (_, i) => `app#${i + 1}`),
    );
  } finally {
    db.close();
    await logs.close();
  }
});

test('deleting the index and building it again gives identical answers', async () => {
  const t = await seededLog();
  const layout = new LogLayout(t.dir);
  const queries: RawFilter[] = [
    {},
    { actor: ['u-3'], level: 'WARNING' },
    { text: 'zanzibar', event: ['*.export'] },
    { subject: ['jean.dupont@example.fr'] },
    { channel: ['scheduler'] },
  ];
  const answers = async (): Promise<string[][]> => {
    const db = IndexDb.open(layout, t.logId);
    try {
      const out: string[][] = [];
      for (const q of queries) out.push((await allPages(t, db, q, 50)).records.map(key));
      return out;
    } finally {
      db.close();
    }
  };
  const before = await answers();
  IndexDb.remove(layout);
  const after = await answers();
  assert.deepEqual(after, before);
  assert.ok(before.every((a) => a.length > 0));
});

test('a record edited on disk after it was indexed is reported as failing its hash when read', async () => {
  const t = await seededLog();
  const layout = new LogLayout(t.dir);
  const db = IndexDb.open(layout, t.logId);
  try {
    const filter = { channels: ['app'], text: 'zanzibar' };
    const first = await runQuery(layout, t.logId, db, { filter, limit: 3 });
    assert.ok(first.records.every((r) => r.status === 'ok'));
    const victim = first.records[1];
    assert.ok(victim !== undefined);
    // Same length, so every other line stays where the index says it is.
    const file = path.join(t.dir, 'app.log');
    const text = readFileSync(file, 'utf8');
    const line = text.split('\n').find((l) => l.includes(`"seq":${victim.seq},`)) as string;
    writeFileSync(file, text.replace(line, line.replace('zanzibar', 'ZANZIBAR')));

    const r = await runQuery(layout, t.logId, db, { filter, limit: 3 });
    assert.deepEqual(
      r.records.map((x) => [x.seq, x.status]),
      first.records.map((x) => [x.seq, x.seq === victim.seq ? 'hash_mismatch' : 'ok']),
    );
    assert.deepEqual(
      r.damaged.map((d) => [d.channel, d.seq, d.file]),
      [['app', victim.seq, 'app.log']],
    );
    assert.match(
      String(r.damaged[0]?.record?.msg),
      /ZANZIBAR/,
      'the altered line is shown as evidence',
    );
  } finally {
    db.close();
  }
});

test('filters are checked: bad times, levels, channels, limits and cursors get a code', async () => {
  const t = await seededLog();
  const ctx = {
    nowMs: Date.UTC(2026, 10, 24, 12),
    channels: CHANNELS,
    pseudonymOf: () => undefined,
  };
  const parse = (raw: RawFilter) => parseFilter(raw, ctx).filter;
  assert.equal(parse({ since: '15m' }).sinceMs, ctx.nowMs - 15 * 60_000);
  assert.equal(parse({ since: '2d' }).sinceMs, ctx.nowMs - 2 * 86_400_000);
  assert.equal(parse({ since: '1h30m' }).sinceMs, ctx.nowMs - 90 * 60_000);
  assert.equal(parse({ since: '2026-11-24' }).sinceMs, Date.UTC(2026, 10, 24));
  assert.equal(parse({ until: '2026-11-24T08:30' }).untilMs, Date.UTC(2026, 10, 24, 8, 30));
  assert.equal(
    parse({ until: '2026-11-24T08:30:00+01:00' }).untilMs,
    Date.UTC(2026, 10, 24, 7, 30),
  );
  await expectCode('USAGE', () => parse({ since: 'yesterday' }));
  await expectCode('USAGE', () => parse({ since: '1h', until: '2h' }));
  await expectCode('EVENT_LEVEL_UNKNOWN', () => parse({ level: 'LOUD' }));
  await expectCode('EVENT_CHANNEL_UNKNOWN', () => parse({ channel: ['nope'] }));
  await expectCode('USAGE', () => parse({ event: ['auth.[a-z]'] }));
  await expectCode('USAGE', () => parse({ text: '"" *' }));
  const { unknownPeople } = parseFilter({ actor: ['someone@example.org'] }, ctx);
  assert.deepEqual(unknownPeople, ['someone@example.org']);

  const layout = new LogLayout(t.dir);
  const db = IndexDb.open(layout, t.logId);
  try {
    const first = await runQuery(layout, t.logId, db, { filter: {}, limit: 5 });
    const cursor = first.next as string;
    assert.equal(decodeCursor(cursor).order, 'desc');
    const forged = Buffer.from('[1,0,"app","x","desc"]').toString('base64url');
    for (const bad of [forged, `${cursor}!`, 'e30', 'x'.repeat(600)])
      await expectCode('QUERY_CURSOR_INVALID', () =>
        runQuery(layout, t.logId, db, { filter: {}, cursor: bad }),
      );
    for (const limit of [0, -1, 1.5, 10_001])
      await expectCode('USAGE', () => runQuery(layout, t.logId, db, { filter: {}, limit }));
    // Text that looks like FTS5 syntax is searched as words, never run as a query.
    for (const text of ['NEAR(a b)', 'msg:zanzibar', 'a OR', '"unbalanced', '(zanzibar', '^x'])
      await runQuery(layout, t.logId, db, { filter: { text }, limit: 1 });
  } finally {
    db.close();
  }
});
