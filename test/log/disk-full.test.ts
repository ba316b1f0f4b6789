import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { verifyLogs } from '../../src/store/file/verify.js';
import { runQuery } from '../../src/query/query.js';
import { IndexDb } from '../../src/search/index.js';
import { LogLayout } from '../../src/store/file/index.js';
import { newLog, readRecords } from '../helpers.js';
import { WRITER, startChild } from '../child.js';

// `ulimit -f` makes the kernel refuse writes past a file size (EFBIG): a real failing disk write.
const LIMIT_KIB = 256;

test('when the disk refuses a write: durable callers get WRITE_FAILED, nothing half-written stays, the chain continues', async () => {
  const t = newLog();
  const child = startChild(
    'bash',
    ['-c', `ulimit -f ${LIMIT_KIB}; exec "$0" "$@"`, process.execPath, WRITER, 'fill', t.dir],
    t.masterKey,
  );
  const { code } = await child.exited;
  assert.equal(code, 0, child.stderr());
  const fails = child.lines.filter((l) => l.startsWith('fail '));
  assert.ok(fails.length > 0, 'the size limit was reached');
  assert.ok(
    fails.every((l) => l === 'fail WRITE_FAILED'),
    fails.join(', '),
  );
  assert.ok(
    child.lines.some((l) => l === 'report WRITE_FAILED'),
    'the buffered channel reported its lost records',
  );
  assert.ok(child.lines.includes('closed'));

  const file = path.join(t.dir, 'audit.log');
  assert.ok(statSync(file).size <= LIMIT_KIB * 1024);
  assert.ok(readFileSync(file, 'utf8').endsWith('\n'), 'no partial line was left behind');
  const acked = child.lines.filter((l) => l.startsWith('ack ')).map((l) => Number(l.split(' ')[1]));
  const stored = readRecords(file).map((r) => r.seq as number);
  assert.deepEqual(stored, acked, 'exactly the acknowledged records are stored, in order');
  assert.ok((await verifyLogs({ dir: t.dir, publicKey: t.publicKey })).ok);
});

test("an accepted (buffered) record is answered only once written: a seq answered is never another record's, even after a failed write", async () => {
  const t = newLog();
  const child = startChild(
    'bash',
    ['-c', `ulimit -f ${LIMIT_KIB}; exec "$0" "$@"`, process.execPath, WRITER, 'fillapp', t.dir],
    t.masterKey,
  );
  const { code } = await child.exited;
  assert.equal(code, 0, child.stderr());
  assert.ok(child.lines.includes('rotated') && child.lines.includes('closed'), child.stderr());
  const answered = new Map<number, string>();
  for (const l of child.lines.filter((x) => x.startsWith('ack '))) {
    const [, seq, id] = l.split(' ');
    assert.equal(answered.has(Number(seq)), false, `seq ${seq} answered twice`);
    answered.set(Number(seq), id as string);
  }
  assert.ok(
    [...answered.values()].some((id) => id.startsWith('after-')),
    'writes resumed',
  );
  // Every answered seq holds the record it was answered for, in the archive or the active file.
  const layout = new LogLayout(t.dir);
  const db = IndexDb.open(layout, t.logId);
  let q: Awaited<ReturnType<typeof runQuery>>;
  try {
    q = await runQuery(layout, t.logId, db, {
      filter: { channels: ['app'] },
      limit: 10_000,
      order: 'asc',
    });
  } finally {
    db.close();
  }
  const stored = new Map(
    q.records.map((r) => [r.seq, (r.record as { data?: { id?: string } }).data?.id ?? '']),
  );
  for (const [seq, id] of answered) assert.equal(stored.get(seq), id, `seq ${seq}`);
  assert.ok((await verifyLogs({ dir: t.dir, publicKey: t.publicKey })).ok);
  assert.ok(
    child.lines.some((l) => l === 'fail WRITE_FAILED'),
    'the size limit refused writes, and their callers were told',
  );
});

test('an fdatasync that fails (EIO, injected) fails the channel closed: nothing unsynced is acknowledged, the next open continues the chain', async () => {
  const t = newLog();
  const child = startChild(process.execPath, [WRITER, 'fill', t.dir], t.masterKey, {
    DIHYA_LOGS_FAULT: 'fdatasync:EIO:5',
  });
  const { code } = await child.exited;
  assert.equal(code, 0, child.stderr());
  const fails = child.lines.filter((l) => l.startsWith('fail '));
  assert.deepEqual(fails, ['fail CHANNEL_FAILED', 'fail CHANNEL_FAILED', 'fail CHANNEL_FAILED']);
  const acked = child.lines.filter((l) => l.startsWith('ack ')).map((l) => Number(l.split(' ')[1]));
  assert.ok(acked.length >= 4, `${acked.length} acknowledged before the fault`);
  // Every acknowledged record is there; a refused one may be too (written, its sync failed:
  // its caller was told it failed). The close signed no final checkpoint over them, so verify
  // sees an unsigned tail, not records added behind the writer's back.
  const stored = readRecords(path.join(t.dir, 'audit.log')).map((r) => r.seq as number);
  for (const seq of acked) assert.ok(stored.includes(seq), `acknowledged seq ${seq} lost`);
  const before = await verifyLogs({ dir: t.dir, publicKey: t.publicKey });
  assert.ok(before.ok, JSON.stringify(before.damage));
  // The next open takes writes again (a failed sync is not retried in place: fsyncgate).
  const logs = await t.open();
  const ack = await logs.audit({ event: 'after.fault' });
  await logs.close();
  assert.ok(ack.seq > Math.max(...acked));
  assert.ok((await verifyLogs({ dir: t.dir, publicKey: t.publicKey })).ok);
});
