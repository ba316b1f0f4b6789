/**
 * `import`: a logs directory moved into PostgreSQL is the same log. A file log with several
 * channels, personal data, rotations and seals over three months, a segment deleted by
 * retention and a clean close is imported; the database verifies, holds the same lines under
 * the same seqs, and writing on it continues the seqs and chains (no `appended_after_close`),
 * answers a retry with its original ack and finds a known person under the same pseudonym. A
 * damaged log, a locked directory and a schema holding another log are refused; an interrupted
 * import is resumed; the CLI does it all in one command. No server: the tests fail, not skip.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { resolveConfig } from '../../src/config/resolve.js';
import { ChainHasher } from '../../src/integrity/chain.js';
import { openLogCore } from '../../src/log/open.js';
import { LogLayout, openFileStore, readSegmentBook } from '../../src/store/file/index.js';
import {
  importFileLog,
  openPostgresStore,
  verifyDatabase,
  type ImportReport,
} from '../../src/store/postgres/index.js';
import type { Store } from '../../src/store/store.js';
import { cli } from '../cli/run.js';
import { expectCode, newLog, tempDir, type TestLog } from '../helpers.js';
import { newSpec, sql, TEST_DATABASE_URL } from '../store/postgres-backend.js';

const DAY = 86_400_000;
const NOW = Date.now();
const CHANNELS = { app: { encrypt: true } };
const EMAIL = 'alice@example.org';

/** The rows of a query, typed as the caller expects them. */
async function rows<T>(schema: string, text: string, values: unknown[] = []): Promise<T[]> {
  return (await sql(schema, text, values)).rows as T[];
}

/** Whether a schema exists. */
async function exists(schema: string): Promise<boolean> {
  const [r] = await rows<{ s: string | null }>('public', 'SELECT to_regnamespace($1)::text AS s', [
    schema,
  ]);
  return r?.s != null;
}

async function dropSchemas(schema: string): Promise<void> {
  await sql('public', `DROP SCHEMA IF EXISTS ${schema} CASCADE`);
  await sql('public', `DROP SCHEMA IF EXISTS ${schema}_import CASCADE`);
}

/**
 * A file log over three months: audit with an e-mail and an idempotency key, app encrypted,
 * security; audit rotated twice (its first segment then deleted by retention), app once; closed.
 */
async function buildLog(): Promise<TestLog> {
  const t = newLog();
  let clock = NOW - 70 * DAY;
  const logs = await t.open({ clock: () => clock, settings: { channels: CHANNELS } });
  const burst = async (tag: string, n: number): Promise<void> => {
    for (let i = 0; i < n; i++) {
      await logs.audit({
        event: 'auth.login.success',
        actor: { id: 'u-1', email: EMAIL },
        msg: `${tag} login ${i}`,
      });
      logs.app.info({ event: 'page.view', i }, `${tag} page ${i}`);
    }
    await logs.security({ event: 'access.denied', outcome: 'failure', msg: `${tag} denied` });
  };
  await burst('first', 12);
  await logs.lifecycle.rotate('audit');
  clock = NOW - 40 * DAY;
  await burst('second', 10);
  await logs.lifecycle.rotate('audit');
  await logs.lifecycle.rotate('app');
  const [old] = readSegmentBook(new LogLayout(t.dir), t.logId).segments('audit');
  assert.ok(old !== undefined && old.state === 'sealed');
  await logs.lifecycle.deleteSegment('audit', old.first, old.last, 'retention', NOW + 3650 * DAY);
  clock = NOW - 1000;
  await burst('third', 5);
  await logs.write({ channel: 'audit', event: 'project.generated', idempotency_key: 'req-42' });
  await logs.close();
  return t;
}

/** Every stored record of every channel, as `read` gives them. */
async function readAll(store: Store): Promise<Record<string, string[]>> {
  const out: Record<string, string[]> = {};
  for (const c of store.channels) {
    const lines: string[] = [];
    for await (const r of store.read(c.name, 1)) lines.push(`${r.seq} ${r.line}`);
    out[c.name] = lines;
  }
  return out;
}

async function readFileLog(t: TestLog): Promise<Record<string, string[]>> {
  const store = await openFileStore({
    config: { ...resolveConfig({ channels: CHANNELS }, t.dir), dir: t.dir },
    masterKey: t.masterKey,
    onError: () => undefined,
    owner: 'import test (read)',
  });
  try {
    return await readAll(store);
  } finally {
    // Opening re-seals what the last close left staged: finished here, so no seal of this
    // store is still moving files when the import reads the directory.
    await store.seal();
    await store.close();
  }
}

function names(r: ImportReport): string[] {
  return r.channels.map((c) => c.channel);
}

function pgSettings(schema: string): Record<string, unknown> {
  return {
    channels: CHANNELS,
    index: { live: false },
    store: { kind: 'postgres', url: TEST_DATABASE_URL, schema, pool_size: 4 },
  };
}

