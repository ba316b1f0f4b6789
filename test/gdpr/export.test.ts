import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { exportSubject, verifyBundle, type ExportReport } from '../../src/gdpr/export.js';
import { listRequests, oneMonthAfter } from '../../src/gdpr/requests.js';
import { IndexDb } from '../../src/search/index-db.js';
import { Keystore } from '../../src/crypto/keystore.js';
import { LogLayout } from '../../src/store/file/layout.js';
import { cli } from '../cli/run.js';
import { expectCode, newLog, type TestLog } from '../helpers.js';
import { key, pseudonymOf, storedRecords, type Rec } from '../query/helpers.js';

const ALICE = { id: 'alice-1', email: 'alice@example.org', phone: '+33 6 11 22 33 44' };
const BOB = { id: 'bob-2', email: 'bob@example.org', phone: '+33 7 55 66 77 88' };
const CAROL = { id: 'carol-3', email: 'carol@example.org' };

/** Three people, events in every channel, some of them archived. */
async function peopleLog(): Promise<TestLog> {
  const t = newLog();
  const logs = await t.open();
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 30; i++) {
      const who = [ALICE, BOB, CAROL][i % 3] as typeof ALICE;
      logs.app.info(
        {
          event: 'project.generate',
          actor: { id: who.id, type: 'user' },
          request_id: `r-${round}-${i}`,
        },
        `project ${i} for ${who.email}`,
      );
      logs.api.info(
        { event: 'api.request', actor: { id: who.id, type: 'user' }, data: { status: 200 } },
        'GET /projects',
      );
    }
    await logs.lifecycle.rotate('app'); // the first rounds end up in archives
  }
  await logs.audit({
    event: 'auth.login.success',
    actor: ALICE.id,
    msg: `signed in as ${ALICE.email}`,
  });
  await logs.audit({
    event: 'auth.login.failure',
    actor: BOB.id,
    msg: `bad password for ${BOB.email}`,
  });
  // Bob acts on Alice, who is the record's subject: her values in it are encrypted under her
  // key; Bob stays a pseudonym in her export.
  await logs.audit({
    event: 'account.update',
    actor: BOB.id,
    subject: ALICE.id,
    target: { type: 'user', id: ALICE.id },
    msg: `support changed the phone of ${ALICE.email} to ${ALICE.phone}`,
  });
  await logs.security({ event: 'access.denied', actor: CAROL.id, msg: `denied ${CAROL.email}` });
  logs.scheduler.info({ event: 'job.run', outcome: 'success' }, 'nightly');
  await logs.close();
  return t;
}

async function runExport(
  t: TestLog,
  ids: string[],
  extra: { format?: 'csv'; reason?: string } = {},
) {
  const logs = await t.open();
  try {
    return await exportSubject({
      logs,
      masterKey: t.masterKey,
      ids,
      requestedBy: 'dpo-1',
      ...extra,
    });
  } finally {
    await logs.close();
  }
}

function bundleFiles(t: TestLog, r: ExportReport): string[] {
  return readdirSync(path.join(t.dir, r.dir)).sort();
}

