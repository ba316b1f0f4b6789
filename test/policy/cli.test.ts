import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cli, initialized } from '../cli/run.js';

const mode = (p: string): number => statSync(p).mode & 0o777;

// The app channel's retention in the configuration init writes (flow style, audit after it).
const APP_RETENTION = /(min_days: 30, max_days: )90( \} \}\n {2}audit:)/;

/** Set `channels.app.retention.max_days` in the configuration file, keeping its comments. */
function setAppMaxDays(cwd: string, days: number): void {
  const file = path.join(cwd, 'dihya-logs.yaml');
  const text = readFileSync(file, 'utf8');
  assert.match(text, APP_RETENTION);
  writeFileSync(
    file,
    text.replace(APP_RETENTION, (_m, a: string, b: string) => `${a}${days}${b}`),
  );
}

function policyChanges(cwd: string): Array<Record<string, unknown>> {
  const r = cli(cwd, [
    'query',
    '--channel',
    'audit',
    '--event',
    'config.policy.changed',
    '--format',
    'json',
    '--no-progress',
  ]);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { records: Array<Record<string, unknown>> }).records;
}

test('init writes the policy as README.md (0600) in the logs directory, and verify does not mind it', () => {
  const { cwd } = initialized();
  const readme = path.join(cwd, 'logs', 'README.md');
  assert.equal(mode(readme), 0o600);
  const text = readFileSync(readme, 'utf8');
  assert.match(text, /^# Log policy\n/);
  assert.ok(text.includes('generated from `dihya-logs.yaml`'));
  assert.ok(text.includes('This file is in the logs directory it describes.'));
  assert.ok(text.includes('**Public key**: pinned in the configuration'), 'init pinned the key');
  assert.equal(mode(path.join(cwd, 'logs', '.integrity', 'state', 'policy.summary.json')), 0o600);
  assert.equal(cli(cwd, ['write', '--msg', 'hello']).code, 0);
  const v = cli(cwd, ['verify', '--no-progress']);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.doesNotMatch(v.stdout, /warning|README/i);
  assert.deepEqual(policyChanges(cwd), [], 'the first open after init: no change');
});

test('a retention changed in the configuration file is one config.policy.changed event at the next write; then none', () => {
  const { cwd } = initialized();
  assert.equal(cli(cwd, ['write', '--msg', 'before']).code, 0);
  setAppMaxDays(cwd, 60);
  const w = cli(cwd, ['write', '--msg', 'after']);
  assert.equal(w.code, 0, w.stderr);
  const events = policyChanges(cwd);
  assert.equal(events.length, 1);
  assert.deepEqual(events[0]!.data, {
    changes: [{ from: 90, key: 'channels.app.retention.max_days', to: 60 }],
    config: 'dihya-logs.yaml',
    count: 1,
  });
  assert.match(
    readFileSync(path.join(cwd, 'logs', 'README.md'), 'utf8'),
    /\| `app` +\| 30 days +\| 60 days +\|/,
  );
  assert.equal(cli(cwd, ['write', '--msg', 'again']).code, 0);
  assert.equal(policyChanges(cwd).length, 1, 'opening again without a change writes nothing');
  assert.equal(cli(cwd, ['verify', '--no-progress']).code, 0);
});

test('a README.md removed or edited is written again at the next open by the CLI; no policy event', () => {
  const { cwd } = initialized();
  const file = path.join(cwd, 'logs', 'README.md');
  const original = readFileSync(file, 'utf8');
  writeFileSync(file, 'edited by hand\n');
  assert.equal(cli(cwd, ['write', '--msg', 'one']).code, 0);
  assert.equal(readFileSync(file, 'utf8'), original);
  rmSync(file);
  assert.equal(cli(cwd, ['write', '--msg', 'two']).code, 0);
  assert.equal(mode(file), 0o600);
  assert.match(readFileSync(file, 'utf8'), /^# Log policy\n/);
  assert.deepEqual(policyChanges(cwd), [], 'the README is not the policy: no event');
});

test('init --exist-ok rewrites README.md when the configuration says another policy, and only then', () => {
  const { cwd } = initialized();
  const same = cli(cwd, ['init', '--exist-ok', '--json']);
  assert.equal(same.code, 0, same.stderr);
  assert.equal((JSON.parse(same.stdout) as { readme: string }).readme, 'unchanged');
  setAppMaxDays(cwd, 45);
  const changed = cli(cwd, ['init', '--exist-ok']);
  assert.equal(changed.code, 0, changed.stderr);
  assert.match(changed.stdout, /README\.md \(the log policy\) was rewritten/);
  const readme = path.join(cwd, 'logs', 'README.md');
  assert.match(readFileSync(readme, 'utf8'), /\| `app` +\| 30 days +\| 45 days +\|/);
  assert.equal(mode(readme), 0o600);
  // The audit event comes with the next open, which compares the stored summary.
  assert.equal(cli(cwd, ['write', '--msg', 'x']).code, 0);
  assert.equal(policyChanges(cwd).length, 1);
});

test('dihya-logs policy prints the Markdown policy of the configuration, or HTML; nothing is opened', () => {
  const { cwd } = initialized();
  setAppMaxDays(cwd, 60);
  const md = cli(cwd, ['policy']);
  assert.equal(md.code, 0, md.stderr);
  assert.match(md.stdout, /^# Log policy\n/);
  assert.ok(md.stdout.includes('Logs directory: `./logs`.'));
  assert.match(md.stdout, /\| `app` +\| 30 days +\| 60 days +\|/);
  assert.ok(!md.stdout.includes(cwd), 'no absolute path when the directory is below the cwd');
  const html = cli(cwd, ['policy', '--format', 'html']);
  assert.equal(html.code, 0, html.stderr);
  assert.match(html.stdout, /^<!doctype html>/);
  assert.ok(!html.stdout.includes('<script'));
  const bad = cli(cwd, ['policy', '--format', 'pdf']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /Allowed choices are md, html/);
  // Reading the policy is not opening the logs: no event even though the retention changed.
  assert.equal(readFileSync(path.join(cwd, 'logs', 'audit.log'), 'utf8'), '');
  const other = cli(cwd, ['--dir', path.join(cwd, 'elsewhere'), 'policy']);
  assert.equal(other.code, 0, other.stderr);
  assert.ok(other.stdout.includes('Logs directory: `./elsewhere`.'));
});
