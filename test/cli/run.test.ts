import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';

import { openLogs } from '../../src/log/open.js';
import { readRecords } from '../helpers.js';
import { CLI, cli, cliSpawn, type CliResult, initialized } from './run.js';

const node = process.execPath;

function schedulerRecords(cwd: string): Array<Record<string, unknown>> {
  return readRecords(path.join(cwd, 'logs', 'scheduler.log'));
}

/** Every file under the logs directory, as text: where a secret must not be. */
function everythingStored(dir: string): string {
  let all = '';
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    all += statSync(p).isDirectory() ? everythingStored(p) : readFileSync(p, 'latin1');
  }
  return all;
}

/** Run the CLI without blocking this process (so the test can hold and release the lock). */
function cliAsync(cwd: string, args: string[], env: Record<string, string>): Promise<CliResult> {
  return new Promise((resolve) => {
    const p = spawn(node, [CLI, ...args], { cwd, env: { PATH: process.env.PATH ?? '', ...env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    p.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('run passes the exit code and output through, and records start and end in scheduler without the arguments', () => {
  const { cwd, env } = initialized(true);
  const script =
    "process.stdout.write('x'.repeat(1000)); process.stderr.write('y'.repeat(10)); process.exit(Number(process.argv[1]))";
  const failed = cli(cwd, ['run', '--job', 'nightly-backup', '--', node, '-e', script, '7'], env);
  assert.equal(failed.code, 7, failed.stderr);
  assert.equal(failed.stdout, 'x'.repeat(1000), 'stdout passed through unchanged');
  assert.equal(failed.stderr, 'y'.repeat(10));
  const ok = cli(
    cwd,
    ['run', '--job', 'nightly-backup', '--', node, '-e', script, '0', '--token=s3cr3t-arg-value'],
    env,
  );
  assert.equal(ok.code, 0, ok.stderr);

  const recs = schedulerRecords(cwd);
  assert.deepEqual(
    recs.map((r) => [r.event, r.level, r.outcome ?? null]),
    [
      ['job.started', 'INFO', null],
      ['job.failed', 'ERROR', 'failure'],
      ['job.started', 'INFO', null],
      ['job.finished', 'INFO', 'success'],
    ],
  );
  for (const r of recs) assert.deepEqual(r.target, { type: 'job', id: 'nightly-backup' });
  assert.deepEqual(recs[0]?.data, { command: path.basename(node), args: 3, trigger: 'run' });
  const end = recs[1]?.data as Record<string, unknown>;
  assert.deepEqual(
    [end.exit_code, end.status, end.code, end.stdout_bytes, end.stderr_bytes, end.signal],
    [7, 7, 'JOB_FAILED', 1000, 10, undefined],
  );
  assert.equal(typeof end.duration_ms, 'number');
  assert.equal(end.stdout, undefined, 'no output without --capture');
  assert.equal((recs[3]?.data as Record<string, unknown>).exit_code, 0);
  const stored = everythingStored(path.join(cwd, 'logs'));
  assert.equal(stored.includes('s3cr3t-arg-value'), false, 'arguments are never recorded');
  assert.equal(stored.includes('repeat'), false);
});

test('a child killed by a signal: exit 128+N, and the signal recorded', () => {
  const { cwd, env } = initialized(true);
  const r = cli(
    cwd,
    ['run', '--job', 'killed', '--', node, '-e', "process.kill(process.pid, 'SIGKILL')"],
    env,
  );
  assert.equal(r.code, 128 + 9);
  const end = schedulerRecords(cwd).at(-1)!;
  assert.equal(end.event, 'job.failed');
  assert.equal((end.data as Record<string, unknown>).signal, 'SIGKILL');
  assert.equal((end.data as Record<string, unknown>).exit_code, undefined);
  assert.match(String(end.msg), /^killed: node was killed by SIGKILL after \d+ ms$/);
});

test('SIGTERM and SIGINT sent to run are passed to the command', { timeout: 30_000 }, async () => {
  const { cwd, env } = initialized(true);
  const script =
    "for (const s of ['SIGTERM', 'SIGINT']) process.on(s, () => { console.log('got ' + s); process.exit(s === 'SIGTERM' ? 42 : 43); }); console.log('ready'); setTimeout(() => process.exit(99), 10000);";
  for (const [signal, code] of [
    ['SIGTERM', 42],
    ['SIGINT', 43],
  ] as const) {
    const p = cliSpawn(cwd, ['run', '--job', 'waits', '--', node, '-e', script], env);
    let out = '';
    await new Promise<void>((resolve) => {
      p.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('ready')) resolve();
      });
    });
    p.kill(signal); // to run only: the command hears it only if run passes it on (else: 99 after 10 s)
    const exit = await new Promise<number | null>((resolve) => p.on('close', resolve));
    assert.equal(exit, code);
    assert.match(out, new RegExp(`got ${signal}`));
    const end = schedulerRecords(cwd).at(-1)?.data as Record<string, unknown>;
    assert.equal(end.exit_code, code);
  }
});

test('--capture stores the end of the output, classified: secrets removed everywhere on disk', () => {
  const { cwd, env } = initialized(true);
  const script = [
    "console.log('connecting with password=hunter2XYZ and key AKIAIOSFODNN7EXAMPLE');",
    "console.error('warning: disk 91% full');",
  ].join(' ');
  const r = cli(cwd, ['run', '--job', 'deploy', '--capture', '--', node, '-e', script], env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /hunter2XYZ/, 'the terminal still sees the output as it was');
  const recs = schedulerRecords(cwd);
  assert.equal((recs[0]?.data as Record<string, unknown>).capture, true);
  const end = recs.at(-1)?.data as Record<string, unknown>;
  assert.equal(end.stderr, 'warning: disk 91% full\n');
  assert.match(String(end.stdout), /^connecting with password=\[REDACTED[^\]]*\] and key /);
  assert.equal(end.stdout_bytes, Buffer.byteLength(r.stdout));
  const stored = everythingStored(path.join(cwd, 'logs'));
  for (const secret of ['hunter2XYZ', 'AKIAIOSFODNN7EXAMPLE'])
    assert.equal(stored.includes(secret), false, `${secret} must not be stored`);
});

test('--capture keeps the last 16 KiB of a long output, and says it was cut', () => {
  const { cwd, env } = initialized(true);
  const script =
    "for (let i = 0; i < 5000; i++) console.log('line ' + String(i).padStart(5, '0')); console.log('THE END');";
  const r = cli(cwd, ['run', '--job', 'chatty', '--capture', '--', node, '-e', script], env);
  assert.equal(r.code, 0, r.stderr);
  const end = schedulerRecords(cwd).at(-1)?.data as Record<string, unknown>;
  const kept = String(end.stdout);
  assert.equal(end.stdout_bytes, 5000 * 11 + 8);
  assert.equal(end.stdout_truncated, true);
  assert.ok(Buffer.byteLength(kept) <= 16 * 1024 && kept.length > 8 * 1024, `${kept.length}`);
  assert.ok(kept.endsWith('line 04999\nTHE END\n'));
  assert.equal(end.stderr, '');
  assert.equal(end.stderr_truncated, undefined);
});

test('a command that is not found exits 127, one that cannot be executed 126; both recorded', () => {
  const { cwd, env } = initialized(true);
  const missing = cli(cwd, ['run', '--job', 'x', '--', 'no-such-command-here'], env);
  assert.equal(missing.code, 127);
  assert.match(missing.stderr, /cannot run no-such-command-here: ENOENT/);
  const dir = cli(cwd, ['run', '--job', 'x', '--', cwd], env); // a directory
  assert.equal(dir.code, 126);
  const ends = schedulerRecords(cwd).filter((r) => r.event === 'job.failed');
  assert.deepEqual(
    ends.map((r) => {
      const d = r.data as Record<string, unknown>;
      return [d.error, d.status];
    }),
    [
      ['ENOENT', 127],
      ['EACCES', 126],
    ],
  );
});

test('--timeout stops the command: exit 124, recorded as timed out', () => {
  const { cwd, env } = initialized(true);
  const r = cli(
    cwd,
    [
      'run',
      '--job',
      'stuck',
      '--timeout',
      '0.5',
      '--',
      node,
      '-e',
      'setTimeout(() => process.exit(99), 10000)',
    ],
    env,
  );
  assert.equal(r.code, 124);
  const end = schedulerRecords(cwd).at(-1)?.data as Record<string, unknown>;
  assert.deepEqual([end.timed_out, end.signal, end.status], [true, 'SIGTERM', 124]);
  assert.ok((end.duration_ms as number) >= 500);
});

test('the logs are not held while the command runs: it can write to them itself', () => {
  const { cwd, env } = initialized(true);
  const script = `require('node:child_process').execFileSync(process.execPath, [${JSON.stringify(CLI)}, 'write', '--msg', 'from inside'], { stdio: 'inherit' })`;
  const r = cli(cwd, ['run', '--job', 'nested', '--', node, '-e', script], env);
  assert.equal(r.code, 0, r.stderr);
  const app = readRecords(path.join(cwd, 'logs', 'app.log'));
  assert.equal(app.at(-1)?.msg, 'from inside');
  assert.equal(schedulerRecords(cwd).at(-1)?.event, 'job.finished');
});

test(
  'a lock held by another process is waited for; after 5 s run fails with LOGS_LOCKED and runs nothing',
  { timeout: 30_000 },
  async () => {
    const { cwd, env } = initialized(true);
    const key = env.DIHYA_LOGS_MASTER_KEY;
    const open = () =>
      openLogs({
        dir: path.join(cwd, 'logs'),
        masterKey: key,
        handleExit: false,
        owner: 'the test',
        onError: () => undefined,
      });
    const marker = path.join(cwd, 'ran');
    const touch = (what: string): string =>
      `require('node:fs').writeFileSync(${JSON.stringify(marker)}, '${what}')`;

    // Released after a second: run waits for it, then records and runs.
    let holder = await open();
    setTimeout(() => void holder.close(), 1000);
    const waited = await cliAsync(
      cwd,
      ['run', '--job', 'patient', '--', node, '-e', touch('x')],
      env,
    );
    assert.equal(waited.code, 0, waited.stderr);
    assert.equal(existsSync(marker), true);

    // Held throughout: refused before the command runs.
    holder = await open();
    const t0 = Date.now();
    const refused = await cliAsync(
      cwd,
      ['run', '--job', 'blocked', '--', node, '-e', touch('y')],
      env,
    );
    await holder.close();
    assert.equal(refused.code, 1);
    assert.ok(Date.now() - t0 >= 5000, 'it waited 5 s');
    assert.match(
      refused.stderr,
      /^dihya-logs: LOGS_LOCKED: .* owned by process \d+ .*the test.*waited 5 s/,
    );
    assert.equal(readFileSync(marker, 'utf8'), 'x', 'the command did not run');
    assert.equal(
      schedulerRecords(cwd).some((r) => (r.target as { id: string }).id === 'blocked'),
      false,
    );
  },
);

test('usage errors exit 2 before anything is recorded', () => {
  const { cwd, env } = initialized(true);
  for (const args of [
    ['run', '--', node, '-e', '0'],
    ['run', '--job', 'bad name!', '--', node, '-e', '0'],
    ['run', '--job', 'x', '--timeout', 'soon', '--', node, '-e', '0'],
    ['run', '--job', 'x', '--timeout', '0', '--', node, '-e', '0'],
  ]) {
    const r = cli(cwd, args, env);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
  }
  assert.deepEqual(schedulerRecords(cwd), []);
});