function imported(
  t: TestLog,
  schema: string,
  extra: Partial<Parameters<typeof importFileLog>[0]> = {},
): Promise<ImportReport> {
  return importFileLog({
    dir: t.dir,
    masterKey: t.masterKey,
    url: TEST_DATABASE_URL,
    schema,
    publicKey: t.publicKey,
    ...extra,
  });
}

test('import keeps seqs, lines and chains; writing on PostgreSQL continues them and verifies', async () => {
  const t = await buildLog();
  const before = await readFileLog(t);
  const { schema, dir } = newSpec();
  try {
    const r = await imported(t, schema);
    assert.equal(r.ok, true, JSON.stringify(r.databaseVerify.damage));
    assert.equal(r.fileVerify.ok, true);
    assert.equal(r.logId, t.logId);
    assert.equal(r.resumed, false);
    const audit = r.channels.find((c) => c.channel === 'audit');
    assert.ok(audit !== undefined);
    assert.equal(audit.deleted, 12, 'the first audit segment is gone, its tombstone stands in');
    assert.equal(audit.records, audit.seq - 12);
    const sealed = names(r).flatMap((c) =>
      readSegmentBook(new LogLayout(t.dir), t.logId)
        .segments(c)
        .filter((x) => x.state === 'sealed'),
    );
    assert.ok(sealed.length >= 2, 'the second audit segment and the app segment at least');
    assert.equal(r.archives, sealed.length);
    assert.ok(r.keystore.subjects >= 1 && r.keystore.channelKeys >= 1);
    assert.equal(r.idempotencyKeys, 1);
    assert.deepEqual(r.databaseVerify.damage, []);
    // Every channel the clean close left final is reopened by the import.
    for (const c of r.channels) assert.equal(c.signed, c.seq > 0, c.channel);
    const archives = await rows<{ file: string }>(
      schema,
      'SELECT file FROM dl_archives ORDER BY file',
    );
    assert.deepEqual(
      archives.map((a) => a.file),
      sealed.map((x) => x.file).sort(),
      'each archive under its signed name',
    );
    assert.equal(await exists(`${schema}_import`), false, 'the staging schema is gone');
    assert.ok(r.channels.every((c) => c.unopened === 0));
    assert.deepEqual(
      await rows(schema, `SELECT DISTINCT event, msg FROM dl_records WHERE channel = 'app'`),
      [{ event: 'page.view', msg: null }],
      'an encrypted channel: the columns a commit fills (its event), never its message',
    );
    const [people] = await rows<{ n: number }>(
      schema,
      `SELECT count(*)::int AS n FROM dl_records WHERE channel = 'audit' AND people IS NOT NULL`,
    );
    assert.equal(people?.n, audit.records - 1, 'a person’s records are found by pseudonym');

    const store = await openPostgresStore({
      config: resolveConfig(pgSettings(schema), dir),
      masterKey: t.masterKey,
      onError: (err) => assert.fail(err.message),
    });
    try {
      assert.deepEqual(await readAll(store), before, 'the same lines under the same seqs');
    } finally {
      await store.close();
    }
    const all = Object.values(before).flat().join('\n');
    assert.ok(!all.includes(EMAIL) && !all.includes('u-1'), 'personal data stays encrypted');

    const logs = await openLogCore({
      settings: pgSettings(schema),
      dir,
      masterKey: t.masterKey,
      handleExit: false,
      onError: (err) => assert.fail(err.message),
    });
    const lastAudit = audit.seq;
    const ack = await logs.audit({ event: 'auth.logout', actor: { id: 'u-1', email: EMAIL } });
    const retry = await logs.write({
      channel: 'audit',
      event: 'project.generated',
      idempotency_key: 'req-42',
    });
    await logs.close();
    assert.ok(ack.seq > lastAudit, 'seq continues');
    assert.equal(retry?.seq, lastAudit, 'a retry is answered with its first ack');

    const tail = await rows<{ seq: string; line: string; hash: string }>(
      schema,
      `SELECT seq, line, hash FROM dl_records WHERE channel = 'audit' AND seq >= $1 ORDER BY seq`,
      [lastAudit],
    );
    assert.deepEqual(
      tail.map((x) => Number(x.seq)),
      Array.from({ length: ack.seq - lastAudit + 1 }, (_, i) => lastAudit + i),
      'no gap, no repeat',
    );
    const hasher = new ChainHasher();
    for (let i = 1; i < tail.length; i++) {
      const [prev, row] = [tail[i - 1]!, tail[i]!];
      assert.equal(hasher.nextFromLine(prev.hash, Buffer.from(row.line)), row.hash, 'chained');
    }
    const subs = await rows(
      schema,
      `SELECT DISTINCT sub FROM dl_records WHERE channel = 'audit' AND sub IS NOT NULL`,
    );
    assert.equal(subs.length, 1, 'the same person keeps the same pseudonym after the move');

    const after = await verifyDatabase({ url: TEST_DATABASE_URL, schema, publicKey: t.publicKey });
    assert.equal(after.ok, true, JSON.stringify(after.damage));
    assert.ok(!after.warnings.some((w) => w.kind === 'unsigned_tail'));
  } finally {
    await dropSchemas(schema);
  }
});

