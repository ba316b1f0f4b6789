import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { appendFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { tempDir } from '../helpers.js';
import { FileFollower } from '../../src/store/file/follow.js';
import { cli } from './run.js';

function setup() {
  const cwd = tempDir();
  const env = { DIHYA_LOGS_MASTER_KEY: randomBytes(32).toString('base64') };
  assert.equal(cli(cwd, ['init'], env).code, 0);
  return { cwd, env };
}

test('cli: rotate seals the active file; tail -n reads across the rotation; verify stays intact', () => {
  const { cwd, env } = setup();
  for (let i = 1; i <= 5; i++)
    assert.equal(cli(cwd, ['write', '--msg', `before ${i}`], env).code, 0);
  const rotated = cli(cwd, ['rotate', '--channel', 'app'], env);
  assert.equal(rotated.code, 0, rotated.stderr);
  assert.match(
    rotated.stdout,
    /app: records 1 to 5 sealed into archive\/\d{4}\/\d{2}\/app-1-5\.log\.gz/,
  );
  assert.match(
    cli(cwd, ['rotate', '--channel', 'app'], env).stdout,
    /app: empty, nothing to rotate/,
  );
  for (let i = 1; i <= 2; i++)
    assert.equal(cli(cwd, ['write', '--msg', `after ${i}`], env).code, 0);

  const tail = cli(cwd, ['tail', '-n', '4', '--channel', 'app', '--format', 'ndjson'], env);
  assert.equal(tail.code, 0, tail.stderr);
  assert.deepEqual(
    tail.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { msg: string }).msg),
    ['before 4', 'before 5', 'after 1', 'after 2'],
  );
  const v = cli(cwd, ['verify', '--no-progress'], env);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.match(cli(cwd, ['rotate', '--channel', 'nope'], env).stderr, /EVENT_CHANNEL_UNKNOWN/);
});

test('cli: hold set/clear need a reason; retention --dry-run changes nothing and says why', () => {
  const { cwd, env } = setup();
  assert.equal(cli(cwd, ['write', '--msg', 'x'], env).code, 0);
  assert.equal(cli(cwd, ['rotate'], env).code, 0);
  const noReason = cli(cwd, ['hold', 'set', '--channel', 'app'], env);
  assert.equal(noReason.code, 2);
  assert.match(noReason.stderr, /--reason/);
  const set = cli(cwd, ['hold', 'set', '--channel', 'app', '--reason', 'litigation 42'], env);
  assert.equal(set.code, 0, set.stderr);
  assert.match(set.stdout, /legal hold set on app/);
  const dry = cli(cwd, ['retention', '--dry-run'], env);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /keep +archive\/.+app-1-1\.log\.gz .*legal hold since .*\(audit #\d+\)/);
  assert.match(dry.stdout, /dry run: 0 archive\(s\) would be deleted/);
  const clear = cli(cwd, ['hold', 'clear', '--channel', 'app', '--reason', 'settled'], env);
  assert.equal(clear.code, 0, clear.stderr);
  const run = cli(cwd, ['retention'], env);
  assert.match(
    run.stdout,
    /keep +archive\/.+app-1-1\.log\.gz +\(0 days old: within the minimum of 30 days\)/,
  );
  assert.match(run.stdout, /0 archive\(s\) deleted/);
});

test('a follower survives rotation: lines appended before and after the rename arrive once, in order', () => {
  const dir = tempDir();
  const file = path.join(dir, 'app.log');
  writeFileSync(file, 'a\nb\n');
  const { follower, lines } = FileFollower.fromTail(file, 1);
  assert.deepEqual(lines.map(String), ['b']);
  appendFileSync(file, 'c\n');
  assert.deepEqual(follower.poll().map(String), ['c']);
  appendFileSync(file, 'd\n'); // written just before the rotation, not yet polled
  renameSync(file, path.join(dir, 'app-1-4.log'));
  assert.deepEqual(follower.poll().map(String), ['d']); // the new file does not exist yet
  writeFileSync(file, 'e\nf\n');
  assert.deepEqual(follower.poll().map(String), ['e', 'f']);
  appendFileSync(file, 'g\n');
  assert.deepEqual(follower.poll().map(String), ['g']);
  follower.close();
});
