import { test } from 'node:test';
import assert from 'node:assert/strict';
import { statSync, symlinkSync, rmSync, existsSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LogsError } from '../../src/errors.js';
import { verifyLogs } from '../../src/store/file/verify.js';
import { expectCode, newLog, readLines, readRecords } from '../helpers.js';

test('loggers write pino-style calls; child bindings and routing by level', async () => {
  const t = newLog();
  const logs = await t.open();
  logs.app.info('plain message');
  logs.app.warning({ event: 'quota.near', actor: 'u1', used: 0.93 }, 'quota almost used');
  const req = logs.api.child({ request_id: 'req-42', route: '/v1/x' });
  req.info({ status: 200 }, 'done');
  logs.app.error(new Error('boom'), 'payment failed');
  logs.log.audit({ event: 'data.export' }, 'exported');
  logs.log.security({ event: 'attack.detected' }, 'sqli');
  logs.log.info('root info');
  await logs.close();

  const app = readRecords(path.join(t.dir, 'app.log'));
  assert.deepEqual(
    app.map((r) => r.msg),
    ['plain message', 'quota almost used', 'payment failed', 'root info'],
  );
  assert.equal(app[1]!.event, 'quota.near');
  assert.match(
    (app[1]!.actor as { id: string }).id,
    /^sub_[0-9a-f]{24}$/,
    'the actor id is pseudonymized',
  );
  assert.deepEqual(app[1]!.data, { used: 0.93 });
  assert.equal(
    ((app[2]!.data as Record<string, unknown>).err as Record<string, unknown>).message,
    'boom',
  );
  assert.deepEqual(
    app.map((r) => r.seq),
    [1, 2, 3, 4],
  );
  const api = readRecords(path.join(t.dir, 'api.log'));
  assert.equal(api[0]!.request_id, 'req-42');
  assert.deepEqual(api[0]!.data, { route: '/v1/x', status: 200 });
  assert.equal(readRecords(path.join(t.dir, 'audit.log'))[0]!.level, 'AUDIT');
  assert.equal(readRecords(path.join(t.dir, 'security.log'))[0]!.level, 'SECURITY');
});

test('records below a channel minimum level are not written', async () => {
  const t = newLog();
  const logs = await t.open({ settings: { channels: { app: { min_level: 'WARNING' } } } });
  logs.app.info('dropped');
  logs.app.error('kept');
  assert.equal(await logs.write({ channel: 'app', level: 'DEBUG', msg: 'x' }), null);
  await logs.close();
  assert.deepEqual(
    readRecords(path.join(t.dir, 'app.log')).map((r) => r.msg),
    ['kept'],
  );
});

test('audit() resolves only once the record is in the file and synced', async () => {
  const t = newLog();
  const logs = await t.open();
  const ack = await logs.audit({ event: 'auth.login.success', actor: 'u1' });
  assert.equal(ack.channel, 'audit');
  assert.equal(ack.seq, 1);
  const line = readLines(path.join(t.dir, 'audit.log'))[0]!;
  assert.equal((JSON.parse(line) as Record<string, unknown>).hash, ack.hash);
  assert.ok(logs.stats().audit!.syncs >= 1);
  await logs.close();
});

test('group commit: 100 concurrent durable writers share a few fdatasyncs', async () => {
  const t = newLog();
  const logs = await t.open();
  const acks = await Promise.all(
    Array.from({ length: 100 }, (_, i) => logs.audit({ event: 'x.y', data: { i } })),
  );
  assert.deepEqual(
    acks.map((a) => a.seq),
    Array.from({ length: 100 }, (_, i) => i + 1),
  );
  const stats = logs.stats().audit!;
  assert.equal(stats.records, 100);
  assert.ok(
    stats.syncs <= 3,
    `expected one or two fdatasyncs for 100 concurrent writes, got ${stats.syncs}`,
  );
  await logs.close();
});

