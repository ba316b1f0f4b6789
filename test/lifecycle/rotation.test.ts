import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import path from 'node:path';
import { verifyLogs } from '../../src/store/file/verify.js';
import { LogLayout } from '../../src/store/file/layout.js';
import { readSegmentBook } from '../../src/store/file/segment-log.js';
import { newLog, readRecords } from '../helpers.js';
import { readChannel } from './read.js';

const DAY = 24 * 60 * 60 * 1000;

test('a channel rotates by size: sealed gzip archives, one continuous log across them, verify intact', async () => {
  const t = newLog();
  const logs = await t.open({
    settings: { channels: { app: { rotate: { max_bytes: 64 * 1024 } } } },
  });
  for (let i = 0; i < 3000; i++) logs.app.info({ i, pad: 'p'.repeat(40) }, 'size rotation');
  await logs.flush();
  await logs.lifecycle.seal();
  await logs.close();

  const book = readSegmentBook(new LogLayout(t.dir), t.logId);
  const segs = book.segments('app');
  assert.ok(segs.length >= 3, `only ${segs.length} segments`);
  let next = 1;
  for (const s of segs) {
    assert.equal(s.state, 'sealed');
    assert.equal(s.first, next);
    next = s.last + 1;
    assert.match(s.file!, /^archive\/\d{4}\/\d{2}\/app-\d+-\d+\.log\.gz$/);
    // The archive holds the raw segment, no larger than the limit (by less than one record).
    const raw = gunzipSync(readFileSync(path.join(t.dir, s.file!)));
    assert.ok(raw.length < 64 * 1024 + 512, `${s.file} is ${raw.length} bytes`);
  }
  const all = await readChannel(t.dir, t.logId, 'app');
  assert.deepEqual(
    all.map((r) => r.seq),
    all.map((_, i) => i + 1),
  );
  assert.equal(all.filter((r) => r.msg === 'size rotation').length, 3000);
  const report = await verifyLogs({ dir: t.dir, publicKey: t.publicKey });
  assert.ok(report.ok, JSON.stringify(report.damage));
  assert.equal(report.channels.find((c) => c.channel === 'app')!.records, all.length);
});

test('a channel rotates at the first record of a new UTC day (injected clock), and the chain continues after reopening', async () => {
  const t = newLog();
  let now = Date.parse('2026-03-10T23:59:58.000Z');
  const logs = await t.open({ clock: () => now });
  logs.app.info('late on the 10th');
  logs.app.info('still the 10th');
  await logs.flush();
  now = Date.parse('2026-03-11T00:00:01.000Z');
  logs.app.info('first of the 11th');
  await logs.flush();
  await logs.lifecycle.seal();
  await logs.close();

  const segs = readSegmentBook(new LogLayout(t.dir), t.logId).segments('app');
  assert.equal(segs.length, 1);
  assert.equal(segs[0]!.file, 'archive/2026/03/app-1-2.log.gz');
  assert.deepEqual(
    readRecords(path.join(t.dir, 'app.log')).map((r) => r.msg),
    ['first of the 11th'],
  );

  const again = await t.open({ clock: () => now + 1000 });
  again.app.info('after reopening');
  await again.close();
  const all = await readChannel(t.dir, t.logId, 'app');
  assert.deepEqual(
    all.map((r) => [r.seq, r.msg]),
    [
      [1, 'late on the 10th'],
      [2, 'still the 10th'],
      [3, 'first of the 11th'],
      [4, 'after reopening'],
    ],
  );
  assert.ok((await verifyLogs({ dir: t.dir, publicKey: t.publicKey })).ok);
});

test('daily rotation can be turned off per channel', async () => {
  const t = newLog();
  let now = Date.parse('2026-03-10T12:00:00.000Z');
  const logs = await t.open({
    clock: () => now,
    settings: { channels: { app: { rotate: { daily: false } } } },
  });
  logs.app.info('day one');
  await logs.flush();
  now += 2 * DAY;
  logs.app.info('day three');
  await logs.close();
  assert.equal(readSegmentBook(new LogLayout(t.dir), t.logId).segments('app').length, 0);
  assert.equal(readRecords(path.join(t.dir, 'app.log')).length, 2);
});

/** A log with two sealed app segments and an active file. */
async function rotatedLog() {
  const t = newLog();
  const logs = await t.open();
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 20; i++) logs.app.info({ i, round }, 'to archive');
    await logs.lifecycle.rotate('app');
  }
  logs.app.info('active');
  await logs.close();
  const segs = readSegmentBook(new LogLayout(t.dir), t.logId).segments('app');
  assert.equal(segs.length, 2);
  assert.ok((await verifyLogs({ dir: t.dir, publicKey: t.publicKey })).ok);
  return { t, files: segs.map((s) => path.join(t.dir, s.file!)), rels: segs.map((s) => s.file!) };
}

