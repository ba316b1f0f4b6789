import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { catchUp, rebuild } from '../../src/search/indexer.js';
import { splitRecordId } from '../../src/search/schema.js';
import { LogLayout } from '../../src/store/file/layout.js';
import {
  PERSONAL,
  channelsOf,
  expectedRows,
  indexRows,
  lineAt,
  openIndex,
  seededLog,
} from './helpers.js';

for (const [mode, workerThreshold] of [
  ['inline', Infinity],
  ['in a worker thread', 0],
] as const) {
  test(`indexing a log with archives and an active file gives one row per record, with its fields and place (${mode})`, async () => {
    const t = await seededLog();
    const layout = new LogLayout(t.dir);
    const db = openIndex(t);
    assert.equal(db.recreated, 'missing');
    const progress: number[] = [];
    const report = await catchUp(layout, t.logId, db, {
      workerThreshold,
      onProgress: (p) => progress.push(p.records),
    });
    const channels = channelsOf(db);
    const expected = await expectedRows(t, channels);
    assert.equal(report.records, expected.length);
    assert.equal(db.count(), expected.length);
    assert.deepEqual(indexRows(db, channels), expected);
    assert.ok(progress.length > 0 && progress[progress.length - 1] === expected.length);

    // Rotation left sealed archives and an active file; each record is found where the index
    // says, byte for byte.
    const kinds = db.connection
      .prepare("SELECT kind, count(*) AS n FROM segments WHERE channel = 'app' GROUP BY kind")
      .all() as Array<{ kind: string; n: number }>;
    assert.deepEqual(kinds, [
      { kind: 'active', n: 1 },
      { kind: 'sealed', n: 2 },
    ]);
    for (const r of expected) {
      const line = lineAt(t, db, r.channel, r.seq);
      const rec = JSON.parse(line) as { seq: number; hash: string; channel: string };
      assert.deepEqual([rec.channel, rec.seq, rec.hash], [r.channel, r.seq, r.hash]);
    }
    const app = report.channels.find((c) => c.channel === 'app');
    assert.deepEqual(app, {
      channel: 'app',
      indexedSeq: expected.filter((r) => r.channel === 'app').length,
      records: expected.filter((r) => r.channel === 'app').length,
      skipped: 0,
      gaps: 0,
      busy: false,
      locked: false,
    });
    db.close();
  });
}

test('full-text search finds the records whose stored msg has a word', async () => {
  const t = await seededLog();
  const db = openIndex(t);
  await catchUp(new LogLayout(t.dir), t.logId, db);
  const hits = (q: string) =>
    (
      db.connection
        .prepare('SELECT rowid FROM msg_fts WHERE msg_fts MATCH ? ORDER BY rowid')
        .all(q) as Array<{ rowid: number }>
    ).map((r) => splitRecordId(r.rowid));
  const quota = hits('quota');
  // Records 0, 3, 6... of the 260 app records were "quota almost used".
  assert.equal(quota.length, Math.ceil(260 / 3));
  for (const { seq } of quota.slice(0, 5)) {
    assert.match(lineAt(t, db, 'app', seq), /"msg":"quota almost used by project number \d+"/);
  }
  assert.equal(hits('zanzibar AND template').length, 260 - Math.ceil(260 / 3));
  assert.equal(hits('"number 43 from"').length, 1);
  // The placeholder is what was stored and indexed, not the address.
  assert.equal(hits('email').length, 6); // two records in each of three writeSome calls
  assert.equal(hits('curie').length, 0);
  db.close();
});

test('the index holds no personal value, in any of its files; files 0600, directory 0700', async () => {
  const t = await seededLog();
  const layout = new LogLayout(t.dir);
  const db = openIndex(t);
  await catchUp(layout, t.logId, db);
  // Look at the files while the connection is open too (WAL not yet checkpointed).
  const check = (): void => {
    for (const name of readdirSync(layout.indexDir)) {
      const file = path.join(layout.indexDir, name);
      assert.equal(statSync(file).mode & 0o777, 0o600, `${name} is 0600`);
      const bytes = readFileSync(file);
      for (const value of [...PERSONAL, 'curie', 'dupont']) {
        assert.equal(bytes.includes(value), false, `${name} holds ${value}`);
        assert.equal(bytes.includes(Buffer.from(value, 'utf16le')), false);
      }
    }
  };
  check();
  db.close();
  check();
  assert.equal(statSync(layout.indexDir).mode & 0o777, 0o700);
  // The personal values were written: they are in the log, encrypted, and the actor's id is a
  // pseudonym that the index does hold.
  const audit = readFileSync(path.join(t.dir, 'audit.log'), 'utf8');
  assert.match(audit, /\[email#1\]/);
  assert.ok(!audit.includes(PERSONAL[0]));
});

test('deleting the index and building it again gives identical rows', async () => {
  const t = await seededLog();
  const layout = new LogLayout(t.dir);
  const db = openIndex(t);
  await catchUp(layout, t.logId, db);
  const channels = channelsOf(db);
  const before = indexRows(db, channels);
  const fts = db.connection.prepare("SELECT rowid FROM msg_fts WHERE msg_fts MATCH 'project'");
  const textBefore = fts.all();
  db.close();

  for (const name of readdirSync(layout.indexDir)) rmSync(path.join(layout.indexDir, name));
  const again = openIndex(t);
  assert.equal(again.recreated, 'missing');
  const report = await catchUp(layout, t.logId, again);
  assert.equal(report.rebuilt, 'missing');
  assert.equal(report.records, before.length);
  assert.deepEqual(indexRows(again, channels), before);
  // rebuild() does the same from a complete index.
  assert.equal((await rebuild(layout, t.logId, again)).rebuilt, 'rebuild');
  assert.deepEqual(indexRows(again, channels), before);
  assert.deepEqual(
    again.connection.prepare("SELECT rowid FROM msg_fts WHERE msg_fts MATCH 'project'").all(),
    textBefore,
  );
  // The secondary indexes are back after a build from empty.
  assert.equal(again.hasIndexes(), true);
  again.close();
});
