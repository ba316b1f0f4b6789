import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { openLogs } from '../../src/log/open.js';
import { readLines, tempDir } from '../helpers.js';
import { cli, cliSpawn } from './run.js';

function initialized(): { cwd: string; key: string } {
  const cwd = tempDir();
  const key = randomBytes(32).toString('base64');
  const r = cli(cwd, ['init'], { DIHYA_LOGS_MASTER_KEY: key });
  assert.equal(r.code, 0, r.stderr);
  return { cwd, key };
}

test('write from flags prints the channel, seq and hash; the record is stored', () => {
  const { cwd, key } = initialized();
  const r = cli(
    cwd,
    [
      'write',
      '--level',
      'AUDIT',
      '--event',
      'auth.login.success',
      '--actor',
      'u-1',
      '--msg',
      'signed in',
      '--data',
      '{"method":"password"}',
    ],
    {
      DIHYA_LOGS_MASTER_KEY: key,
    },
  );
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^audit #1 [0-9a-f]{64}\n$/);
  const rec = JSON.parse(readLines(path.join(cwd, 'logs', 'audit.log'))[0]!) as Record<
    string,
    unknown
  >;
  assert.deepEqual(
    [rec.event, rec.msg, rec.data],
    ['auth.login.success', 'signed in', { method: 'password' }],
  );
  // The actor's id is personal data: stored as the person's pseudonym, the id itself encrypted.
  assert.match((rec.actor as { id: string }).id, /^sub_[0-9a-f]{24}$/);
  assert.equal(rec.sub, (rec.actor as { id: string }).id);
  assert.equal(JSON.stringify(rec).includes('u-1'), false);
});

test('a bad event is one line on stderr with its code, exit 2, nothing written; --debug adds the stack', () => {
  const { cwd, key } = initialized();
  const r = cli(cwd, ['write', '--level', 'LOUD', '--msg', 'x'], { DIHYA_LOGS_MASTER_KEY: key });
  assert.equal(r.code, 2);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /^dihya-logs: EVENT_LEVEL_UNKNOWN: unknown level "LOUD"/);
  assert.equal(readFileSync(path.join(cwd, 'logs', 'app.log'), 'utf8'), '');
  const debug = cli(cwd, ['--debug', 'write', '--level', 'LOUD'], { DIHYA_LOGS_MASTER_KEY: key });
  assert.ok(debug.stderr.includes('\n    at '), 'a stack trace with --debug');
  const badJson = cli(cwd, ['write', '--data', '{nope'], { DIHYA_LOGS_MASTER_KEY: key });
  assert.equal(badJson.code, 2);
  assert.match(badJson.stderr, /USAGE: --data: not valid JSON/);
});

test('write --stdin stores the valid lines and names the bad ones', () => {
  const { cwd, key } = initialized();
  const input = [
    '{"event":"a.b","msg":"one"}',
    '{"level":"NOPE"}',
    'not json',
    '',
    '{"channel":"audit","level":"AUDIT","event":"c.d"}',
  ].join('\n');
  const r = cli(cwd, ['write', '--stdin'], { DIHYA_LOGS_MASTER_KEY: key }, input);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /line 2: EVENT_LEVEL_UNKNOWN/);
  assert.match(r.stderr, /line 3: EVENT_INVALID: the line is not valid JSON/);
  assert.match(r.stderr, /2 written, 2 rejected/);
  assert.equal(readLines(path.join(cwd, 'logs', 'app.log')).length, 1);
  assert.equal(readLines(path.join(cwd, 'logs', 'audit.log')).length, 1);
});

test('verify: exit 0 when intact, 1 with the bad place named, 2 on a usage error', () => {
  const { cwd, key } = initialized();
  for (let i = 0; i < 3; i++) cli(cwd, ['write', '--msg', `m${i}`], { DIHYA_LOGS_MASTER_KEY: key });
  const ok = cli(cwd, ['verify']);
  assert.equal(ok.code, 0, ok.stdout + ok.stderr);
  assert.match(ok.stdout, /^INTACT: /);
  const json = JSON.parse(cli(cwd, ['verify', '--json']).stdout) as {
    ok: boolean;
    records: number;
  };
  assert.deepEqual([json.ok, json.records], [true, 3]);

  const file = path.join(cwd, 'logs', 'app.log');
  writeFileSync(file, readFileSync(file, 'utf8').replace('"msg":"m1"', '"msg":"mX"'));
  const bad = cli(cwd, ['verify']);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, /^DAMAGED: /);
  assert.match(bad.stdout, /DAMAGE record_altered at app, app\.log, line 2, seq 2/);

  assert.equal(cli(cwd, ['verify', '--public-key', 'ed25519:nope']).code, 2);
  const missing = cli(cwd, ['verify', '--dir', 'nowhere']);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /LOGS_NOT_INITIALIZED/);
  assert.equal(cli(cwd, ['verify', '--no-such-flag']).code, 2);
});

test('a writing command refuses a directory another process owns, naming it', async () => {
  const { cwd, key } = initialized();
  const logs = await openLogs({
    dir: path.join(cwd, 'logs'),
    masterKey: key,
    handleExit: false,
    owner: 'the test service',
  });
  try {
    const r = cli(cwd, ['write', '--msg', 'x'], { DIHYA_LOGS_MASTER_KEY: key });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /LOGS_LOCKED: .* owned by process \d+ .*the test service/);
    assert.equal(cli(cwd, ['verify']).code, 0, 'read-only commands work beside the owner');
  } finally {
    await logs.close();
  }
});

