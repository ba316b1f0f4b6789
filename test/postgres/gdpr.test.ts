/**
 * GDPR export and erasure on the PostgreSQL store (issue 17): an export finds a person's
 * records in every channel through the `people` column and decrypts them with their keys only,
 * into the same signed bundle as the file store's; an erasure records its `gdpr.erasure` event,
 * then deletes every key row the person has (two, when two instances first saw them at once),
 * leaves the records in place, anonymous, and the chain verifiable. The CLI does both. No
 * server: the tests fail, they do not skip.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { eraseDue, eraseSubject } from '../../src/gdpr/erase.js';
import { exportSubject, verifyBundle, type ExportReport } from '../../src/gdpr/export.js';
import { listRequestsFromStore } from '../../src/gdpr/requests.js';
import type { LogCore } from '../../src/log/core.js';
import { openLogCore } from '../../src/log/open.js';
import { verifyDatabase } from '../../src/store/postgres/index.js';
import { cli } from '../cli/run.js';
import { REPO_ROOT } from '../helpers.js';
import { cliOnPostgres, newSpec, sql } from '../store/postgres-backend.js';

type Spec = ReturnType<typeof newSpec>;
type Rec = Record<string, unknown>;

const ALICE = { id: 'alice-1', email: 'alice@example.org', phone: '+33 6 11 22 33 44' };
const BOB = { id: 'bob-2', email: 'bob@example.org' };
const DAVE = { id: 'dave-4', email: 'dave.martin@example.net', ip: '198.51.100.23' };
const FRANK = { id: 'frank-6', email: 'frank@example.com' };

/** Open the logs on `spec`'s schema, as an application instance with its own state dir. */
function open(spec: Spec, key: Buffer, dir: string = spec.dir): Promise<LogCore> {
  return openLogCore({
    dir,
    masterKey: key,
    handleExit: false,
    onError: () => undefined,
    settings: {
      store: { kind: 'postgres', url: spec.url, schema: spec.schema, pool_size: 4 },
      index: { live: false },
    },
  });
}

async function dropSchema(spec: Spec): Promise<void> {
  await sql('public', `DROP SCHEMA IF EXISTS ${spec.schema} CASCADE`);
}

function bundle(logs: LogCore, r: ExportReport, file: string): string {
  return readFileSync(path.join(logs.dir, r.dir, file), 'utf8');
}

/** Records of these pseudonyms still in the table (with or without a key). */
async function rowsOf(spec: Spec, pseudonyms: readonly string[]): Promise<number> {
  const r = await sql(spec.schema, 'SELECT count(*)::int AS n FROM dl_records WHERE people && $1', [
    pseudonyms,
  ]);
  return (r.rows[0] as { n: number }).n;
}

async function keyRows(spec: Spec, pseudonyms: readonly string[]): Promise<number> {
  const r = await sql(
    spec.schema,
    'SELECT count(*)::int AS n FROM dl_subjects WHERE pseudonym = ANY($1)',
    [pseudonyms],
  );
  return (r.rows[0] as { n: number }).n;
}

/** Alice in app, api, audit and security; Bob beside her (and acting on her). */
async function peopleLog(logs: LogCore): Promise<void> {
  const alice = { id: ALICE.id, type: 'user', email: ALICE.email };
  for (let i = 0; i < 5; i++) {
    logs.app.info({ event: 'project.generate', actor: alice }, `project ${i} for ${ALICE.email}`);
    logs.app.info({ event: 'project.generate', actor: { id: BOB.id } }, `for ${BOB.email}`);
  }
  for (let i = 0; i < 3; i++)
    logs.api.info({ event: 'api.request', actor: { id: ALICE.id } }, `call ${i} ${ALICE.phone}`);
  await logs.audit({ event: 'auth.login.success', actor: ALICE.id, msg: `in: ${ALICE.email}` });
  await logs.audit({
    event: 'account.update',
    actor: BOB.id,
    subject: ALICE.id,
    msg: `support changed the phone of ${ALICE.email} to ${ALICE.phone}`,
  });
  await logs.security({ event: 'access.denied', actor: ALICE.id, msg: `denied ${ALICE.email}` });
  await logs.flush();
}