test('an export holds exactly the person’s records, with their values and nobody else’s', async () => {
  const t = await peopleLog();
  const stored = await storedRecords(t);
  const alice = pseudonymOf(t, ALICE.id);
  const mineIn = (r: Rec): boolean =>
    r.sub === alice ||
    (r.actor as { id?: string } | undefined)?.id === alice ||
    (r.target as { id?: string } | undefined)?.id === alice;
  const expected = stored.filter(mineIn);
  assert.ok(
    expected.some((r) => r.channel === 'app'),
    'archived app records are hers too',
  );

  const report = await runExport(t, [ALICE.id], {
    format: 'csv',
    reason: 'Art. 15 request of 2026-11-20',
  });
  const dir = path.join(t.dir, report.dir);
  const records = JSON.parse(readFileSync(path.join(dir, 'records.json'), 'utf8')) as Rec[];
  assert.deepEqual(records.map(key).sort(), expected.map(key).sort());
  assert.equal(report.records, expected.length);
  assert.deepEqual(report.perChannel, { app: 20, api: 20, audit: 2 });

  const text = bundleFiles(t, report)
    .filter((f) => f !== 'receipts')
    .map((f) => readFileSync(path.join(dir, f), 'utf8'))
    .join('\n');
  assert.ok(text.includes(ALICE.email), 'her e-mail is back');
  assert.ok(text.includes(ALICE.phone), 'her phone is back');
  for (const other of [BOB.id, BOB.email, CAROL.id, CAROL.email])
    assert.equal(text.includes(other), false, `${other} is not in her export`);
  const update = records.find((r) => r.event === 'account.update');
  assert.equal(update?.msg, `support changed the phone of ${ALICE.email} to ${ALICE.phone}`);
  const actor = update.actor as { id?: string } | undefined;
  assert.match(String(actor?.id), /^sub_[\da-f]{24}$/);
  // Bob's own records are not hers.
  assert.equal(
    records.some((r) => r.event === 'auth.login.failure'),
    false,
  );

  assert.deepEqual(bundleFiles(t, report), [
    'consulted.json',
    'manifest.json',
    'receipts',
    'receipts.json',
    'records.csv',
    'records.json',
    'summary.json',
    'summary.txt',
  ]);
  assert.equal(statSync(dir).mode & 0o777, 0o700);
  for (const f of bundleFiles(t, report))
    assert.equal(statSync(path.join(dir, f)).mode & 0o777, f === 'receipts' ? 0o700 : 0o600, f);
  assert.equal(readdirSync(path.join(dir, 'receipts')).length, report.records);
  const summary = JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8')) as Record<
    string,
    unknown
  >;
  assert.deepEqual(summary.retention, {
    app: { min_days: 30, max_days: 90 },
    api: { min_days: 90, max_days: 90 },
    audit: { min_days: 365, max_days: 1825 },
  });
  const csvLines = readFileSync(path.join(dir, 'records.csv'), 'utf8').trimEnd().split('\r\n');
  assert.equal(csvLines.length, expected.length + 1);
});