test('tail prints the last records merged by time; on a terminal format, content is made inert', () => {
  const { cwd, key } = initialized();
  const env = { DIHYA_LOGS_MASTER_KEY: key };
  cli(cwd, ['write', '--msg', 'first'], env);
  cli(cwd, ['write', '--level', 'AUDIT', '--msg', 'second'], env);
  cli(cwd, ['write', '--msg', 'third \u001b[31mred\u001b[0m'], env);
  const r = cli(cwd, ['tail', '-n', '2']);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.deepEqual(
    lines.map((l) => l.msg),
    ['second', 'third \u001b[31mred\u001b[0m'],
  );
  const pretty = cli(cwd, ['tail', '-n', '1', '--channel', 'app', '--format', 'pretty']);
  assert.equal(
    pretty.stdout.includes('\u001b'),
    false,
    'no raw escape character reaches the terminal',
  );
  assert.match(pretty.stdout, /third \\u001b\[31mred/);
});

test('tail and query show the same record: personal values put back with the key, kept encrypted with --stored in both', () => {
  const { cwd, key } = initialized();
  const env = { DIHYA_LOGS_MASTER_KEY: key };
  const w = cli(
    cwd,
    [
      'write',
      '--msg',
      'reset sent to ada@example.org',
      '--actor',
      '{"id":"u-7","email":"ada@example.org"}',
    ],
    env,
  );
  assert.equal(w.code, 0, w.stderr);
  const one = (text: string): Record<string, unknown> => {
    const lines = text.trim().split('\n');
    assert.equal(lines.length, 1, text);
    return JSON.parse(lines[0] as string) as Record<string, unknown>;
  };
  for (const stored of [false, true]) {
    const flag = stored ? ['--stored'] : [];
    const q = cli(cwd, ['query', '--channel', 'app', '--format', 'ndjson', ...flag], env);
    const t = cli(cwd, ['tail', '-n', '1', '--channel', 'app', '--format', 'ndjson', ...flag], env);
    assert.equal(q.code, 0, q.stderr);
    assert.equal(t.code, 0, t.stderr);
    const fromQuery = one(q.stdout);
    const fromTail = one(t.stdout);
    assert.deepEqual(fromTail, fromQuery, `tail and query agree${stored ? ' with --stored' : ''}`);
    const text = JSON.stringify(fromTail);
    if (stored) {
      assert.ok(!text.includes('ada@example.org'), 'stored: the address stays encrypted');
      assert.match(text, /\[email#1\]/);
    } else {
      assert.equal(fromTail.msg, 'reset sent to ada@example.org');
      assert.equal((fromTail.actor as Record<string, unknown>).id, 'u-7');
    }
  }
  // Without the key, tail says why the values stay encrypted, as query does.
  const bare = cli(cwd, ['tail', '-n', '1', '--channel', 'app', '--format', 'ndjson']);
  assert.equal(bare.code, 0, bare.stderr);
  assert.ok(!bare.stdout.includes('ada@example.org'));
  assert.match(bare.stderr, /personal values stay encrypted: no master key/);
});

test('tail -f prints records as they are written', async () => {
  const { cwd, key } = initialized();
  // Once the first record is printed, the follower is at the end of the file.
  assert.equal(
    cli(cwd, ['write', '--msg', 'already there'], { DIHYA_LOGS_MASTER_KEY: key }).code,
    0,
  );
  const child = cliSpawn(cwd, ['tail', '-f', '-n', '1', '--interval', '50']);
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (c: string) => (out += c));
  try {
    for (let i = 0; i < 200 && !out.includes('already there'); i++)
      await new Promise((r) => setTimeout(r, 50));
    assert.equal(cli(cwd, ['write', '--msg', 'live one'], { DIHYA_LOGS_MASTER_KEY: key }).code, 0);
    for (let i = 0; i < 100 && !out.includes('live one'); i++)
      await new Promise((r) => setTimeout(r, 50));
    assert.match(out, /"msg":"live one"/);
  } finally {
    child.kill('SIGTERM');
  }
});

test('write --idempotency-key: a run again answers the first seq and hash, and stores once', () => {
  const { cwd, key } = initialized();
  const env = { DIHYA_LOGS_MASTER_KEY: key };
  const args = ['write', '--level', 'AUDIT', '--event', 'job.done', '--idempotency-key', 'job-7'];
  const first = cli(cwd, args, env);
  const again = cli(cwd, args, env);
  assert.equal(first.code, 0, first.stderr);
  assert.equal(again.code, 0, again.stderr);
  assert.equal(again.stdout, first.stdout);
  const other = cli(cwd, [...args.slice(0, -1), 'job-8'], env);
  assert.notEqual(other.stdout, first.stdout);
  const lines = readFileSync(path.join(cwd, 'logs', 'audit.log'), 'utf8')
    .trim()
    .split('\n');
  assert.equal(lines.filter((l) => l.includes('"job.done"')).length, 2);
});
