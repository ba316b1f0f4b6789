import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { parse } from 'yaml';
import { tempDir } from '../helpers.js';
import { cli } from './run.js';

const mode = (p: string): number => statSync(p).mode & 0o777;

test('init creates the layout with 0700 directories and 0600 files, a key file, and a pinned config', () => {
  const cwd = tempDir();
  const r = cli(cwd, ['init']);
  assert.equal(r.code, 0, r.stderr);
  const logs = path.join(cwd, 'logs');
  for (const d of [
    '',
    'archive',
    'export',
    '.integrity',
    '.keys',
    '.index',
    '.integrity/quarantine',
  ]) {
    assert.equal(mode(path.join(logs, d)), 0o700, `${d || 'logs'}/ is 0700`);
  }
  for (const c of ['app', 'audit', 'security', 'scheduler', 'api'])
    assert.equal(mode(path.join(logs, `${c}.log`)), 0o600);
  for (const f of ['.keys/signing-key.json', '.integrity/log.json', '.integrity/checkpoints.log']) {
    assert.equal(mode(path.join(logs, f)), 0o600, f);
  }
  const keyFile = path.join(cwd, 'dihya-logs.key');
  assert.equal(mode(keyFile), 0o600);
  assert.equal(Buffer.from(readFileSync(keyFile, 'utf8').trim(), 'base64').length, 32);
  assert.match(r.stdout, /master key {2}.*dihya-logs\.key/);
  assert.match(r.stdout, /keep the master key file apart from the logs directory/);
  assert.equal(
    r.stdout.includes(readFileSync(keyFile, 'utf8').trim()),
    false,
    'the key itself is never printed',
  );

  const config = parse(readFileSync(path.join(cwd, 'dihya-logs.yaml'), 'utf8')) as Record<
    string,
    Record<string, string>
  >;
  const meta = JSON.parse(readFileSync(path.join(logs, '.integrity', 'log.json'), 'utf8')) as {
    public_key: string;
  };
  assert.equal(
    config.integrity!.public_key,
    meta.public_key,
    'the public key is pinned in the configuration',
  );
  assert.equal(config.master_key_file, './dihya-logs.key');
  // The private key is stored wrapped: it does not appear in any readable form.
  const wrapped = readFileSync(path.join(logs, '.keys', 'signing-key.json'), 'utf8');
  assert.doesNotMatch(wrapped, /PRIVATE KEY/);
});

test('init twice is refused (exit 2), or accepted with --exist-ok', () => {
  const cwd = tempDir();
  assert.equal(cli(cwd, ['init']).code, 0);
  const again = cli(cwd, ['init']);
  assert.equal(again.code, 2);
  assert.match(again.stderr, /^dihya-logs: LOGS_ALREADY_INITIALIZED: /);
  assert.equal(cli(cwd, ['init', '--exist-ok']).code, 0);
});

test('a key file readable by others is refused, with the fix in the message', () => {
  const cwd = tempDir();
  const key = path.join(cwd, 'open.key');
  writeFileSync(key, `${randomBytes(32).toString('base64')}\n`);
  chmodSync(key, 0o644);
  const r = cli(cwd, ['init', '--key-file', key]);
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /MASTER_KEY_INVALID: .*readable by group or others \(mode 0644\); run: chmod 600/,
  );
  assert.equal(existsSync(path.join(cwd, 'logs', '.integrity', 'log.json')), false);
});

test('a key file inside the logs directory is refused', () => {
  const cwd = tempDir();
  const r = cli(cwd, ['init', '--key-file', 'logs/master.key']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /PATH_UNSAFE: .*inside the logs directory/);
});

test('with DIHYA_LOGS_MASTER_KEY set, init creates no key file', () => {
  const cwd = tempDir();
  const key = randomBytes(32).toString('base64');
  const r = cli(cwd, ['init', '--dir', 'data/logs'], { DIHYA_LOGS_MASTER_KEY: key });
  assert.equal(r.code, 0, r.stderr);
  assert.equal(existsSync(path.join(cwd, 'dihya-logs.key')), false);
  assert.ok(existsSync(path.join(cwd, 'data', 'logs', 'app.log')));
  assert.equal(cli(cwd, ['write', '--msg', 'hi'], { DIHYA_LOGS_MASTER_KEY: key }).code, 0);
  const bad = cli(cwd, ['write', '--msg', 'hi'], { DIHYA_LOGS_MASTER_KEY: 'not-a-key' });
  assert.equal(bad.code, 2);
  assert.match(
    bad.stderr,
    /MASTER_KEY_INVALID: the DIHYA_LOGS_MASTER_KEY environment variable does not hold base64 of 32 bytes/,
  );
  assert.equal(bad.stderr.includes('not-a-key'), false, 'the bad value is not echoed');
});