test('a damaged logs directory is refused, nothing is written', async () => {
  const t = newLog();
  const logs = await t.open();
  for (let i = 0; i < 5; i++) await logs.audit({ event: 'auth.login.success', msg: `login ${i}` });
  await logs.close();
  const file = new LogLayout(t.dir).channelFile('audit');
  writeFileSync(file, readFileSync(file, 'utf8').replace('login 2', 'login X'));
  const { schema } = newSpec();
  try {
    const err = await expectCode('INTEGRITY_STATE', () => imported(t, schema));
    assert.match(err.message, /is damaged \(record_altered at audit, audit\.log, line 3, seq 3/);
    assert.equal(await exists(`${schema}_import`), false, 'nothing was written');
    assert.equal(await exists(schema), false);
  } finally {
    await dropSchemas(schema);
  }
});

test('a schema holding another log and a directory open by a writer are refused', async () => {
  const t = newLog();
  const logs = await t.open();
  await logs.audit({ event: 'auth.login.success' });
  const locked = await expectCode('LOGS_LOCKED', () => imported(t, newSpec().schema));
  assert.match(locked.message, /stop it \(a clean close\) before importing/);
  await logs.close();

  const { schema, dir } = newSpec();
  try {
    const other = await openPostgresStore({
      config: resolveConfig(pgSettings(schema), dir),
      masterKey: randomBytes(32),
      onError: () => undefined,
    });
    await other.close();
    const err = await expectCode('LOGS_ALREADY_INITIALIZED', () => imported(t, schema));
    assert.match(err.message, /holds another log/);
    await dropSchemas(schema);
    await imported(t, schema);
    const again = await expectCode('LOGS_ALREADY_INITIALIZED', () => imported(t, schema));
    assert.match(again.message, new RegExp(`already holds log ${t.logId}`));
  } finally {
    await dropSchemas(schema);
  }
});

test('an interrupted import resumes where it stopped and verifies', async () => {
  const t = newLog();
  const logs = await t.open();
  const events = Array.from({ length: 900 }, (_, i) => ({
    channel: 'app',
    event: 'page.view',
    msg: `page ${i}`,
  }));
  await logs.writeAll(events);
  await logs.close();
  const { schema } = newSpec();
  try {
    let batches = 0;
    await assert.rejects(
      imported(t, schema, {
        batchRows: 100,
        onProgress: (p) => {
          if (p.phase === 'copy' && ++batches === 3) throw new Error('interrupted');
        },
      }),
    );
    const [done] = await rows<{ n: number }>(
      `${schema}_import`,
      'SELECT count(*)::int AS n FROM dl_records',
    );
    const n = done?.n ?? 0;
    assert.ok(n >= 300 && n < 900, `${n} rows copied`);
    assert.equal(await exists(schema), false, 'nothing published');
    const r = await imported(t, schema, { batchRows: 100 });
    assert.equal(r.ok, true, JSON.stringify(r.databaseVerify.damage));
    assert.equal(r.resumed, true);
    const app = r.channels.find((c) => c.channel === 'app');
    assert.equal(app?.records, 900);
    assert.equal(app.inserted, 900 - n);
  } finally {
    await dropSchemas(schema);
  }
});

test('CLI: import --from moves the directory into the configured schema, verify agrees', async () => {
  const t = newLog();
  const logs = await t.open();
  await logs.audit({ event: 'auth.login.success', actor: { id: 'u-9', email: EMAIL } });
  await logs.close();
  const { schema } = newSpec();
  const cwd = tempDir('dihya-pg-import-');
  writeFileSync(
    path.join(cwd, 'dihya-logs.yaml'),
    `dir: ./state\nstore:\n  kind: postgres\n  schema: ${schema}\n`,
  );
  const env = {
    DIHYA_LOGS_MASTER_KEY: t.masterKey.toString('base64'),
    DIHYA_LOGS_DATABASE_URL: TEST_DATABASE_URL,
  };
  try {
    const r = cli(cwd, ['import', '--from', t.dir], env);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^IMPORTED: .* -> postgres:dl_t_\w+ \(log [0-9a-f]{32}\)/);
    assert.match(r.stdout, /after \(the database\):\nINTACT: postgres:/);
    const again = cli(cwd, ['import', '--from', t.dir, '--json'], env);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /^dihya-logs: LOGS_ALREADY_INITIALIZED: schema /);
    const v = cli(cwd, ['verify'], { DIHYA_LOGS_DATABASE_URL: TEST_DATABASE_URL });
    assert.equal(v.code, 0, v.stdout + v.stderr);
    writeFileSync(path.join(cwd, 'file.yaml'), 'dir: ./state\n');
    const fileStore = cli(cwd, ['--config', 'file.yaml', 'import', '--from', t.dir], {
      DIHYA_LOGS_MASTER_KEY: env.DIHYA_LOGS_MASTER_KEY,
    });
    assert.equal(fileStore.code, 2, fileStore.stderr);
    assert.match(fileStore.stderr, /CONFIG_INVALID: import moves a logs directory into PostgreSQL/);
  } finally {
    await dropSchemas(schema);
  }
});