test('a rejected record never reaches disk, and the sequence is unaffected', async () => {
  const t = newLog();
  const logs = await t.open();
  await logs.audit({ event: 'ok.one' });
  await expectCode('EVENT_TOO_DEEP', () =>
    logs.audit({
      data: JSON.parse('{"a":'.repeat(50) + '1' + '}'.repeat(50)) as Record<string, unknown>,
    }),
  );
  await expectCode('EVENT_NON_FINITE', () => logs.write({ channel: 'audit', data: { x: NaN } }));
  await expectCode('EVENT_CHANNEL_UNKNOWN', () => logs.write({ channel: 'nosuch' }));
  logs.app.info({ bad: Infinity }); // reported to onError, not written
  await logs.audit({ event: 'ok.two' });
  await logs.close();
  const audit = readRecords(path.join(t.dir, 'audit.log'));
  assert.deepEqual(
    audit.map((r) => [r.seq, r.event]),
    [
      [1, 'ok.one'],
      [2, 'ok.two'],
    ],
  );
  assert.equal(readLines(path.join(t.dir, 'app.log')).length, 0);
});

test('logger calls never throw into the application; failures go to onError', async () => {
  const t = newLog();
  const errors: LogsError[] = [];
  const logs = await t.open({ onError: (e) => errors.push(e) });
  assert.doesNotThrow(() => logs.app.info({ n: NaN }));
  assert.doesNotThrow(() =>
    logs.logger('app').info({ deep: JSON.parse('['.repeat(40) + ']'.repeat(40)) as unknown }),
  );
  assert.deepEqual(
    errors.map((e) => e.code),
    ['EVENT_NON_FINITE', 'EVENT_TOO_DEEP'],
  );
  await logs.close();
  assert.doesNotThrow(() => logs.app.info('after close'));
  assert.equal(errors[2]?.code, 'LOGS_CLOSED');
  await expectCode('LOGS_CLOSED', () => logs.audit({ event: 'late' }));
});

test('buffered records reach the file within 100 ms without close', async () => {
  const t = newLog();
  const logs = await t.open();
  logs.app.info('soon on disk');
  assert.equal(
    statSync(path.join(t.dir, 'app.log')).size,
    0,
    'buffered, not written synchronously',
  );
  await sleep(250);
  assert.equal(readLines(path.join(t.dir, 'app.log')).length, 1);
  await logs.close();
});

test('signed checkpoints are written while writing, not only on close', async () => {
  const t = newLog();
  const logs = await t.open({ settings: { integrity: { checkpoint_interval_ms: 100 } } });
  logs.app.info('one');
  await logs.audit({ event: 'a.b' });
  await sleep(400);
  // init signs every channel empty (size 0) first: those lines are left out here.
  const signed = (): Array<Record<string, unknown>> =>
    readLines(path.join(t.dir, '.integrity', 'checkpoints.log'))
      .map((l) => JSON.parse(l) as Record<string, unknown>)
      .filter((c) => c.size !== 0);
  assert.deepEqual(
    signed()
      .map((c) => [c.channel, c.size])
      .sort(),
    [
      ['app', 1],
      ['audit', 1],
    ],
  );
  logs.app.info('two');
  await sleep(400);
  assert.equal(signed().length, 3, 'a new checkpoint only for the channel that changed');
  await logs.close();
});

test('bounded memory: past max_pending_bytes, buffered records are written at once', async () => {
  const t = newLog();
  const logs = await t.open({ settings: { writer: { max_pending_bytes: 64 * 1024 } } });
  const file = path.join(t.dir, 'app.log');
  for (let i = 0; i < 5000; i++) logs.app.info({ i, pad: 'x'.repeat(200) }, 'burst');
  // Still inside the same tick: no timer has run, yet most bytes are already in the file.
  const size = statSync(file).size;
  assert.ok(size > 5000 * 250 - 64 * 1024 - 2000, `only ${size} bytes written synchronously`);
  await logs.close();
  assert.equal(readLines(file).length, 5000);
});

