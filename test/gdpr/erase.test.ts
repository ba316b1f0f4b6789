import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { eraseDue, eraseSubject, type EraseReport } from '../../src/gdpr/erase.js';
import { exportSubject } from '../../src/gdpr/export.js';
import { listRequests } from '../../src/gdpr/requests.js';
import { IndexDb } from '../../src/search/index-db.js';
import { verifyLogs } from '../../src/index.js';
import { runQuery } from '../../src/query/query.js';
import { LogLayout } from '../../src/store/file/layout.js';
import { cli } from '../cli/run.js';
import { newLog, type TestLog } from '../helpers.js';
import { pseudonymOf } from '../query/helpers.js';

const DAVE = {
  id: 'dave-4',
  email: 'dave.martin@example.net',
  phone: '+33 6 98 76 54 32',
  ip: '198.51.100.23',
  name: 'Dave Martin',
};
const ERIN = { id: 'erin-5', email: 'erin@example.net' };

/** Dave: app (archived and active) and api records with every kind of personal value. Erin: also audit. */
async function log(): Promise<TestLog> {
  const t = newLog();
  const logs = await t.open();
  const dave = {
    id: DAVE.id,
    type: 'user',
    email: DAVE.email,
    ip: DAVE.ip,
    name: DAVE.name,
    phone: DAVE.phone,
  };
  for (let i = 0; i < 20; i++) {
    logs.app.info(
      { event: 'project.generate', actor: dave },
      `project ${i} mailed to ${DAVE.email}`,
    );
    logs.api.info(
      { event: 'api.request', actor: { id: DAVE.id, ip: DAVE.ip } },
      `call ${i} from ${DAVE.phone}`,
    );
    logs.app.info(
      { event: 'project.generate', actor: { id: ERIN.id, email: ERIN.email } },
      `for ${ERIN.email}`,
    );
    if (i === 9) await logs.lifecycle.rotate('app');
  }
  await logs.audit({
    event: 'auth.login.success',
    actor: ERIN.id,
    msg: `signed in as ${ERIN.email}`,
  });
  await logs.close();
  return t;
}

async function withLogs<T>(
  t: TestLog,
  fn: (logs: Awaited<ReturnType<TestLog['open']>>) => Promise<T>,
): Promise<T> {
  const logs = await t.open();
  try {
    return await fn(logs);
  } finally {
    await logs.close();
  }
}

/** Every file under a directory, gzip archives decompressed, as one string. */
function everything(dir: string): string {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else {
        const bytes = readFileSync(p);
        out.push((name.endsWith('.gz') ? gunzipSync(bytes) : bytes).toString('latin1'));
        out.push(bytes.toString('latin1'));
      }
    }
  };
  walk(dir);
  return out.join('\n');
}

test('after an erasure no identifier or value of the person is anywhere under the logs directory, and verify passes', async () => {
  const t = await log();
  const exported = await withLogs(t, (logs) =>
    exportSubject({ logs, masterKey: t.masterKey, ids: [DAVE.id], requestedBy: 'dpo-1' }),
  );
  assert.equal(exported.records, 40);
  const before = everything(t.dir);
  for (const v of Object.values(DAVE))
    assert.ok(before.includes(v), `${v} is in his export bundle before`);

  const dave = pseudonymOf(t, DAVE.id);
  // His wrapped key and id, as the keystore holds them: afterwards, in no file of .keys/.
  const keystoreFile = new LogLayout(t.dir).subjectsFile;
  const raw = new Database(keystoreFile, { readonly: true });
  const row = raw
    .prepare('SELECT wrapped, sealed_id FROM subjects WHERE pseudonym = ?')
    .get(pseudonymOf(t, DAVE.id)) as { wrapped: Buffer; sealed_id: Buffer };
  raw.close();

  // Checked while the logs are still open (a running service): no copy left in the WAL either.
  const report: EraseReport = await withLogs(t, async (logs) => {
    const r = await eraseSubject({
      logs,
      ids: [DAVE.id],
      reason: 'Art. 17 request',
      requestedBy: 'dpo-1',
    });
    for (const f of readdirSync(path.dirname(keystoreFile))) {
      const bytes = readFileSync(path.join(path.dirname(keystoreFile), f));
      assert.equal(bytes.includes(row.wrapped), false, `no copy of his key in ${f}`);
      assert.equal(bytes.includes(row.sealed_id), false, `no copy of his sealed id in ${f}`);
    }
    return r;
  });
  assert.equal(report.status, 'done');
  assert.deepEqual(report.now, { keys: 1, indexRows: 40, exports: [exported.requestId] });
  assert.equal(existsSync(path.join(t.dir, exported.dir)), false, 'his export bundle is gone');

  const after = everything(t.dir);
  for (const v of Object.values(DAVE)) assert.equal(after.includes(v), false, `${v} is nowhere`);
  assert.ok(!after.includes(ERIN.id) && after.includes('[email#1]'), 'records stay, anonymous');
  assert.ok((await verifyLogs({ dir: t.dir, publicKey: t.publicKey })).ok);

  // His records stay in place, unreadable; Erin's are untouched.
  const layout = new LogLayout(t.dir);
  const db = IndexDb.open(layout, t.logId);
  try {
    const { Keystore } = await import('../../src/crypto/keystore.js');
    const ks = Keystore.openReadOnly(layout.subjectsFile, t.masterKey, t.logId);
    try {
      assert.equal(ks.find(DAVE.id), undefined);
      const erin = await runQuery(
        layout,
        t.logId,
        db,
        { filter: { subjects: [pseudonymOf(t, ERIN.id)] } },
        ks,
      );
      assert.equal(erin.records.length, 21);
      assert.ok(
        erin.records.every(
          (r) =>
            JSON.stringify(r.record).includes(ERIN.email) ||
            r.record?.event === 'auth.login.success',
        ),
      );
      const all = await runQuery(
        layout,
        t.logId,
        db,
        { filter: { channels: ['api'] }, limit: 100 },
        ks,
      );
      assert.equal(all.records.length, 0, 'his api rows left the index');
      const register = await listRequests(layout, t.logId, db, ks);
      assert.deepEqual(
        register.map((r) => [r.kind, r.status]),
        [
          ['export', 'done'],
          ['erasure', 'done'],
        ],
      );
    } finally {
      ks.close();
    }
  } finally {
    db.close();
  }
  // A rebuilt index leaves his records out too (his request events stay: they are the register).
  const { rebuild } = await import('../../src/search/indexer.js');
  const rebuiltDb = IndexDb.open(new LogLayout(t.dir), t.logId);
  try {
    await rebuild(new LogLayout(t.dir), t.logId, rebuiltDb);
    const left = rebuiltDb.connection
      .prepare('SELECT event FROM records_view WHERE sub = ? OR actor_ref = ? ORDER BY id')
      .all(dave, dave) as Array<{ event: string }>;
    assert.deepEqual(
      left.map((r) => r.event),
      ['gdpr.export', 'gdpr.erasure'],
    );
  } finally {
    rebuiltDb.close();
  }
  // A new event about him after the erasure is a new person: the old records stay unreadable.
  await withLogs(t, async (logs) => {
    logs.app.info({ event: 'user.login', actor: { id: DAVE.id } }, 'back');
    await logs.flush();
  });
  assert.notEqual(pseudonymOf(t, DAVE.id), undefined);
});

