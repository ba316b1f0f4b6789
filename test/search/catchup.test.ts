import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import Database from 'better-sqlite3';
import { IndexDb, indexFile } from '../../src/search/index-db.js';
import { catchUp } from '../../src/search/indexer.js';
import { LogLayout } from '../../src/store/file/layout.js';
import { readSegmentBook } from '../../src/store/file/segment-log.js';
import { newLog, readLines } from '../helpers.js';
import {
  channelsOf,
  expectedRows,
  indexedSeededLog,
  indexRows,
  openIndex,
  seededLog,
  writeSome,
} from './helpers.js';

const DAY = 24 * 60 * 60 * 1000;

test('a catch-up after more writes indexes only the new records, resuming in the active file', async () => {
  const t = await seededLog();
  const layout = new LogLayout(t.dir);
  const db = openIndex(t);
  const first = await catchUp(layout, t.logId, db);

  const logs = await t.open();
  await writeSome(logs, 25, 1000);
  await logs.close();
  const second = await catchUp(layout, t.logId, db);
  const channels = channelsOf(db);
  let expected = await expectedRows(t, channels);
  assert.equal(second.rebuilt, undefined);
  assert.equal(second.records, expected.length - first.records);
  assert.deepEqual(indexRows(db, channels), expected);
  // Only the end of the active file was read, not the log again.
  assert.ok(second.bytes < statSync(path.join(t.dir, 'app.log')).size, `${second.bytes} bytes`);

  // The active file the index stopped in is now inside a sealed archive.
  const again = await t.open();
  await writeSome(again, 30, 2000);
  await again.lifecycle.rotate('app');
  await writeSome(again, 10, 3000);
  await again.close();
  const third = await catchUp(layout, t.logId, db);
  expected = await expectedRows(t, channels);
  assert.equal(third.rebuilt, undefined);
  assert.equal(third.records, expected.length - first.records - second.records);
  assert.deepEqual(indexRows(db, channels), expected);

  const nothing = await catchUp(layout, t.logId, db);
  assert.equal(nothing.records, 0);
  db.close();
});

test('an index file of garbage bytes, or garbage after its first page, is rebuilt', async () => {
  const { t, layout, channels, rows } = await indexedSeededLog();

  writeFileSync(indexFile(layout), randomBytes(64 * 1024));
  const garbage = openIndex(t);
  assert.equal(garbage.recreated, 'corrupt');
  const report = await catchUp(layout, t.logId, garbage);
  assert.equal(report.rebuilt, 'corrupt');
  assert.deepEqual(indexRows(garbage, channels), rows);
  garbage.close();

  const bytes = readFileSync(indexFile(layout));
  const pageSize = bytes.readUInt16BE(16);
  randomBytes(bytes.length - pageSize).copy(bytes, pageSize);
  writeFileSync(indexFile(layout), bytes);
  const damaged = openIndex(t);
  assert.equal(damaged.recreated, 'corrupt');
  await catchUp(layout, t.logId, damaged);
  assert.deepEqual(indexRows(damaged, channels), rows);
  damaged.close();
});

test('an index of another schema version or another log is rebuilt, never used', async () => {
  const { t, layout, channels, rows } = await indexedSeededLog();

  const raw = new Database(indexFile(layout));
  raw.pragma('user_version = 99');
  raw.close();
  const other = openIndex(t);
  assert.equal(other.recreated, 'version');
  await catchUp(layout, t.logId, other);
  assert.deepEqual(indexRows(other, channels), rows);
  other.close();

  const elsewhere = IndexDb.open(layout, 'f'.repeat(32));
  assert.equal(elsewhere.recreated, 'other_log');
  elsewhere.close();
});

test('when the log no longer holds what was indexed (replaced, truncated), the index is rebuilt', async () => {
  const t = await seededLog();
  const layout = new LogLayout(t.dir);
  const db = openIndex(t);
  await catchUp(layout, t.logId, db);
  const channels = channelsOf(db);

  // The active file lost its last records (a restore from an older copy).
  const active = path.join(t.dir, 'app.log');
  const lines = readLines(active);
  writeFileSync(active, `${lines.slice(0, 20).join('\n')}\n`);
  const report = await catchUp(layout, t.logId, db);
  assert.equal(report.rebuilt, 'replaced');
  assert.deepEqual(indexRows(db, channels), await expectedRows(t, channels));

  // The record at the indexed position is not the one that was indexed.
  db.connection.prepare("UPDATE state SET last_hash = zeroblob(32) WHERE channel = 'audit'").run();
  assert.equal((await catchUp(layout, t.logId, db)).rebuilt, 'replaced');
  assert.deepEqual(indexRows(db, channels), await expectedRows(t, channels));
  db.close();
});