test('a clock going backwards keeps seq order and flags the record', async () => {
  const t = newLog();
  let now = Date.parse('2026-03-01T12:00:00.000Z');
  const errors: LogsError[] = [];
  const logs = await t.open({ clock: () => now, onError: (e) => errors.push(e) });
  logs.app.info('first');
  now -= 5000;
  logs.app.info('second');
  now += 10_000;
  logs.app.info('third');
  await logs.close();
  const recs = readRecords(path.join(t.dir, 'app.log'));
  assert.deepEqual(
    recs.map((r) => r.seq),
    [1, 2, 3],
  );
  assert.equal(recs[1]!.ts_skew_ms, 5000);
  assert.equal(recs[1]!.ts, '2026-03-01T11:59:55.000Z', 'ts is the clock as read, not rewritten');
  assert.equal(recs[2]!.ts_skew_ms, undefined);
  assert.equal(errors.length, 1);
  assert.ok((await verifyLogs({ dir: t.dir, publicKey: t.publicKey })).ok);
});

test('one owner at a time: a second open is refused with the owner named', async () => {
  const t = newLog();
  const logs = await t.open({ owner: 'test owner' });
  const err = await expectCode('LOGS_LOCKED', () => t.open());
  assert.match(err.message, /test owner/);
  assert.match(err.message, new RegExp(`process ${process.pid}`));
  await logs.close();
  const again = await t.open();
  await again.close();
});

test('a wrong master key cannot open the log', async () => {
  const t = newLog();
  await expectCode('MASTER_KEY_WRONG', () => t.open({ masterKey: Buffer.alloc(32, 7) }));
  assert.equal(
    existsSync(path.join(t.dir, '.lock')),
    false,
    'the lock is released after a failed open',
  );
});

test('reopening continues the chain, seq and checkpoints', async () => {
  const t = newLog();
  for (let round = 0; round < 3; round++) {
    const logs = await t.open();
    for (let i = 0; i < 10; i++) logs.app.info({ round, i });
    await logs.audit({ event: 'round.end', data: { round } });
    await logs.close();
  }
  const recs = readRecords(path.join(t.dir, 'app.log'));
  assert.deepEqual(
    recs.map((r) => r.seq),
    Array.from({ length: 30 }, (_, i) => i + 1),
  );
  const report = await verifyLogs({ dir: t.dir, publicKey: t.publicKey });
  assert.ok(report.ok, JSON.stringify(report.damage));
  // Per round a final checkpoint on close; rounds 2 and 3 also sign a reopen checkpoint first.
  assert.equal(report.channels.find((c) => c.channel === 'app')!.checkpoints, 5);
});

test('reopening without the Merkle cache rebuilds it from the file', async () => {
  const t = newLog();
  let logs = await t.open();
  for (let i = 0; i < 37; i++) logs.app.info({ i });
  await logs.close();
  rmSync(path.join(t.dir, '.integrity', 'state'), { recursive: true });
  logs = await t.open();
  logs.app.info('after');
  await logs.close();
  assert.ok((await verifyLogs({ dir: t.dir, publicKey: t.publicKey })).ok);
});

test('a channel file replaced by a symbolic link is refused, not followed', async () => {
  const t = newLog();
  const file = path.join(t.dir, 'audit.log');
  rmSync(file);
  symlinkSync('/dev/full', file);
  const err = await expectCode('PATH_UNSAFE', () => t.open());
  assert.match(err.message, /not a regular file/);
  assert.equal(existsSync(path.join(t.dir, '.lock')), false);
});

test('a logger call with a subject stores its pseudonym as sub, never the id in clear', async () => {
  const t = newLog();
  const logs = await t.open();
  logs.app.info({ subject: 'customer-4711', event: 'invoice.sent' }, 'invoice sent');
  await logs.close();
  const [rec] = readRecords(path.join(t.dir, 'app.log'));
  assert.match(String(rec!.sub), /^sub_[0-9a-f]{24}$/);
  assert.equal(rec!.data, undefined);
  assert.doesNotMatch(readLines(path.join(t.dir, 'app.log')).join('\n'), /customer-4711/);
});
