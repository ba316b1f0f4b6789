import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';

import { TokenStore } from '../../src/access/tokens.js';
import { cli, type CliResult, initialized } from './run.js';

// `dihya-logs token rotate ID` (issue 19): one command to replace a token.

const DAY = 86_400_000;

interface Made {
  token: string;
  id: string;
  role: string;
  name: string;
  created: string;
  expires?: string;
  replaces?: string;
}
interface Listed {
  id: string;
  role: string;
  name: string;
  expires?: string;
  revoked?: string;
}
interface AuditRecord {
  actor?: unknown;
  data?: { token_id?: string; replaces?: string };
}

function ok(r: CliResult): string {
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return r.stdout;
}

function events(cwd: string, env: Record<string, string>, event: string): AuditRecord[] {
  const out = ok(cli(cwd, ['query', '--event', event, '--format', 'json', '--no-progress'], env));
  return (JSON.parse(out) as { records: AuditRecord[] }).records;
}

function listed(cwd: string, env: Record<string, string>): Listed[] {
  return JSON.parse(ok(cli(cwd, ['token', 'list', '--json'], env))) as Listed[];
}

/** Whether the token store accepts a bearer text now. */
function works(cwd: string, token: string): boolean {
  const store = TokenStore.open(path.join(cwd, 'logs', '.keys'));
  try {
    return store.check(token) !== undefined;
  } finally {
    store.close();
  }
}

test('token rotate: a new working token of the same role and name, the old one revoked, one event each', () => {
  const { cwd, env } = initialized(true);
  const old = JSON.parse(
    ok(
      cli(
        cwd,
        ['token', 'create', '--role', 'auditor', '--name', 'grafana', '--expires', '10d', '--json'],
        env,
      ),
    ),
  ) as Made;
  const r = cli(cwd, ['token', 'rotate', old.id], env);
  assert.equal(r.code, 0, r.stderr);
  const token = r.stdout.trim();
  assert.match(token, /^dl_[\da-f]{12}_[\w-]{43}$/);
  const id = token.slice(3, 15);
  assert.notEqual(id, old.id);
  assert.match(r.stderr, new RegExp(`token ${id} \\(auditor, grafana\\) created, expires \\d{4}-`));
  assert.match(r.stderr, new RegExp(`token ${old.id} revoked`));

  assert.ok(works(cwd, token), 'the new token works');
  assert.ok(!works(cwd, old.token), 'the old one does not');
  const list = listed(cwd, env);
  const fresh = list.find((t) => t.id === id);
  const before = list.find((t) => t.id === old.id);
  assert.ok(fresh !== undefined && before !== undefined, JSON.stringify(list));
  assert.equal(fresh.role, 'auditor');
  assert.equal(fresh.name, 'grafana');
  assert.equal(fresh.revoked, undefined);
  assert.ok(before.revoked !== undefined, 'the old token is listed revoked');
  // The successor lives as long as the token it replaces (10 days).
  const life = Date.parse(fresh.expires ?? '') - Date.now();
  assert.ok(Math.abs(life - 10 * DAY) < 5 * 60_000, `expires ${fresh.expires ?? '?'}`);

  const created = events(cwd, env, 'token.created').filter((e) => e.data?.token_id === id);
  assert.equal(created.length, 1, 'one token.created for the new token');
  const [made] = created;
  assert.ok(made !== undefined);
  assert.deepEqual(made.actor, { id: 'cli' });
  assert.equal(made.data?.replaces, old.id);
  const revoked = events(cwd, env, 'token.revoked');
  assert.equal(revoked.length, 1, 'one token.revoked');
  const [gone] = revoked;
  assert.ok(gone !== undefined);
  assert.equal(gone.data?.token_id, old.id);
  assert.deepEqual(gone.actor, { id: 'cli' });
  assert.ok(!JSON.stringify(events(cwd, env, 'token.*')).includes(token.slice(16)), 'no secret');
});

test('token rotate: a token without expiry gets the default 30 days; --expires chooses; --json', () => {
  const { cwd, env } = initialized(true);
  const old = JSON.parse(
    ok(cli(cwd, ['token', 'create', '--role', 'admin', '--name', 'ops', '--json'], env)),
  ) as Made;
  const rotated = JSON.parse(ok(cli(cwd, ['token', 'rotate', old.id, '--json'], env))) as Made;
  assert.equal(rotated.role, 'admin');
  assert.equal(rotated.name, 'ops');
  assert.equal(rotated.replaces, old.id);
  assert.ok(works(cwd, rotated.token));
  const life = Date.parse(rotated.expires ?? '') - Date.now();
  assert.ok(Math.abs(life - 30 * DAY) < 5 * 60_000, `expires ${rotated.expires ?? '?'}`);

  const again = JSON.parse(
    ok(cli(cwd, ['token', 'rotate', rotated.id, '--expires', '12h', '--json'], env)),
  ) as Made;
  const shorter = Date.parse(again.expires ?? '') - Date.now();
  assert.ok(Math.abs(shorter - 12 * 3_600_000) < 5 * 60_000, `expires ${again.expires ?? '?'}`);
  assert.deepEqual(
    listed(cwd, env).map((t) => [t.id, t.revoked === undefined]),
    [
      [old.id, false],
      [rotated.id, false],
      [again.id, true],
    ],
  );
});

test('token rotate refuses a revoked token, an unknown one and a malformed id, recording nothing', () => {
  const { cwd, env } = initialized(true);
  const made = JSON.parse(
    ok(cli(cwd, ['token', 'create', '--role', 'ingest', '--name', 'app', '--json'], env)),
  ) as Made;
  ok(cli(cwd, ['token', 'revoke', made.id], env));
  const count = (): number => events(cwd, env, 'token.*').length;
  const before = count();

  const revoked = cli(cwd, ['token', 'rotate', made.id], env);
  assert.equal(revoked.code, 2);
  assert.equal(revoked.stdout, '');
  assert.match(
    revoked.stderr,
    /^dihya-logs: TOKEN_ALREADY_REVOKED: token [0-9a-f]{12} was already revoked at \d{4}-/,
  );
  const unknown = cli(cwd, ['token', 'rotate', '0123456789ab'], env);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stdout, '');
  assert.match(unknown.stderr, /NOT_FOUND: no token with that id/);
  const bad = cli(cwd, ['token', 'rotate', 'nope'], env);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /USAGE: id: expected 12 hex digits/);

  assert.equal(count(), before, 'no event recorded');
  assert.equal(listed(cwd, env).length, 1, 'no token made');
});