test('postgres: an export holds the person’s records of every channel, decrypted, signed', async () => {
  const spec = newSpec();
  const key = randomBytes(32);
  const logs = await open(spec, key);
  try {
    await peopleLog(logs);
    const report = await exportSubject({
      logs,
      masterKey: key,
      ids: [ALICE.id],
      requestedBy: 'dpo-1',
      reason: 'Art. 15',
    });
    assert.deepEqual(report.perChannel, { app: 5, api: 3, audit: 2, security: 1 });
    assert.equal(report.records, 11);
    assert.equal(report.damaged, 0);
    assert.equal(report.unknownIds, 0);
    assert.match(report.dir, /^export\/exp-\d{8}-[\da-f]{16}$/);
    const records = JSON.parse(bundle(logs, report, 'records.json')) as Rec[];
    const text = JSON.stringify(records);
    assert.ok(text.includes(ALICE.email) && text.includes(ALICE.phone), 'her values are back');
    for (const other of [BOB.id, BOB.email])
      assert.equal(text.includes(other), false, `${other} is not in her export`);
    const update = records.find((r) => r.event === 'account.update') ?? {};
    assert.equal(update.subject, ALICE.id);
    const actor = update.actor as { id?: string } | undefined;
    assert.match(actor?.id ?? '', /^sub_/, 'Bob stays a pseudonym');
    assert.deepEqual(verifyBundle(path.join(logs.dir, report.dir), logs.publicKey), {
      ok: true,
      problems: [],
    });
    const receipts = JSON.parse(bundle(logs, report, 'receipts.json')) as {
      unproven: Array<{ reason: string }>;
    };
    assert.equal(receipts.unproven.length, 11);
    assert.ok(receipts.unproven.every((u) => u.reason === 'no-leaves'));
    const summary = JSON.parse(bundle(logs, report, 'summary.json')) as { subjects: string[] };
    assert.deepEqual(summary.subjects, [ALICE.id]);

    // The request is in the audit trail, without her values, and in the register.
    const audit = await sql(spec.schema, "SELECT line FROM dl_records WHERE event = 'gdpr.export'");
    assert.equal(audit.rows.length, 1);
    assert.equal(JSON.stringify(audit.rows).includes(ALICE.id), false);
    const register = await listRequestsFromStore(logs.people!, logs.keys.channelKeyring());
    assert.deepEqual(
      register.map((r) => [r.requestId, r.kind, r.status, r.records]),
      [[report.requestId, 'export', 'done', 11]],
    );
  } finally {
    await logs.close();
    await dropSchema(spec);
  }
});