test('records of a segment deleted by retention leave the index; a new build skips the segment', async () => {
  const t = newLog();
  const now = Date.parse('2026-06-30T12:00:00.000Z');
  let clock = now - 400 * DAY;
  const logs = await t.open({ clock: () => clock });
  for (const age of [400, 300, 10]) {
    clock = now - age * DAY;
    for (let i = 0; i < 5; i++) logs.app.info({ age, i }, `record from ${age} days ago`);
    await logs.lifecycle.rotate('app');
  }
  logs.app.info('still active');
  await logs.flush();
  const layout = new LogLayout(t.dir);
  const db = openIndex(t);
  await catchUp(layout, t.logId, db);
  const text = (q: string): number =>
    (
      db.connection.prepare('SELECT count(*) AS n FROM msg_fts WHERE msg_fts MATCH ?').get(q) as {
        n: number;
      }
    ).n;
  assert.equal(text('400'), 5);

  const oldest = readSegmentBook(layout, t.logId).segments('app')[0]!;
  await logs.lifecycle.deleteSegment('app', oldest.first, oldest.last, 'test', now);
  await logs.close();
  const report = await catchUp(layout, t.logId, db);
  assert.equal(report.dropped, 5);
  assert.equal(text('400'), 0);
  assert.equal(text('300'), 5);
  const channels = channelsOf(db);
  const expected = await expectedRows(t, channels);
  assert.deepEqual(indexRows(db, channels), expected);
  const kinds = db.connection
    .prepare("SELECT kind FROM segments WHERE channel = 'app' ORDER BY first")
    .all()
    .map((r) => (r as { kind: string }).kind);
  assert.deepEqual(kinds, ['deleted', 'sealed', 'sealed', 'active']);

  rmSync(indexFile(layout));
  const fresh = openIndex(t);
  const build = await catchUp(layout, t.logId, fresh);
  assert.deepEqual(indexRows(fresh, channels), expected);
  assert.equal(build.channels.find((c) => c.channel === 'app')?.gaps, 0);
  fresh.close();
  db.close();
});

test('damage in the log: unreadable lines are skipped, a missing archive is a gap; the rest is indexed', async () => {
  const t = await seededLog();
  const layout = new LogLayout(t.dir);
  appendFileSync(path.join(t.dir, 'app.log'), 'this is not a record\n');
  const first = readSegmentBook(layout, t.logId).segments('app')[0]!;
  rmSync(path.join(t.dir, first.file!));
  const db = openIndex(t);
  const report = await catchUp(layout, t.logId, db);
  const app = report.channels.find((c) => c.channel === 'app')!;
  assert.deepEqual([app.skipped, app.gaps], [1, 1]);
  const channels = channelsOf(db);
  assert.deepEqual(indexRows(db, channels), await expectedRows(t, channels));
  assert.deepEqual(
    {
      ...(db.connection
        .prepare("SELECT min(seq) AS s FROM records_view WHERE channel = 'app'")
        .get() as object),
    },
    { s: first.last + 1 },
  );
  db.close();
});

test('two catch-ups at once on the same index neither fail nor insert a record twice', async () => {
  const t = await seededLog();
  const layout = new LogLayout(t.dir);
  const a = openIndex(t);
  const b = openIndex(t);
  const [ra, rb] = await Promise.all([
    catchUp(layout, t.logId, a, { workerThreshold: 0, batchSize: 7 }),
    catchUp(layout, t.logId, b, { workerThreshold: 0, batchSize: 11 }),
  ]);
  const channels = channelsOf(a);
  const expected = await expectedRows(t, channels);
  assert.equal(ra.records + rb.records, expected.length);
  assert.deepEqual(indexRows(a, channels), expected);
  a.close();
  b.close();
});
