import { test } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { IndexDb } from '../../src/search/index-db.js';
import { runQuery } from '../../src/query/query.js';
import { linesFromMembers, readMembers } from '../../src/store/file/gzip-blocks.js';
import { LogLayout } from '../../src/store/file/layout.js';
import { readSegmentBook } from '../../src/store/file/segment-log.js';
import { newLog } from '../helpers.js';
import { seededLog } from '../search/helpers.js';

test('an archive is gzip of whole-line members with a table: any line is read without the rest', async () => {
  const t = newLog();
  const logs = await t.open();
  for (let i = 0; i < 3000; i++)
    logs.app.info({ event: 'x.y', n: i }, `record ${i} ${'z'.repeat(i % 97)}`);
  await logs.lifecycle.rotate('app');
  await logs.close();
  const seg = readSegmentBook(new LogLayout(t.dir), t.logId).segments('app')[0];
  assert.equal(seg?.state, 'sealed');
  const file = path.join(t.dir, seg.file ?? '');
  const plain = gunzipSync(readFileSync(file)); // one gzip stream for gunzip, zcat, gzip -d
  const fd = openSync(file, 'r');
  const members = readMembers(fd);
  closeSync(fd);
  assert.ok(members !== undefined && members.length > 5, 'several members');
  assert.equal(
    members.reduce((n, m) => n + m.bytes, 0),
    plain.length,
  );
  for (const m of members)
    assert.equal(plain[m.first + m.bytes - 1], 10, 'members end with a line');
  const lines = plain.toString('utf8').split('\n').slice(0, -1);
  const offsets: number[] = [];
  let at = 0;
  for (const l of lines) {
    offsets.push(at);
    at += Buffer.byteLength(l) + 1;
  }
  const pick = [0, 1, 1500, 2998, 2999, 777];
  const got = linesFromMembers(
    file,
    pick.map((i) => offsets[i] as number),
    1 << 20,
  );
  assert.deepEqual(
    got?.map((b) => b?.toString('utf8')),
    pick.map((i) => lines[i]),
  );
});

test('an archive without a member table (an earlier version, or re-compressed) is still read', async () => {
  const t = await seededLog();
  const layout = new LogLayout(t.dir);
  const seg = readSegmentBook(layout, t.logId).segments('app')[0];
  const file = path.join(t.dir, seg?.file ?? '');
  const db = IndexDb.open(layout, t.logId);
  try {
    const filter = { channels: ['app'] };
    const before = await runQuery(layout, t.logId, db, { filter, limit: 500, order: 'asc' });
    writeFileSync(file, gzipSync(gunzipSync(readFileSync(file)))); // one member, no table
    const fd = openSync(file, 'r');
    assert.equal(readMembers(fd), undefined);
    closeSync(fd);
    const after = await runQuery(layout, t.logId, db, { filter, limit: 500, order: 'asc' });
    assert.deepEqual(after.records, before.records);
    assert.ok(after.records.every((r) => r.status === 'ok'));
    assert.equal(after.records[0]?.file, seg?.file);
  } finally {
    db.close();
  }
});

test('a record sealed into an archive after the reader read the segment log is still found', async () => {
  const t = newLog();
  const logs = await t.open();
  for (let i = 0; i < 50; i++) logs.app.info({ event: 'x.y', n: i }, `record ${i}`);
  await logs.flush();
  const layout = new LogLayout(t.dir);
  const db = IndexDb.open(layout, t.logId);
  try {
    const stale = readSegmentBook(layout, t.logId); // the records are in the active file
    const before = await runQuery(layout, t.logId, db, { filter: {}, limit: 5 });
    await logs.lifecycle.rotate('app'); // now they are in an archive
    const { search } = await import('../../src/query/search.js');
    const { RecordReader } = await import('../../src/query/read.js');
    const hits = search(db, {}, { limit: 5 }).hits;
    const read = await new RecordReader(layout, t.logId, stale).read(hits);
    assert.deepEqual(
      read.map((r) => [r.hit.seq, r.status, r.record?.seq]),
      before.records.map((r) => [r.seq, 'ok', r.seq]),
    );
    assert.match(read[0]?.file ?? '', /^archive\/\d{4}\/\d{2}\/app-1-50\.log\.gz$/);
  } finally {
    db.close();
    await logs.close();
  }
});
