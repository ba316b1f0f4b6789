/**
 * The CLI on the PostgreSQL store: `write` appends through the database, `verify` reads it back
 * without the master key and names the first bad row when someone with write access to the
 * database (but no key) changed it: an UPDATE of a message, a DELETE, two seqs swapped, a
 * month's partition dropped without a tombstone. Commands that would answer from a directory
 * that is not the log are refused with STORE_UNSUPPORTED.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cli } from '../cli/run.js';
import { cliOnPostgres, sql } from '../store/postgres-backend.js';

interface Setup {
  readonly cwd: string;
  readonly env: Record<string, string>;
  readonly schema: string;
}

function setup(): Setup {
  const { cwd, env, spec } = cliOnPostgres();
  return { cwd, env, schema: spec.schema };
}

function writeSome(s: Setup, n: number): void {
  const events = Array.from({ length: n }, (_, i) =>
    JSON.stringify({ channel: 'audit', event: 'test.cli', msg: `event number ${i + 1}` }),
  ).join('\n');
  const r = cli(s.cwd, ['write', '--stdin'], s.env, `${events}\n`);
  assert.equal(r.code, 0, r.stderr);
}

function verify(s: Setup): {
  status: number | null;
  report: {
    ok: boolean;
    damage: Array<{ channel?: string; seq?: number; kind: string; file?: string }>;
  };
} {
  const r = cli(s.cwd, ['verify', '--json'], {
    DIHYA_LOGS_DATABASE_URL: s.env.DIHYA_LOGS_DATABASE_URL ?? '',
  });
  return { status: r.code, report: JSON.parse(r.stdout) as never };
}

const TAMPERS: Array<{ name: string; sql: string; seq: number; kinds: string[] }> = [
  {
    name: 'an UPDATE of a message',
    sql: `UPDATE dl_records SET line = replace(line, 'event number 4', 'event number X') WHERE channel = 'audit' AND seq = 4`,
    seq: 4,
    kinds: ['record_altered'],
  },
  {
    name: 'a DELETE of a row',
    sql: `DELETE FROM dl_records WHERE channel = 'audit' AND seq = 5`,
    seq: 5,
    kinds: ['records_missing'],
  },
  {
    name: 'two seqs swapped',
    sql: `UPDATE dl_records SET seq = -seq WHERE channel = 'audit' AND seq IN (3, 6);
          UPDATE dl_records SET seq = CASE seq WHEN -3 THEN 6 ELSE 3 END WHERE channel = 'audit' AND seq < 0`,
    seq: 3,
    kinds: ['record_altered', 'records_missing', 'records_out_of_order'],
  },
];

for (const t of TAMPERS) {
  test(`postgres: verify exits 1 and names the row after ${t.name}`, async () => {
    const s = setup();
    writeSome(s, 8);
    const clean = verify(s);
    assert.equal(clean.status, 0, JSON.stringify(clean.report.damage));
    await sql(s.schema, t.sql);
    const after = verify(s);
    assert.equal(after.status, 1);
    const d = after.report.damage.find((x) => x.channel === 'audit');
    assert.ok(d !== undefined && t.kinds.includes(d.kind), JSON.stringify(after.report.damage));
    assert.equal(d.seq, t.seq, JSON.stringify(d));
    assert.equal(d.file, 'dl_records');
    await sql('public', `DROP SCHEMA ${s.schema} CASCADE`);
  });
}

test('postgres: verify exits 1 when a month partition is dropped without a tombstone', async () => {
  const s = setup();
  writeSome(s, 5);
  assert.equal(verify(s).status, 0);
  const parts = await sql(
    s.schema,
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'dl_records'::regclass AND c.relkind = 'r'`,
  );
  for (const r of parts.rows as Array<{ name: string }>)
    await sql(s.schema, `DROP TABLE ${r.name}`);
  const after = verify(s);
  assert.equal(after.status, 1);
  const d = after.report.damage.find((x) => x.channel === 'audit');
  assert.ok(d?.kind === 'truncated', JSON.stringify(after.report.damage));
  await sql('public', `DROP SCHEMA ${s.schema} CASCADE`);
});

test('postgres: commands that read a directory are refused with STORE_UNSUPPORTED, naming what works', () => {
  const s = setup();
  for (const args of [['query'], ['tail']]) {
    const r = cli(s.cwd, args, s.env);
    assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, /STORE_UNSUPPORTED/);
    assert.match(r.stderr, /write/);
    assert.match(r.stderr, /serve/, 'the service is how to query a database store');
  }
});
