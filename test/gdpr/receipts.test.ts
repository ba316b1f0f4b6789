import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cpSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { extract } from 'tar-stream';
import { eraseSubject, type EraseReport } from '../../src/gdpr/erase.js';
import { exportSubject, verifyBundle, type ExportReport } from '../../src/gdpr/export.js';
import { writeExportReceipts, type ReceiptsIndex } from '../../src/gdpr/receipts.js';
import { IndexDb } from '../../src/search/index-db.js';
import { catchUp } from '../../src/search/indexer.js';
import { recordId, SEQ_LIMIT } from '../../src/search/schema.js';
import { parseReceipt, verifyReceipt } from '../../src/integrity/receipt.js';
import { parsePublicKey } from '../../src/crypto/sign.js';
import { ReceiptBuilder } from '../../src/query/receipt-builder.js';
import { LogLayout } from '../../src/store/file/layout.js';
import { cli } from '../cli/run.js';
import { newLog, readLines, tempDir, type TestLog } from '../helpers.js';
import { pseudonymOf } from '../query/helpers.js';
import { testService } from '../service/helpers.js';

const DAVE = { id: 'dave-4', email: 'dave.martin@example.net', phone: '+33 6 98 76 54 32' };
const ERIN = { id: 'erin-5', email: 'erin@example.net' };