test('postgres: an erasure destroys the key rows, keeps the records anonymous and the chain intact', async () => {
  const spec = newSpec();
  const key = randomBytes(32);
  const logs = await open(spec, key);
  let pseudonym: string;
  try {
    const dave = { id: DAVE.id, type: 'user', email: DAVE.email, ip: DAVE.ip };
    for (let i = 0; i < 20; i++) {
      logs.app.info({ event: 'project.generate', actor: dave }, `mailed to ${DAVE.email}`);
      logs.api.info({ event: 'api.request', actor: { id: DAVE.id, ip: DAVE.ip } }, `call ${i}`);
    }
    await logs.flush();
    const before = await exportSubject({
      logs,
      masterKey: key,
      ids: [DAVE.id],
      requestedBy: 'dpo-1',
    });
    assert.equal(before.records, 40);
    pseudonym = logs.keys.pseudonymOf(DAVE.id) ?? '';
    assert.match(pseudonym, /^sub_/);
    const stored = await rowsOf(spec, [pseudonym]);

    const report = await eraseSubject({
      logs,
      ids: [DAVE.id],
      reason: 'Art. 17 request',
      requestedBy: 'dpo-1',
    });
    assert.equal(report.status, 'done');
    assert.equal(report.now.keys, 1);
    assert.deepEqual(report.now.exports, [before.requestId], 'his earlier bundle is deleted');
    assert.ok(report.recorded !== undefined && report.receiptError !== undefined);

    assert.equal(await keyRows(spec, [pseudonym]), 0, 'no key row');
    const erased = await sql(spec.schema, 'SELECT pseudonym FROM dl_erased');
    assert.deepEqual(erased.rows, [{ pseudonym }]);
    assert.equal(await rowsOf(spec, [pseudonym]), stored + 1, 'the records stay (and the request)');
    const lines = await sql(spec.schema, 'SELECT line FROM dl_records');
    for (const value of [DAVE.email, DAVE.ip, DAVE.id])
      assert.equal(JSON.stringify(lines.rows).includes(value), false, `${value} is stored nowhere`);

    // The request, recorded before the key went: status done, naming the pseudonym.
    const rec = await sql(
      spec.schema,
      "SELECT seq, line FROM dl_records WHERE channel = 'audit' AND event = 'gdpr.erasure'",
    );
    const erasure = JSON.parse((rec.rows[0] as { line: string }).line) as {
      seq: number;
      data: { status: string; pseudonyms: string[] };
    };
    assert.equal(erasure.seq, report.recorded.seq);
    assert.deepEqual(erasure.data.pseudonyms, [pseudonym]);
    assert.equal(erasure.data.status, 'done');

    assert.equal(logs.keys.subjectLookup().keyOf(pseudonym), undefined, 'forgotten in memory');
    const after = await exportSubject({ logs, masterKey: key, ids: [DAVE.id], requestedBy: 'x' });
    assert.equal(after.records, 0);
    assert.equal(after.unknownIds, 1);
  } finally {
    await logs.close();
  }
  const verified = await verifyDatabase({ url: spec.url, schema: spec.schema });
  assert.equal(verified.ok, true, JSON.stringify(verified.damage));
  // A new open has no key for him either. (The export after the erasure named him as its
  // subject: a new person, with a new pseudonym, as any event about him from now on.)
  const again = await open(spec, key);
  try {
    assert.equal(again.keys.subjectLookup().keyOf(pseudonym), undefined);
    assert.notEqual(again.keys.pseudonymOf(DAVE.id), pseudonym);
  } finally {
    await again.close();
    await dropSchema(spec);
  }
});

test('postgres: a retention duty schedules the erasure; erase --due carries it out', async () => {
  const spec = newSpec();
  const key = randomBytes(32);
  const logs = await open(spec, key);
  try {
    await logs.audit({ event: 'auth.login.success', actor: ALICE.id, msg: ALICE.email });
    const report = await eraseSubject({
      logs,
      ids: [ALICE.id],
      reason: 'Art. 17',
      requestedBy: 'dpo-1',
    });
    assert.equal(report.status, 'scheduled');
    assert.equal(report.duties[0]?.channel, 'audit');
    const pseudonym = logs.keys.pseudonymOf(ALICE.id) ?? '';
    assert.equal(await keyRows(spec, [pseudonym]), 1, 'kept while the duty lasts');
    assert.deepEqual(await eraseDue(logs, Date.now()), []);
    const due = Date.parse(report.dueAt ?? '') + 1;
    assert.deepEqual(await eraseDue(logs, due), [report.requestId]);
    assert.equal(await keyRows(spec, [pseudonym]), 0);
    const register = await listRequestsFromStore(logs.people!, logs.keys.channelKeyring());
    assert.equal(register.find((r) => r.requestId === report.requestId)?.status, 'done');
  } finally {
    await logs.close();
    await dropSchema(spec);
  }
});

