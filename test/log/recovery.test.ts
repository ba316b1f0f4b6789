import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, readdirSync, rmSync, statSync, truncateSync } from 'node:fs';
import path from 'node:path';
import { createHash } from 'node:crypto';
import { verifyLogs } from '../../src/store/file/verify.js';
import { expectCode, newLog, readLines, readRecords, openedRecords } from '../helpers.js';

const TORN = '{"channel":"app","event":"log","level":"INFO","msg":"cut in the midd';

test('a torn last line is quarantined, reported as log.recovery, and the chain resumes', async () => {
  const t = newLog();
  let logs = await t.open();
  for (let i = 0; i < 5; i++) logs.app.info({ i });
  await logs.close();
  const file = path.join(t.dir, 'app.log');
  const goodSize = statSync(file).size;
  appendFileSync(file, TORN); // the process died in the middle of a write

  const before = await verifyLogs({ dir: t.dir, publicKey: t.publicKey });
  assert.ok(before.ok, 'an unfinished line is not damage...');
  assert.ok(
    before.warnings.some((w) => w.kind === 'torn_tail' && w.file === 'app.log'),
    '...but it is reported',
  );

  logs = await t.open();
  logs.app.info('after recovery');
  await logs.close();

  assert.equal(readFileSync(file, 'utf8').includes('cut in the midd'), false);
  const recs = readRecords(file);
  assert.deepEqual(
    recs.map((r) => r.seq),
    [1, 2, 3, 4, 5, 6],
  );
  assert.ok(statSync(file).size > goodSize);

  const qdir = path.join(t.dir, '.integrity', 'quarantine');
  const [qfile] = readdirSync(qdir);
  assert.ok(qfile, 'a quarantine file was written');
  assert.equal(
    readFileSync(path.join(qdir, qfile), 'utf8'),
    TORN,
    'the torn bytes are kept, unchanged',
  );
  assert.equal(statSync(path.join(qdir, qfile)).mode & 0o777, 0o600);

  const event = openedRecords(t, 'security.log').find((r) => r.event === 'log.recovery');
  assert.ok(event, 'a log.recovery event was written to security');
  const data = event.data as Record<string, unknown>;
  assert.equal(data.file, 'app.log');
  assert.equal(data.offset, goodSize);
  assert.equal(data.bytes, Buffer.byteLength(TORN));
  assert.equal(data.sha256, createHash('sha256').update(TORN).digest('hex'));
  assert.equal(data.quarantine, path.join('.integrity', 'quarantine', qfile));

  const after = await verifyLogs({ dir: t.dir, publicKey: t.publicKey });
  assert.ok(after.ok, JSON.stringify(after.damage));
  assert.deepEqual(after.warnings, []);
});

test('a torn checkpoint line is quarantined too, and the checkpoint chain continues', async () => {
  const t = newLog();
  let logs = await t.open();
  logs.app.info('one');
  await logs.close();
  appendFileSync(path.join(t.dir, '.integrity', 'checkpoints.log'), '{"channel":"app","head":"ab');
  logs = await t.open();
  logs.app.info('two');
  await logs.close();
  const report = await verifyLogs({ dir: t.dir, publicKey: t.publicKey });
  assert.ok(report.ok, JSON.stringify(report.damage));
  assert.ok(openedRecords(t, 'security.log').some((r) => r.event === 'log.recovery'));
});

test('a file cut below its last checkpoint is reported on open and stays visible to verify', async () => {
  const t = newLog();
  let logs = await t.open();
  for (let i = 0; i < 6; i++) logs.app.info({ i });
  await logs.close();
  const file = path.join(t.dir, 'app.log');
  const lines = readLines(file);
  truncateSync(file, Buffer.byteLength(lines.slice(0, 4).join('\n') + '\n'));

  const report = await verifyLogs({ dir: t.dir, publicKey: t.publicKey });
  const damage = report.channels.find((c) => c.channel === 'app')!.damage;
  assert.equal(damage?.kind, 'truncated');
  assert.equal(damage.seq, 5);

  logs = await t.open();
  logs.app.info('continues');
  await logs.close();
  const event = openedRecords(t, 'security.log').find(
    (r) => r.event === 'log.integrity.behind_checkpoint',
  );
  assert.ok(event);
  assert.equal(event.level, 'CRITICAL');
  assert.equal(
    (await verifyLogs({ dir: t.dir, publicKey: t.publicKey })).ok,
    false,
    'the removal stays on record',
  );
});

test('a missing checkpoint log is refused, not recreated (that would erase the evidence)', async () => {
  const t = newLog();
  const logs = await t.open();
  logs.app.info('one');
  await logs.close();
  rmSync(path.join(t.dir, '.integrity', 'checkpoints.log'));
  const err = await expectCode('INTEGRITY_STATE', () => t.open());
  assert.match(err.message, /checkpoints\.log is missing/);
  const report = await verifyLogs({ dir: t.dir, publicKey: t.publicKey });
  assert.ok(report.damage.some((d) => d.kind === 'file_missing'));
});