/** Dave in app and api; Erin in app, audit and security (an encrypted channel). */
async function log(): Promise<TestLog> {
  const t = newLog();
  const logs = await t.open();
  for (let i = 0; i < 5; i++) {
    logs.app.info(
      { event: 'project.generate', actor: { id: DAVE.id, email: DAVE.email } },
      `project ${i} mailed to ${DAVE.email}`,
    );
    logs.api.info({ event: 'api.request', actor: { id: DAVE.id } }, `call ${i} from ${DAVE.phone}`);
    logs.app.info({ event: 'project.generate', actor: { id: ERIN.id } }, `for ${ERIN.email}`);
  }
  await logs.audit({ event: 'auth.login.success', actor: ERIN.id, msg: `as ${ERIN.email}` });
  await logs.security({ event: 'access.denied', actor: ERIN.id, msg: `denied ${ERIN.email}` });
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

/** The stored line of a record, as in its channel file. */
function storedLine(t: TestLog, channel: string, seq: number): string {
  const line = readLines(path.join(t.dir, `${channel}.log`)).find(
    (l) => (JSON.parse(l) as { seq: number }).seq === seq,
  );
  assert.ok(line !== undefined, `${channel} #${seq} is in ${channel}.log`);
  return line;
}

/** A receipt whose leaf hash (in its extra data) has one bit changed. */
function tampered(receipt: string): string {
  const lines = receipt.split('\n');
  const extra = JSON.parse(Buffer.from(lines[1]?.slice(6) ?? '', 'base64').toString('utf8')) as {
    leaf_hash: string;
  };
  const flipped = (parseInt(extra.leaf_hash[0] ?? '0', 16) ^ 1).toString(16);
  extra.leaf_hash = `${flipped}${extra.leaf_hash.slice(1)}`;
  lines[1] = `extra ${Buffer.from(JSON.stringify(extra)).toString('base64')}`;
  return lines.join('\n');
}

test('an erasure returns the receipt of its gdpr.erasure record: public key only, no personal data, valid after the key is gone', async () => {
  const t = await log();
  const dave = pseudonymOf(t, DAVE.id);
  const dry = await withLogs(t, (logs) =>
    eraseSubject({ logs, ids: [DAVE.id], reason: 'asked', requestedBy: 'dpo-1', dryRun: true }),
  );
  assert.equal(dry.receipt, undefined, 'a dry run makes no receipt');
  assert.equal(dry.recorded, undefined);

  const report: EraseReport = await withLogs(t, (logs) =>
    eraseSubject({
      logs,
      ids: [DAVE.id],
      reason: `asked by ${DAVE.email}`,
      requestedBy: 'dpo-1',
    }),
  );
  assert.equal(report.status, 'done');
  assert.equal(report.receiptError, undefined);
  const seq = report.recorded?.seq ?? 0;
  const stored = JSON.parse(storedLine(t, 'audit', seq)) as Record<string, unknown>;
  assert.equal(stored.event, 'gdpr.erasure');
  assert.equal((stored.data as { request_id: string }).request_id, report.requestId);

  const receipt = report.receipt ?? '';
  const parsed = parseReceipt(receipt);
  assert.deepEqual([parsed.channel, parsed.seq], ['audit', seq], 'it names the erasure record');
  assert.equal(parsed.line, undefined, 'without the record’s line');
  const extra = Buffer.from(receipt.split('\n')[1]?.slice(6) ?? '', 'base64').toString('utf8');
  for (const v of [DAVE.id, DAVE.email, DAVE.phone, dave, 'dpo-1', 'asked'])
    assert.equal(receipt.includes(v) || extra.includes(v), false, `${v} is not in the receipt`);

  // Checked with the public key only, after the key destruction (it already happened): the
  // chain covers the stored, encrypted form; the stored line gives the leaf.
  assert.throws(() => pseudonymOf(t, DAVE.id), /not in the keystore/);
  const check = verifyReceipt(receipt, { logKey: t.publicKey });
  assert.equal(check.ok, true, check.reason);
  assert.equal(check.checked?.seq, seq);
  const withLine = verifyReceipt(receipt, {
    logKey: t.publicKey,
    line: storedLine(t, 'audit', seq),
  });
  assert.equal(withLine.ok, true, withLine.reason);
  assert.equal(withLine.checked?.line, true);
  assert.equal(verifyReceipt(receipt, { logKey: newLog().publicKey }).ok, false);
  assert.equal(verifyReceipt(tampered(receipt), { logKey: t.publicKey }).ok, false);

  // A scheduled erasure records its request too, and proves it.
  const scheduled = await withLogs(t, (logs) =>
    eraseSubject({ logs, ids: [ERIN.id], reason: 'asked', requestedBy: 'dpo-1' }),
  );
  assert.equal(scheduled.status, 'scheduled');
  assert.equal(parseReceipt(scheduled.receipt ?? '').seq, scheduled.recorded?.seq);
  assert.ok(verifyReceipt(scheduled.receipt ?? '', { logKey: t.publicKey }).ok);
});

test('cli: erase --receipt-out writes the receipt (0600), --json carries it, verify-proof checks it', async () => {
  const t = await log();
  const env = { DIHYA_LOGS_MASTER_KEY: t.masterKey.toString('base64') };
  const out = path.join(tempDir(), 'erasure.tlog-proof');
  const dry = cli(
    t.root,
    [
      '--dir',
      t.dir,
      'erase',
      '--subject',
      DAVE.id,
      '--reason',
      'r',
      '--dry-run',
      '--receipt-out',
      out,
    ],
    env,
  );
  assert.equal(dry.code, 2);
  assert.match(dry.stderr, /USAGE: --receipt-out: only an erasure/);

  const real = cli(
    t.root,
    ['--dir', t.dir, 'erase', '--subject', DAVE.id, '--reason', 'asked', '--receipt-out', out],
    env,
  );
  assert.equal(real.code, 0, real.stderr);
  assert.match(real.stdout, /receipt of the request record \(audit #\d+\): written to /);
  assert.equal(statSync(out).mode & 0o777, 0o600);
  const checked = cli(t.root, ['verify-proof', out, '--public-key', t.publicKey]);
  assert.equal(checked.code, 0, checked.stdout + checked.stderr);
  assert.match(checked.stdout, /^OK: audit #\d+ is in the tree of/);

  const json = cli(
    t.root,
    ['--dir', t.dir, 'erase', '--subject', ERIN.id, '--reason', 'asked', '--json'],
    env,
  );
  assert.equal(json.code, 0, json.stderr);
  const report = JSON.parse(json.stdout) as EraseReport;
  assert.ok(verifyReceipt(report.receipt ?? '', { logKey: t.publicKey }).ok);
  assert.equal(json.stdout.includes(ERIN.id), false, 'the report does not echo the id');
});

/** Every receipt of a bundle, as receipts.json lists them. */
function receiptsOf(t: TestLog, r: ExportReport): { index: ReceiptsIndex; dir: string } {
  const dir = path.join(t.dir, r.dir);
  const index = JSON.parse(readFileSync(path.join(dir, 'receipts.json'), 'utf8')) as ReceiptsIndex;
  return { index, dir };
}

test('an export bundle carries a receipt per record, in its signed manifest; a tampered one is caught', async () => {
  const t = await log();
  const report = await withLogs(t, (logs) =>
    exportSubject({ logs, masterKey: t.masterKey, ids: [ERIN.id], requestedBy: 'dpo-1' }),
  );
  assert.deepEqual(report.perChannel, { app: 5, audit: 1, security: 1 });
  assert.deepEqual(report.receipts, { proven: 7, unproven: 0 });
  const { index, dir } = receiptsOf(t, report);
  assert.equal(statSync(path.join(dir, 'receipts')).mode & 0o777, 0o700);
  const records = JSON.parse(readFileSync(path.join(dir, 'records.json'), 'utf8')) as Array<{
    channel: string;
    seq: number;
  }>;
  assert.deepEqual(
    index.proven.map((p) => `${p.channel}#${p.seq}`),
    records.map((r) => `${r.channel}#${r.seq}`),
    'one receipt per exported record, in its order',
  );
  const manifest = JSON.parse(readFileSync(path.join(dir, 'manifest.json'), 'utf8')) as {
    files: Array<{ name: string }>;
  };
  const listed = manifest.files.map((f) => f.name);
  for (const p of index.proven) {
    assert.equal(p.file, `receipts/${p.channel}-${p.seq}.tlog-proof`);
    assert.ok(listed.includes(p.file), `${p.file} is in the manifest`);
    const text = readFileSync(path.join(dir, p.file), 'utf8');
    assert.equal(statSync(path.join(dir, p.file)).mode & 0o777, 0o600);
    const check = verifyReceipt(text, { logKey: t.publicKey });
    assert.equal(check.ok, true, `${p.file}: ${check.reason ?? ''}`);
    assert.deepEqual([check.checked?.channel, check.checked?.seq], [p.channel, p.seq]);
    // No line: neither her sealed values nor the encrypted channel's ciphertext travel here.
    assert.equal(parseReceipt(text).line, undefined);
    assert.equal(text.includes(pseudonymOf(t, ERIN.id)), false);
    // Whoever holds the log checks the stored line against it, even in an encrypted channel.
    assert.ok(
      verifyReceipt(text, { logKey: t.publicKey, line: storedLine(t, p.channel, p.seq) }).ok,
    );
  }
  assert.ok(listed.includes('receipts.json'));
  assert.deepEqual(verifyBundle(dir, t.publicKey), { ok: true, problems: [] });

  const security = index.proven.find((p) => p.channel === 'security');
  assert.ok(security !== undefined, 'the encrypted channel’s record is proven too');
  const file = path.join(dir, security.file);
  const bad = tampered(readFileSync(file, 'utf8'));
  assert.equal(verifyReceipt(bad, { logKey: t.publicKey }).ok, false);
  writeFileSync(file, bad);
  assert.deepEqual(verifyBundle(dir, t.publicKey).problems, [
    `${security.file}: changed since the export`,
  ]);
});

test('records an export cannot prove are listed with the reason', async () => {
  const t = await log();
  // The index lost the app channel's leaves (as when retention deleted archives before the
  // index was built): those records are exported, unproven.
  await withLogs(t, async (logs) => {
    await logs.flush();
    const layout = new LogLayout(t.dir);
    const db = IndexDb.open(layout, t.logId);
    try {
      await catchUp(layout, t.logId, db, { channelKeys: logs.keys.channelKeyring() });
      const app = db.state('app')?.channelNo ?? -1;
      db.connection
        .prepare('DELETE FROM leaf_blocks WHERE id BETWEEN ? AND ?')
        .run(recordId(app, 0), recordId(app, SEQ_LIMIT - 1));
    } finally {
      db.close();
    }
  });
  const report = await withLogs(t, (logs) =>
    exportSubject({ logs, masterKey: t.masterKey, ids: [DAVE.id], requestedBy: 'dpo-1' }),
  );
  assert.equal(report.records, 10);
  assert.deepEqual(report.receipts, { proven: 5, unproven: 5 });
  const { index, dir } = receiptsOf(t, report);
  assert.deepEqual(
    index.unproven.map((u) => [u.channel, u.reason]),
    Array.from({ length: 5 }, () => ['app', 'no-leaves']),
  );
  assert.ok(index.proven.every((p) => p.channel === 'api'));
  assert.equal(existsSync(path.join(dir, 'receipts/app-1.tlog-proof')), false);
  assert.ok(verifyBundle(dir, t.publicKey).ok);

  // No signed checkpoint covers a record yet (here: a copy without its checkpoint log).
  const copy = path.join(tempDir(), 'logs');
  cpSync(t.dir, copy, { recursive: true });
  const layout = new LogLayout(copy);
  writeFileSync(layout.checkpointsFile, '');
  const db = IndexDb.open(layout, t.logId);
  try {
    const builder = new ReceiptBuilder({
      layout,
      db,
      publicKey: parsePublicKey(t.publicKey),
      witnessKeys: [],
      quorum: 0,
    });
    const out = tempDir();
    const written = await writeExportReceipts(builder, out, [
      { channel: 'api', seq: 1 },
      { channel: 'api', seq: 999 },
    ]);
    assert.deepEqual([written.proven, written.unproven], [0, 2]);
    const listed = JSON.parse(
      readFileSync(path.join(out, 'receipts.json'), 'utf8'),
    ) as ReceiptsIndex;
    assert.deepEqual(
      listed.unproven.map((u) => [u.seq, u.reason]),
      [
        [1, 'not-checkpointed'],
        [999, 'not-indexed'],
      ],
    );
  } finally {
    db.close();
  }
});

test('over HTTP: the erasure answer carries its receipt; the downloaded bundle carries receipts/', async () => {
  const s = await testService();
  try {
    await s.logs.audit({ event: 'account.create', actor: 'carol-3', msg: 'welcome carol' });
    s.logs.app.info({ event: 'page.view', actor: 'dave-4' }, 'dave');
    const gdpr = (url: string, payload?: object) =>
      s.app.inject({
        method: payload === undefined ? 'GET' : 'POST',
        url,
        headers: s.auth('dpo'),
        ...(payload === undefined ? {} : { payload }),
      });
    const exp = await gdpr('/v1/gdpr/exports', { subject: ['carol-3'] });
    assert.equal(exp.statusCode, 201, exp.body);
    const report = exp.json<ExportReport>();
    assert.deepEqual(report.receipts, { proven: 1, unproven: 0 });
    const dl = await gdpr(`/v1/gdpr/exports/${report.requestId}`);
    const names: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const x = extract();
      x.on('entry', (header, stream, next) => {
        names.push(header.name);
        stream.resume();
        stream.on('end', next);
      });
      x.on('finish', resolve);
      x.on('error', reject);
      Readable.from(dl.rawPayload).pipe(x);
    });
    const id = report.requestId;
    assert.ok(names.includes(`${id}/receipts.json`), names.join());
    assert.ok(names.includes(`${id}/receipts/audit-1.tlog-proof`), names.join());

    const dry = await gdpr('/v1/gdpr/erasures', {
      subject: ['dave-4'],
      reason: 'asked',
      dry_run: true,
    });
    assert.equal(dry.json<EraseReport>().receipt, undefined);
    const erase = await gdpr('/v1/gdpr/erasures', { subject: ['dave-4'], reason: 'asked' });
    assert.equal(erase.statusCode, 201, erase.body);
    const erased = erase.json<EraseReport>();
    assert.equal(erased.recorded?.channel, 'audit');
    const check = verifyReceipt(erased.receipt ?? '', { logKey: s.t.publicKey });
    assert.equal(check.ok, true, check.reason);
    assert.equal(check.checked?.seq, erased.recorded.seq);
  } finally {
    await s.close();
  }
});