test('postgres: a person two instances each saw first (two pseudonyms) is exported and erased whole', async () => {
  const spec = newSpec();
  const key = randomBytes(32);
  // Both open before either has written about Frank: each makes him a pseudonym of its own.
  const a = await open(spec, key, `${spec.dir}-a`);
  const b = await open(spec, key, `${spec.dir}-b`);
  try {
    for (let i = 0; i < 3; i++) {
      a.app.info({ event: 'project.generate', actor: { id: FRANK.id } }, `a ${FRANK.email}`);
      b.api.info({ event: 'api.request', actor: { id: FRANK.id } }, `b ${FRANK.email}`);
    }
    await a.flush();
    await b.flush();
    const pa = a.keys.pseudonymOf(FRANK.id);
    const pb = b.keys.pseudonymOf(FRANK.id);
    assert.ok(pa !== undefined && pb !== undefined && pa !== pb, 'two pseudonyms');
    assert.equal(await keyRows(spec, [pa, pb]), 2);

    const exported = await exportSubject({
      logs: a,
      masterKey: key,
      ids: [FRANK.id],
      requestedBy: 'x',
    });
    assert.deepEqual(exported.perChannel, { app: 3, api: 3 });
    const text = bundle(a, exported, 'records.json');
    assert.equal(text.split(FRANK.email).length - 1, 6, 'every record decrypted');

    const report = await eraseSubject({
      logs: a,
      ids: [FRANK.id],
      reason: 'Art. 17',
      requestedBy: 'x',
    });
    assert.equal(report.status, 'done');
    assert.equal(report.now.keys, 2);
    assert.equal(await keyRows(spec, [pa, pb]), 0);
    assert.equal(await rowsOf(spec, [pa, pb]), 6 + 2, 'his records (and the requests) stay');
    // The other instance hears of it (NOTIFY) and forgets his key.
    for (let i = 0; i < 100 && b.keys.subjectLookup().keyOf(pb) !== undefined; i++) await sleep(50);
    assert.equal(b.keys.subjectLookup().keyOf(pb), undefined, 'instance b forgot him');
    assert.equal(b.keys.pseudonymOf(FRANK.id), undefined);

    // A new event about him is a new person: only it is his now.
    b.app.info({ event: 'project.generate', actor: { id: FRANK.id } }, FRANK.email);
    await b.flush();
    const pc = b.keys.pseudonymOf(FRANK.id);
    assert.ok(pc !== undefined && pc !== pa && pc !== pb);
    const later = await exportSubject({
      logs: a,
      masterKey: key,
      ids: [FRANK.id],
      requestedBy: 'x',
    });
    assert.equal(later.records, 1);
  } finally {
    await a.close();
    await b.close();
  }
  const verified = await verifyDatabase({ url: spec.url, schema: spec.schema });
  assert.equal(verified.ok, true, JSON.stringify(verified.damage));
  await dropSchema(spec);
});

test('postgres: dihya-logs export and erase work on the database, with the same output', async () => {
  const { cwd, env, spec } = cliOnPostgres();
  const events = Array.from({ length: 4 }, (_, i) =>
    JSON.stringify({ channel: 'app', event: 'user.seen', actor: { id: 'gina-7' }, msg: `n ${i}` }),
  ).join('\n');
  const w = cli(cwd, ['write', '--stdin'], env, `${events}\n`);
  assert.equal(w.code, 0, w.stderr);

  const ex = cli(cwd, ['export', '--subject', 'gina-7', '--json'], env);
  assert.equal(ex.code, 0, ex.stderr);
  const report = JSON.parse(ex.stdout) as ExportReport;
  assert.equal(report.records, 4);
  const text = cli(cwd, ['export', '--subject', 'gina-7'], env);
  assert.equal(text.code, 0, text.stderr);
  // Her records, and the first export's own request (hers too).
  assert.match(text.stdout, /^export exp-\d{8}-[\da-f]{16}: 5 record\(s\) in export\//);

  const dry = cli(cwd, ['erase', '--subject', 'gina-7', '--dry-run'], env);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /\(dry run, nothing changed\): done/);
  const er = cli(cwd, ['erase', '--subject', 'gina-7', '--reason', 'Art. 17', '--json'], env);
  assert.equal(er.code, 0, er.stderr);
  const erased = JSON.parse(er.stdout) as {
    status: string;
    now: { keys: number; exports: string[] };
  };
  assert.equal(erased.status, 'done');
  assert.equal(erased.now.keys, 1);
  assert.equal(erased.now.exports.length, 2, 'both bundles deleted');

  const none = cli(cwd, ['erase', '--subject', 'gina-7', '--reason', 'again'], env);
  assert.equal(none.code, 0, none.stderr);
  assert.match(none.stdout, /nobody to erase/);
  const after = cli(cwd, ['export', '--subject', 'gina-7', '--json'], env);
  assert.equal(after.code, 0, after.stderr);
  assert.equal((JSON.parse(after.stdout) as ExportReport).records, 0);
  const verify = cli(cwd, ['verify', '--json'], { DIHYA_LOGS_DATABASE_URL: spec.url });
  assert.equal(verify.code, 0, verify.stdout);
  await dropSchema(spec);
});