test('the manifest is signed: a changed, removed or foreign bundle is reported', async () => {
  const t = await peopleLog();
  const report = await runExport(t, [ALICE.id]);
  const dir = path.join(t.dir, report.dir);
  assert.deepEqual(verifyBundle(dir, t.publicKey), { ok: true, problems: [] });
  const other = newLog();
  assert.deepEqual(verifyBundle(dir, other.publicKey).problems, [
    'the manifest names another public key',
  ]);

  const file = path.join(dir, 'records.json');
  writeFileSync(file, readFileSync(file, 'utf8').replace('project', 'projekt'));
  assert.deepEqual(verifyBundle(dir, t.publicKey).problems, [
    'records.json: changed since the export',
  ]);

  const manifestFile = path.join(dir, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as {
    files: Array<{ sha256: string }>;
  };
  (manifest.files[0] as { sha256: string }).sha256 = '0'.repeat(64);
  writeFileSync(manifestFile, JSON.stringify(manifest));
  assert.ok(
    verifyBundle(dir, t.publicKey).problems.includes('the manifest signature does not verify'),
  );
});

test('exports are audit events without personal data; the next export lists who consulted; the register has deadlines', async () => {
  const t = await peopleLog();
  const first = await runExport(t, [ALICE.id, ALICE.email], { reason: 'access request' });
  const second = await runExport(t, [ALICE.id]);
  assert.notEqual(first.requestId, second.requestId);
  assert.match(first.requestId, /^exp-\d{8}-[\da-f]{16}$/);

  const audit = readFileSync(path.join(t.dir, 'audit.log'), 'utf8');
  for (const v of [ALICE.id, ALICE.email])
    assert.equal(audit.includes(v), false, `${v} not stored`);
  assert.ok(audit.includes(first.requestId));

  const consulted = JSON.parse(
    readFileSync(path.join(t.dir, second.dir, 'consulted.json'), 'utf8'),
  ) as Array<Record<string, unknown>>;
  assert.deepEqual(
    consulted.map((c) => [c.event, c.by, c.request_id, c.purpose, c.records]),
    [['gdpr.export', 'dpo-1', first.requestId, 'access request', first.records]],
  );

  const layout = new LogLayout(t.dir);
  const db = IndexDb.open(layout, t.logId);
  const ks = Keystore.openReadOnly(layout.subjectsFile, t.masterKey, t.logId);
  try {
    const register = await listRequests(layout, t.logId, db, ks);
    assert.deepEqual(
      register.map((r) => [r.requestId, r.kind, r.status, r.subject, r.records]),
      [
        [first.requestId, 'export', 'done', ALICE.id, first.records],
        [second.requestId, 'export', 'done', ALICE.id, second.records],
      ],
    );
    for (const r of register) assert.equal(r.deadline, oneMonthAfter(r.received));
    const stored = await listRequests(layout, t.logId, db);
    assert.equal(stored[0]?.subject, pseudonymOf(t, ALICE.id), 'without keys: the pseudonym');
  } finally {
    db.close();
    ks.close();
  }
  assert.equal(oneMonthAfter('2026-01-31T10:00:00.000Z'), '2026-02-28T10:00:00.000Z');
  assert.equal(oneMonthAfter('2028-01-31T10:00:00.000Z'), '2028-02-29T10:00:00.000Z');
  assert.equal(oneMonthAfter('2026-12-15T00:00:00.000Z'), '2027-01-15T00:00:00.000Z');
});

test('cli: export needs the master key and the directory; requests lists the register', async () => {
  const t = await peopleLog();
  const noKey = cli(t.root, ['--dir', t.dir, 'export', '--subject', ALICE.id]);
  assert.equal(noKey.code, 2);
  assert.match(noKey.stderr, /MASTER_KEY_MISSING: an export decrypts personal data/);
  assert.equal(noKey.stderr.includes(ALICE.id), false);

  const env = { DIHYA_LOGS_MASTER_KEY: t.masterKey.toString('base64') };
  const logs = await t.open(); // another process owns the directory
  const locked = cli(t.root, ['--dir', t.dir, 'export', '--subject', ALICE.id], env);
  await logs.close();
  assert.equal(locked.code, 1);
  assert.match(locked.stderr, /LOGS_LOCKED/);

  const ok = cli(
    t.root,
    ['--dir', t.dir, 'export', '--subject', ALICE.id, '--subject', 'nobody-9', '--json'],
    env,
  );
  assert.equal(ok.code, 0, ok.stderr);
  const report = JSON.parse(ok.stdout) as ExportReport;
  assert.equal(report.unknownIds, 1);
  assert.equal(report.records, 42);

  const reg = cli(t.root, ['--dir', t.dir, 'requests'], env);
  assert.equal(reg.code, 0, reg.stderr);
  assert.match(
    reg.stdout,
    new RegExp(
      `^${report.requestId}  export   done {6}received \\S+  deadline \\S+  ${ALICE.id}  42 record\\(s\\)\\n$`,
    ),
  );
});

test('producers cannot write gdpr.* events: the register holds only what dihya-logs recorded', async () => {
  const t = newLog();
  const logs = await t.open();
  try {
    await expectCode('EVENT_INVALID', () =>
      logs.audit({
        event: 'gdpr.erasure',
        msg: 'forged',
        data: { request_id: 'era-1', status: 'scheduled' },
      }),
    );
    await expectCode('EVENT_INVALID', () => logs.write({ event: 'gdpr.export', channel: 'app' }));
    logs.app.info({ event: 'gdpr.export' }, 'through a logger'); // reported to onError, not stored
    await logs.flush();
  } finally {
    await logs.close();
  }
  for (const c of ['app', 'audit'])
    assert.equal(readFileSync(path.join(t.dir, `${c}.log`), 'utf8').includes('gdpr.'), false);
  const layout = new LogLayout(t.dir);
  const db = IndexDb.open(layout, t.logId);
  try {
    assert.deepEqual(await listRequests(layout, t.logId, db), []);
  } finally {
    db.close();
  }
});