async function damageOf(dir: string, publicKey: string) {
  const report = await verifyLogs({ dir, publicKey });
  assert.equal(report.ok, false, 'verify should fail');
  return report.damage;
}

test('verify names a deleted archive', async () => {
  const { t, files, rels } = await rotatedLog();
  rmSync(files[0]!);
  const d = await damageOf(t.dir, t.publicKey);
  assert.equal(d[0]!.kind, 'archive_missing');
  assert.equal(d[0]!.file, rels[0]);
  assert.equal(d[0]!.seq, 1);
});

test('verify names a renamed archive: missing under its name, unknown under the new one', async () => {
  const { t, files, rels } = await rotatedLog();
  const moved = files[1]!.replace(/app-(\d+)-\d+/, 'app-$1-999');
  renameSync(files[1]!, moved);
  const d = await damageOf(t.dir, t.publicKey);
  assert.deepEqual(
    d.map((x) => [x.kind, x.file]),
    [
      ['archive_missing', rels[1]],
      ['archive_unknown', path.relative(t.dir, moved)],
    ],
  );
});

test('verify names a replaced archive (another segment copied over it)', async () => {
  const { t, files, rels } = await rotatedLog();
  copyFileSync(files[0]!, files[1]!);
  const d = await damageOf(t.dir, t.publicKey);
  assert.equal(d[0]!.file, rels[1]);
  assert.ok(['segment_mismatch', 'records_out_of_order', 'archive_altered'].includes(d[0]!.kind));
});

test('verify names a re-compressed archive, even though its records are intact', async () => {
  const { t, files, rels } = await rotatedLog();
  writeFileSync(files[0]!, gzipSync(gunzipSync(readFileSync(files[0]!)), { level: 1 }));
  const d = await damageOf(t.dir, t.publicKey);
  assert.equal(d[0]!.kind, 'archive_altered');
  assert.equal(d[0]!.file, rels[0]);
});

test('verify names an edited record inside an archive, with its seq', async () => {
  const { t, files } = await rotatedLog();
  const raw = gunzipSync(readFileSync(files[1]!))
    .toString('utf8')
    .replace('"round":1', '"round":7');
  writeFileSync(files[1]!, gzipSync(raw));
  const d = await damageOf(t.dir, t.publicKey);
  assert.equal(d[0]!.kind, 'record_altered');
  assert.equal(d[0]!.seq, 21);
});

test('verify names a removed entry of the segment log (the list of segments cannot be shortened)', async () => {
  const { t } = await rotatedLog();
  const file = path.join(t.dir, '.integrity', 'segments.log');
  const lines = readFileSync(file, 'utf8').split('\n');
  writeFileSync(file, lines.filter((_, i) => i !== 0).join('\n'));
  const d = await damageOf(t.dir, t.publicKey);
  assert.equal(d[0]!.kind, 'segment_log');
});

test('a reader never takes an unsealed archive for a segment: a stray .gz is reported, not read', async () => {
  const { t, files } = await rotatedLog();
  const stray = path.join(path.dirname(files[0]!), 'app-100-200.log.gz');
  copyFileSync(files[0]!, stray);
  const all = await readChannel(t.dir, t.logId, 'app');
  assert.equal(all.length, 41);
  const d = await damageOf(t.dir, t.publicKey);
  assert.deepEqual(
    d.map((x) => x.kind),
    ['archive_unknown'],
  );
  assert.ok(existsSync(stray));
});

test('the rotate job rotates a quiet channel after midnight, and leaves a fresh one alone', async () => {
  const t = newLog();
  let now = Date.parse('2026-03-10T22:00:00.000Z');
  const logs = await t.open({ clock: () => now });
  logs.app.info('evening');
  logs.api.info('evening');
  await logs.flush();
  assert.deepEqual(await logs.lifecycle.rotateDue(), []);
  now = Date.parse('2026-03-11T00:05:00.000Z');
  logs.api.info('after midnight'); // api rotates on this record by itself
  const done = await logs.lifecycle.rotateDue();
  assert.deepEqual(
    done.map((r) => [r.channel, r.first, r.last]),
    [['app', 1, 1]],
  );
  await logs.close();
  const book = readSegmentBook(new LogLayout(t.dir), t.logId);
  assert.equal(book.segments('app')[0]!.state, 'sealed');
  assert.equal(book.segments('api').length, 1);
});