/** The `-- roles` SQL block of docs/postgres.md, for this schema and role. */
function rolesSql(schema: string, role: string): string {
  const doc = readFileSync(path.join(REPO_ROOT, 'docs', 'postgres.md'), 'utf8');
  const sqlBlock = /```sql\n(-- roles:[\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(sqlBlock !== undefined, 'docs/postgres.md has the roles SQL block');
  return sqlBlock.replaceAll('dihya_logs', schema).replaceAll('dl_service', role);
}

test('postgres: the service role of docs/postgres.md erases; VACUUM it may not run is reported', async () => {
  const spec = newSpec();
  const key = randomBytes(32);
  const role = `dl_svc_${randomBytes(4).toString('hex')}`;
  await (await open(spec, key)).close(); // the owner's first start makes the schema
  await sql('public', rolesSql(spec.schema, role));
  const url = new URL(spec.url);
  url.username = role;
  const errors: string[] = [];
  const logs = await openLogCore({
    dir: spec.dir,
    masterKey: key,
    handleExit: false,
    onError: (err) => errors.push(err.message),
    settings: {
      store: { kind: 'postgres', url: url.toString(), schema: spec.schema, pool_size: 4 },
      index: { live: false },
    },
  });
  try {
    logs.app.info({ event: 'project.generate', actor: { id: FRANK.id } }, FRANK.email);
    await logs.flush();
    const pseudonym = logs.keys.pseudonymOf(FRANK.id) ?? '';
    const report = await eraseSubject({ logs, ids: [FRANK.id], reason: 'x', requestedBy: 'y' });
    assert.equal(report.status, 'done');
    assert.equal(await keyRows(spec, [pseudonym]), 0);
    assert.ok(
      errors.some((m) => /VACUUM dl_subjects did not run .*owner/.test(m)),
      JSON.stringify(errors),
    );
  } finally {
    await logs.close();
    await dropSchema(spec);
    await sql('public', `DROP OWNED BY ${role}; DROP ROLE IF EXISTS ${role}`).catch(
      () => undefined,
    );
  }
});

const ERASED_PER_LOG = 9;
const REAL_RECORDS = 10_000;

interface TimedLog {
  readonly spec: Spec;
  readonly logs: LogCore;
  readonly loadMs: number;
}

/**
 * A log of 10,000 real records (the people to erase: 10 records each, in app and api; 500
 * others share the rest), with `filler` more rows copied from a real one by SQL in a channel of
 * their own (fast to load; each names a pseudonym of its own, so the `people` index holds them
 * all; no `msg` column, which only the text search reads; they do not chain, and nothing here
 * verifies them).
 */
async function timedLog(filler: number): Promise<TimedLog> {
  const spec = newSpec();
  const logs = await open(spec, randomBytes(32));
  const events = Array.from({ length: REAL_RECORDS }, (_, i) => {
    const who = i < ERASED_PER_LOG * 10 ? `target-${i % ERASED_PER_LOG}` : `user-${i % 500}`;
    return {
      channel: i % 2 === 0 ? 'app' : 'api',
      level: 'INFO',
      event: 'project.generate',
      actor: { id: who, email: `${who}@example.org` },
      msg: `project ${i} mailed to ${who}@example.org`,
    };
  });
  for (let i = 0; i < events.length; i += 1000) await logs.writeAll(events.slice(i, i + 1000));
  await logs.flush();
  const start = performance.now();
  if (filler > 0)
    await sql(
      spec.schema,
      `INSERT INTO dl_records
         (channel, seq, ts, level, event, actor, sub, request_id, outcome, msg, people, line, hash)
       SELECT 'filler', g, r.ts, r.level, r.event, r.actor, r.sub, r.request_id, r.outcome,
              NULL, ARRAY['sub_' || lpad(to_hex(g), 24, '0')], r.line, r.hash
         FROM (SELECT * FROM dl_records WHERE channel = 'app' ORDER BY seq LIMIT 1) r,
              generate_series(1, $1::int) g`,
      [filler],
    );
  // Both logs measured with fresh statistics, as autovacuum keeps them.
  await sql(spec.schema, 'ANALYZE dl_records');
  const loadMs = performance.now() - start;
  const total = await sql(spec.schema, 'SELECT count(*)::int AS n FROM dl_records');
  assert.ok((total.rows[0] as { n: number }).n >= REAL_RECORDS + filler);
  return { spec, logs, loadMs };
}

/**
 * One erasure's time (ms), end to end: flush, lookup, duties, register, the durable
 * `gdpr.erasure` record, the delete, VACUUM dl_subjects.
 */
async function timedErasure(log: TimedLog, who: string): Promise<number> {
  const t0 = performance.now();
  const r = await eraseSubject({ logs: log.logs, ids: [who], reason: 'timing', requestedBy: 't' });
  const ms = performance.now() - t0;
  assert.equal(r.status, 'done');
  assert.equal(r.now.keys, 1);
  return ms;
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

test('postgres: erasure time is flat from 10k to 1M records (medians within 2x)', async (t) => {
  const small = await timedLog(0);
  const large = await timedLog(1_000_000 - REAL_RECORDS);
  const times = { small: [] as number[], large: [] as number[] };
  try {
    // Turn about, so that both logs see the same machine (other work, autovacuum, checkpoints).
    for (let i = 0; i < ERASED_PER_LOG; i++) {
      times.small.push(await timedErasure(small, `target-${i}`));
      times.large.push(await timedErasure(large, `target-${i}`));
    }
  } finally {
    for (const log of [small, large]) {
      await log.logs.close();
      await dropSchema(log.spec);
    }
  }
  const [a, b] = [median(times.small), median(times.large)];
  const ms = (xs: readonly number[]): string => xs.map((x) => x.toFixed(1)).join(' ');
  t.diagnostic(`10k records: median ${a.toFixed(1)} ms (${ms(times.small)})`);
  t.diagnostic(
    `1M records: median ${b.toFixed(1)} ms (${ms(times.large)}); 990k rows loaded by SQL in ${(large.loadMs / 1000).toFixed(1)} s`,
  );
  assert.ok(b <= 2 * a, `1M: ${b.toFixed(1)} ms, 10k: ${a.toFixed(1)} ms`);
});

test('postgres: after an erasure answered by one instance, another never reveals the person once settled (its listener cut or not)', async () => {
  const spec = newSpec();
  const key = randomBytes(32);
  const a = await open(spec, key, `${spec.dir}-a`);
  const b = await open(spec, key, `${spec.dir}-b`);
  try {
    for (const person of [ALICE, FRANK]) {
      b.app.info({ event: 'project.generate', actor: { id: person.id } }, person.email);
      await b.flush();
    }
    const pAlice = b.keys.pseudonymOf(ALICE.id) ?? '';
    const pFrank = b.keys.pseudonymOf(FRANK.id) ?? '';
    assert.ok(b.keys.subjectLookup().keyOf(pAlice) !== undefined);

    // Listening: the barrier's own notice comes back after the erasure's.
    await eraseSubject({ logs: a, ids: [ALICE.id], reason: 'Art. 17', requestedBy: 'x' });
    await b.people?.settled();
    assert.equal(b.keys.subjectLookup().keyOf(pAlice), undefined, 'b forgot Alice at once');

    // Its listening connection cut (it reconnects a second later): settled reads dl_erased.
    await sql(
      'public',
      "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'dihya-logs erasures'",
    );
    await eraseSubject({ logs: a, ids: [FRANK.id], reason: 'Art. 17', requestedBy: 'x' });
    await b.people?.settled();
    assert.equal(b.keys.subjectLookup().keyOf(pFrank), undefined, 'b forgot Frank at once');
  } finally {
    await a.close();
    await b.close();
  }
  await dropSchema(spec);
});
