/**
 * The service's tokens on the PostgreSQL store (`dl_tokens`): a token made through one
 * instance checks on another, a revocation through one is refused by the other at once, only
 * the secret's digest is stored; and `dihya-logs token` on a PostgreSQL configuration works
 * beside a running instance, writing its audit events into the database. No server: the
 * tests fail, they do not skip.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import type { TokenBook, TokenInfo } from '../../src/access/tokens.js';
import type { Store } from '../../src/store/store.js';
import { CLI, type CliResult } from '../cli/run.js';
import { cliOnPostgres, newSpec, postgresFixture, sql } from '../store/postgres-backend.js';

const execFileAsync = promisify(execFile);

/**
 * Run `dihya-logs args...` without blocking this process: the "running service" of these
 * tests is a store open in this process, and its checkpoint rounds must go on (a round frozen
 * mid-transaction would hold the lock the command's own round waits for).
 */
async function cli(cwd: string, args: string[], env: Record<string, string>): Promise<CliResult> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, [CLI, ...args], {
      cwd,
      env: { PATH: process.env.PATH ?? '', ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (e) {
    const {
      code,
      stdout = '',
      stderr = '',
    } = e as {
      code?: unknown;
      stdout?: string;
      stderr?: string;
    };
    return { code: typeof code === 'number' ? code : null, stdout, stderr };
  }
}

function tokensOf(store: Store): TokenBook {
  assert.ok(store.tokens !== undefined, 'the PostgreSQL store keeps the tokens');
  return store.tokens;
}

/** The token with another secret of the right form. */
function otherSecret(token: string): string {
  const secret = token.slice(-43);
  const other = randomBytes(32).toString('base64url');
  assert.notEqual(other, secret);
  return `${token.slice(0, -43)}${other}`;
}

test('postgres: a token made on one instance checks on another; revoked on one, refused by the other at once', async () => {
  const spec = newSpec();
  const fixture = postgresFixture(spec, randomBytes(32));
  try {
    const a = tokensOf(await fixture.open());
    const b = tokensOf(await fixture.open());

    const made = await a.create('auditor', '  grafana  ', new Date(Date.now() + 3_600_000));
    assert.match(made.token, /^dl_[0-9a-f]{12}_[\w-]{43}$/);
    assert.equal(made.info.name, 'grafana');
    assert.equal(made.info.role, 'auditor');
    const seen = await b.check(made.token);
    assert.ok(seen !== undefined);
    assert.deepEqual(seen, made.info);
    const used = await a.get(made.info.id);
    assert.ok(used?.lastUsed !== undefined, 'the use is recorded');
    assert.deepEqual({ ...used, lastUsed: undefined }, made.info);
    assert.equal(await b.activeCount('auditor'), 1);
    assert.equal(await b.activeCount('admin'), 0);

    // Refused, with no hint of why: another secret, a malformed text, an unknown id.
    assert.equal(await b.check(otherSecret(made.token)), undefined);
    for (const bad of [
      '',
      'dl_',
      made.token.slice(0, -1),
      `${made.token}x`,
      made.token.toUpperCase(),
      made.token.slice(15),
      `dl_${'0'.repeat(12)}_${made.token.slice(-43)}`,
      `Bearer ${made.token}`,
    ])
      assert.equal(await b.check(bad), undefined, bad);

    assert.equal(await a.revoke(made.info.id), true);
    assert.equal(await b.check(made.token), undefined, 'revoked on A: refused on B at once');
    const revoked = await b.get(made.info.id);
    assert.ok(revoked?.revoked !== undefined);
    // A second revocation keeps the first time; an unknown id is said to be unknown.
    assert.equal(await b.revoke(made.info.id, new Date(Date.now() + 5000)), true);
    assert.equal((await a.get(made.info.id))?.revoked, revoked.revoked);
    assert.equal(await a.revoke('0123456789ab'), false);
    assert.equal(await a.activeCount(), 0);
    assert.deepEqual(fixture.errors, []);
  } finally {
    await fixture.dispose();
  }
});

test('postgres: tokens expire, list in creation order, count only what can be used, and refuse a bad role or name', async () => {
  const spec = newSpec();
  const fixture = postgresFixture(spec, randomBytes(32));
  try {
    const a = tokensOf(await fixture.open());
    const b = tokensOf(await fixture.open());
    const t0 = Date.parse('2030-01-01T00:00:00.000Z');
    const later = await a.create('admin', 'second', undefined, new Date(t0 + 1000));
    const first = await b.create('ingest', 'first', new Date(t0 + 60_000), new Date(t0));
    const names = (list: TokenInfo[]): string[] => list.map((t) => t.name);
    assert.deepEqual(names(await a.list()), ['first', 'second']);
    assert.deepEqual(await b.list(), await a.list());

    assert.equal((await a.check(first.token, t0 + 59_999))?.id, first.info.id);
    assert.equal(await a.check(first.token, t0 + 60_000), undefined, 'expired at its time');
    assert.equal(await b.check(first.token, t0 + 3_600_000), undefined);
    assert.equal((await b.check(later.token, t0 + 3_600_000))?.role, 'admin');
    // Expired in the past (not 2030): no longer active.
    const gone = await a.create('ingest', 'short', new Date(Date.now() - 1));
    assert.equal(await b.check(gone.token), undefined);
    assert.equal(await a.activeCount('ingest'), 1, 'first (2030) counts, short does not');
    assert.equal(await a.activeCount(), 2);

    await assert.rejects(
      Promise.resolve().then(() => a.create('root' as never, 'x')),
      (e: { code?: string }) => e.code === 'USAGE',
    );
    for (const name of ['', '   ', 'a'.repeat(101), 'semi;colon', 'new\nline'])
      await assert.rejects(
        Promise.resolve().then(() => a.create('ingest', name)),
        (e: { code?: string }) => e.code === 'USAGE',
        JSON.stringify(name),
      );
    assert.equal((await a.list()).length, 3, 'nothing stored for a refused token');
  } finally {
    await fixture.dispose();
  }
});

test('postgres: last_used is written at most once a minute per token', async () => {
  const spec = newSpec();
  const fixture = postgresFixture(spec, randomBytes(32));
  try {
    const a = tokensOf(await fixture.open());
    const made = await a.create('auditor', 'probe');
    const t = Date.now();
    const lastUsed = async (): Promise<string | undefined> => (await a.get(made.info.id))?.lastUsed;
    await a.check(made.token, t);
    assert.equal(await lastUsed(), new Date(t).toISOString());
    await a.check(made.token, t + 30_000);
    assert.equal(await lastUsed(), new Date(t).toISOString(), 'within the minute: not written');
    await a.check(made.token, t + 61_000);
    assert.equal(await lastUsed(), new Date(t + 61_000).toISOString());
  } finally {
    await fixture.dispose();
  }
});

test('postgres: dl_tokens keeps the digest of the secret, never the secret', async () => {
  const spec = newSpec();
  const fixture = postgresFixture(spec, randomBytes(32));
  try {
    const a = tokensOf(await fixture.open());
    const made = await Promise.all(
      Array.from({ length: 5 }, async (_, i) => a.create('dpo', `person ${i}`)),
    );
    const { rows } = await sql(
      spec.schema,
      'SELECT id, hash, row_to_json(t)::text AS text FROM dl_tokens t',
    );
    assert.equal(rows.length, made.length);
    for (const m of made) {
      const secret = m.token.slice(-43);
      const row = (rows as Array<{ id: string; hash: Buffer; text: string }>).find(
        (r) => r.id === m.info.id,
      );
      assert.ok(row !== undefined);
      assert.equal(row.hash.length, 32);
      const forms = [secret, Buffer.from(secret, 'base64url').toString('hex'), m.token];
      for (const f of forms) assert.equal(row.text.includes(f), false, 'the row holds no secret');
      assert.equal(row.hash.includes(Buffer.from(secret)), false);
      assert.equal(row.hash.equals(Buffer.from(secret, 'base64url')), false);
      assert.equal(row.hash.includes(Buffer.from(secret, 'base64url').subarray(0, 8)), false);
    }
  } finally {
    await fixture.dispose();
  }
});

test('postgres: dihya-logs token create, list, rotate and revoke work on the database beside a running instance, audited there', async () => {
  const { cwd, env, spec } = cliOnPostgres();
  const key = Buffer.from(env.DIHYA_LOGS_MASTER_KEY ?? '', 'base64');
  const fixture = postgresFixture(spec, key);
  try {
    // The "service": an instance holding the store open all along.
    const running = tokensOf(await fixture.open());

    const created = await cli(cwd, ['token', 'create', '--role', 'auditor', '--name', 'ci'], env);
    assert.equal(created.code, 0, created.stderr);
    const token = created.stdout.trim();
    assert.match(token, /^dl_[0-9a-f]{12}_[\w-]{43}$/);
    const info = await running.check(token);
    assert.ok(info !== undefined);
    assert.equal(info.role, 'auditor');
    assert.equal(info.name, 'ci');

    const listed = await cli(cwd, ['token', 'list', '--json'], env);
    assert.equal(listed.code, 0, listed.stderr);
    assert.deepEqual(
      (JSON.parse(listed.stdout) as TokenInfo[]).map((t) => t.id),
      [info.id],
    );
    assert.equal(listed.stdout.includes(token.slice(-43)), false, 'list shows no secret');

    const rotated = await cli(cwd, ['token', 'rotate', info.id, '--json'], env);
    assert.equal(rotated.code, 0, rotated.stderr);
    const next = JSON.parse(rotated.stdout) as { token: string; id: string; replaces: string };
    assert.equal(next.replaces, info.id);
    assert.equal(await running.check(token), undefined, 'the rotated token stops at once');
    assert.equal((await running.check(next.token))?.id, next.id);

    const revoked = await cli(cwd, ['token', 'revoke', next.id], env);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal(await running.check(next.token), undefined, 'revoked: refused at once');
    const again = await cli(cwd, ['token', 'revoke', next.id], env);
    assert.equal(again.code, 2);
    assert.match(again.stderr, /TOKEN_ALREADY_REVOKED/);
    const unknown = await cli(cwd, ['token', 'revoke', '0123456789ab'], env);
    assert.equal(unknown.code, 2);
    assert.match(unknown.stderr, /NOT_FOUND/);

    // The audit trail is the database's: what the file store writes, in dl_records.
    const { rows } = await sql(
      spec.schema,
      `SELECT event, line FROM dl_records WHERE channel = 'audit' AND event LIKE 'token.%'
         ORDER BY seq`,
    );
    const events = (rows as Array<{ event: string; line: string }>).map((r) => {
      const data = (JSON.parse(r.line) as { data?: { token_id?: string; replaces?: string } }).data;
      return `${r.event} ${data?.token_id ?? ''}${data?.replaces === undefined ? '' : ` replaces ${data.replaces}`}`;
    });
    assert.deepEqual(events, [
      `token.created ${info.id}`,
      `token.created ${next.id} replaces ${info.id}`,
      `token.revoked ${info.id}`,
      `token.revoked ${next.id}`,
    ]);
    for (const r of rows as Array<{ line: string }>)
      assert.equal(r.line.includes(token.slice(-43)), false, 'no secret in the audit trail');
    assert.deepEqual(fixture.errors, []);
  } finally {
    await fixture.dispose();
  }
});

test('postgres: revoking from the command line a token the service already revoked changes nothing and records nothing', async () => {
  const { cwd, env, spec } = cliOnPostgres();
  const key = Buffer.from(env.DIHYA_LOGS_MASTER_KEY ?? '', 'base64');
  const fixture = postgresFixture(spec, key);
  try {
    const running = tokensOf(await fixture.open());
    const made = await running.create('ingest', 'shipper');
    assert.equal(await running.revoke(made.info.id), true);
    const r = await cli(cwd, ['token', 'revoke', made.info.id], env);
    assert.equal(r.code, 2);
    assert.match(r.stderr, /TOKEN_ALREADY_REVOKED/);
    const { rows } = await sql(
      spec.schema,
      `SELECT count(*)::int AS n FROM dl_records WHERE event = 'token.revoked'`,
    );
    assert.equal((rows[0] as { n: number }).n, 0);
  } finally {
    await fixture.dispose();
  }
});

test('postgres: instances starting together make one first admin token between them', async () => {
  const spec = newSpec();
  const fixture = postgresFixture(spec, randomBytes(32));
  try {
    const books = [
      tokensOf(await fixture.open()),
      tokensOf(await fixture.open()),
      tokensOf(await fixture.open()),
    ];
    const made = await Promise.all(
      books.flatMap((b) => [b, b].map(async (x) => x.createFirst('admin', 'first admin'))),
    );
    assert.equal(made.filter((m) => m !== undefined).length, 1, 'one token made, shown once');
    assert.equal(await books[0]?.activeCount('admin'), 1);
    // Revoked (or expired): the next start makes another.
    const first = made.find((m) => m !== undefined);
    assert.ok(first !== undefined);
    await books[1]?.revoke(first.info.id);
    assert.notEqual(await books[2]?.createFirst('admin', 'first admin'), undefined);
  } finally {
    await fixture.dispose();
  }
});