test('a retention duty schedules the erasure; what can go now goes now; eraseDue finishes it', async () => {
  const t = await log();
  const exported = await withLogs(t, (logs) =>
    exportSubject({ logs, masterKey: t.masterKey, ids: [ERIN.id], requestedBy: 'dpo-1' }),
  );
  const dry = await withLogs(t, (logs) =>
    eraseSubject({ logs, ids: [ERIN.id], reason: 'asked', requestedBy: 'dpo-1', dryRun: true }),
  );
  assert.equal(dry.status, 'scheduled');
  assert.ok(existsSync(path.join(t.dir, exported.dir)), 'a dry run changes nothing');

  const report = await withLogs(t, (logs) =>
    eraseSubject({
      logs,
      ids: [ERIN.id, 'nobody@example.org'],
      reason: 'asked',
      requestedBy: 'dpo-1',
    }),
  );
  assert.equal(report.status, 'scheduled');
  assert.equal(report.unknownIds, 1);
  assert.deepEqual(
    report.duties.map((d) => [d.channel, d.records]),
    [['audit', 1]],
  );
  assert.match(report.duties[0]?.basis ?? '', /GDPR Art\. 5\(2\), 32/);
  assert.equal(report.dueAt, report.duties[0]?.until);
  const due = Date.parse(report.dueAt ?? '');
  assert.ok(due > Date.now() + 364 * 86_400_000, 'one year of audit retention');
  assert.deepEqual(report.now, { keys: 0, indexRows: 20, exports: [exported.requestId] });
  assert.ok(pseudonymOf(t, ERIN.id).startsWith('sub_'), 'her key lives until the duty ends');

  const early = await withLogs(t, (logs) => eraseDue(logs, due - 1));
  assert.deepEqual(early, []);
  const done = await withLogs(t, (logs) => eraseDue(logs, due + 1));
  assert.deepEqual(done, [report.requestId]);
  assert.throws(() => pseudonymOf(t, ERIN.id), /not in the keystore/);
  const again = await withLogs(t, (logs) => eraseDue(logs, due + 2));
  assert.deepEqual(again, [], 'done once');
  assert.equal(everything(t.dir).includes(ERIN.email), false);
  assert.ok((await verifyLogs({ dir: t.dir, publicKey: t.publicKey })).ok);
});

test('cli: erase needs a subject and a reason; --dry-run and --json report; --due runs what is due', async () => {
  const t = await log();
  const env = { DIHYA_LOGS_MASTER_KEY: t.masterKey.toString('base64') };
  const usage = cli(t.root, ['--dir', t.dir, 'erase', '--subject', DAVE.id], env);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /USAGE: erase: give --subject and --reason/);

  const dry = cli(
    t.root,
    ['--dir', t.dir, 'erase', '--subject', DAVE.id, '--reason', 'asked', '--dry-run'],
    env,
  );
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /^erase era-\d{8}-[\da-f]{16} \(dry run, nothing changed\): done: /);
  assert.ok(pseudonymOf(t, DAVE.id).startsWith('sub_'));

  const real = cli(
    t.root,
    ['--dir', t.dir, 'erase', '--subject', DAVE.id, '--reason', 'asked', '--json'],
    env,
  );
  assert.equal(real.code, 0, real.stderr);
  assert.equal((JSON.parse(real.stdout) as EraseReport).now.keys, 1);
  assert.equal(real.stdout.includes(DAVE.id), false, 'the report does not echo the id');

  const due = cli(t.root, ['--dir', t.dir, 'erase', '--due'], env);
  assert.equal(due.code, 0, due.stderr);
  assert.equal(due.stdout, 'no scheduled erasure is due\n');
});
