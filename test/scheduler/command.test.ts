import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Command } from 'commander';
import { LogsError } from '../../src/errors.js';
import { reportFailure } from '../../src/cli/context.js';
import { registerScheduler, type MakeJobs } from '../../src/cli/scheduler.js';
import { memoryIo, readRecords, tempDir } from '../helpers.js';
import { cli, cliSpawn } from '../cli/run.js';

function initialized(scheduler: Record<string, unknown>): {
  cwd: string;
  env: Record<string, string>;
  key: string;
} {
  const cwd = tempDir();
  const key = randomBytes(32).toString('base64');
  const env = { DIHYA_LOGS_MASTER_KEY: key, DIHYA_LOGS_CONFIG: 'test.json' };
  writeFileSync(path.join(cwd, 'test.json'), JSON.stringify({ dir: './logs', scheduler }));
  const r = cli(cwd, ['init'], env);
  assert.equal(r.code, 0, r.stderr);
  return { cwd, env, key };
}

const records = (cwd: string): Array<Record<string, unknown>> =>
  readRecords(path.join(cwd, 'logs', 'scheduler.log'));

const NO_RETRY = { retry: { attempts: 0 } };

test('scheduler --once checkpoint runs the job, prints one line and records started and finished', () => {
  const { cwd, env } = initialized(NO_RETRY);
  const r = cli(cwd, ['scheduler', '--once', 'checkpoint'], env);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z checkpoint finished in \d+ ms \(channels=5\)\n$/,
  );
  const recs = records(cwd);
  assert.deepEqual(
    recs.map((rec) => [rec.event, (rec.target as { id: string }).id]),
    [
      ['job.started', 'checkpoint'],
      ['job.finished', 'checkpoint'],
    ],
  );
  assert.deepEqual(recs[0]?.data, { trigger: 'manual', attempt: 1 });
  assert.deepEqual((recs[1]?.data as Record<string, unknown>).counts, { channels: 5 });
});

test('scheduler --once verify fails on a damaged log: exit 1, job.failed with INTEGRITY_STATE naming the place', () => {
  const { cwd, env } = initialized(NO_RETRY);
  for (const msg of ['one', 'two', 'three'])
    assert.equal(cli(cwd, ['write', '--msg', msg], env).code, 0);
  const file = path.join(cwd, 'logs', 'app.log');
  writeFileSync(file, readFileSync(file, 'utf8').replace('"msg":"one"', '"msg":"ONE"'));
  const r = cli(cwd, ['scheduler', '--once', 'verify'], env);
  assert.equal(r.code, 1, r.stderr);
  assert.match(r.stdout, / verify failed \(attempt 1 of 1\): INTEGRITY_STATE: .*app\.log, line 1/);
  const failed = records(cwd).at(-1)!;
  assert.equal(failed.event, 'job.failed');
  assert.equal((failed.data as Record<string, unknown>).code, 'INTEGRITY_STATE');
});

test('scheduler --once with an unknown job, or with no job enabled, is refused', () => {
  const { cwd, env } = initialized(NO_RETRY);
  const r = cli(cwd, ['scheduler', '--once', 'defrag'], env);
  assert.equal(r.code, 2);
  assert.match(
    r.stderr,
    /USAGE: --once: expected one of rotate, archive, retention, checkpoint, verify, erasure/,
  );
  const none = Object.fromEntries(
    ['rotate', 'archive', 'retention', 'checkpoint', 'verify', 'erasure'].map((j) => [
      j,
      { enabled: false },
    ]),
  );
  writeFileSync(path.join(cwd, 'test.json'), JSON.stringify({ scheduler: { jobs: none } }));
  const idle = cli(cwd, ['scheduler'], env);
  assert.equal(idle.code, 2);
  assert.match(idle.stderr, /CONFIG_INVALID: scheduler\.jobs: no job is enabled/);
  assert.deepEqual(records(cwd), []);
});

test(
  'scheduler runs enabled jobs on their cron times and stops cleanly on SIGTERM',
  { timeout: 30_000 },
  async () => {
    const jobs = {
      rotate: { enabled: false },
      archive: { enabled: false },
      retention: { enabled: false },
      verify: { enabled: false },
      erasure: { enabled: false },
      checkpoint: { cron: '* * * * * *' }, // every second
    };
    const { cwd, env } = initialized({ jobs, ...NO_RETRY });
    const p = cliSpawn(cwd, ['scheduler'], env);
    let out = '';
    let err = '';
    p.stderr.on('data', (d: Buffer) => (err += d.toString()));
    await new Promise<void>((resolve) => {
      p.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.split('\n').length > 2) resolve(); // two job lines
      });
    });
    assert.ok(existsSync(path.join(cwd, 'logs', '.lock')), 'the scheduler owns the logs');
    p.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => p.on('close', resolve));
    assert.equal(code, 0, err);
    assert.match(err, /checkpoint \(\* \* \* \* \* \*\) next at \d{4}-/);
    assert.match(err, /SIGTERM: stopping/);
    assert.doesNotMatch(err, /rotate|archive|retention|verify/, 'disabled jobs are not scheduled');
    assert.equal(existsSync(path.join(cwd, 'logs', '.lock')), false, 'the logs were closed');
    const lines = out.trim().split('\n');
    assert.ok(
      lines.every((l) => / checkpoint finished in \d+ ms \(channels=5\)$/.test(l)),
      out,
    );
    const recs = records(cwd);
    assert.ok(recs.length >= 4);
    assert.deepEqual(recs[0]?.data, { trigger: 'cron', attempt: 1 });
    const seconds = recs
      .filter((r) => r.event === 'job.started')
      .map((r) => Date.parse(String(r.ts)) / 1000);
    for (let i = 1; i < seconds.length; i++) {
      const gap = (seconds[i] ?? 0) - (seconds[i - 1] ?? 0);
      assert.ok(gap > 0.5 && gap < 3, `runs about a second apart, not ${gap} s`);
    }
    const verify = cli(cwd, ['verify', '--no-progress'], env);
    assert.equal(verify.code, 0, verify.stdout);
  },
);

/** Run `scheduler` in this process, with job implementations of the test's own. */
async function inProcess(
  cwd: string,
  key: string,
  args: string[],
  makeJobs: MakeJobs,
): Promise<{ code: number; out: string; err: string }> {
  const { io, out, err } = memoryIo();
  const keyFile = path.join(cwd, 'master.key');
  writeFileSync(keyFile, key, { mode: 0o600 });
  const program = new Command('dihya-logs')
    .option('--dir <dir>')
    .option('--config <file>')
    .option('--key-file <file>')
    .exitOverride();
  registerScheduler(program, io, makeJobs);
  process.exitCode = 0;
  try {
    await program.parseAsync(
      [
        '--config',
        path.join(cwd, 'test.json'),
        '--dir',
        path.join(cwd, 'logs'),
        '--key-file',
        keyFile,
        ...args,
      ],
      { from: 'user' },
    );
    return {
      code: typeof process.exitCode === 'number' ? process.exitCode : 0,
      out: out(),
      err: err(),
    };
  } catch (e) {
    return { code: reportFailure(e, io, false), out: out(), err: err() };
  } finally {
    process.exitCode = 0;
  }
}

test('the job implementations are injected; a failed job is retried, and one without implementation is refused', async () => {
  const { cwd, key } = initialized({ retry: { attempts: 2, backoff_ms: 100 } });
  let calls = 0;
  const makeJobs: MakeJobs = (logs, config) => ({
    rotate: ({ attempt }) => {
      calls += 1;
      assert.equal(config.dir, logs.dir);
      if (attempt === 1) return Promise.reject(new LogsError('IO_ERROR', 'busy'));
      return Promise.resolve({ rotated: 2 });
    },
  });
  const r = await inProcess(cwd, key, ['scheduler', '--once', 'rotate'], makeJobs);
  assert.equal(r.code, 0, r.err);
  assert.equal(calls, 2);
  const lines = r.out.trim().split('\n');
  assert.equal(lines.length, 2);
  assert.match(
    lines[0] ?? '',
    / rotate failed \(attempt 1 of 3\): IO_ERROR: busy; retry at \d{4}-/,
  );
  assert.match(lines[1] ?? '', / rotate finished in \d+ ms \(rotated=2\)$/);
  assert.deepEqual(
    records(cwd).map((rec) => rec.event),
    ['job.started', 'job.failed', 'job.started', 'job.finished'],
  );
  const missing = await inProcess(cwd, key, ['scheduler', '--once', 'archive'], makeJobs);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /USAGE: job "archive" has no implementation/);
});
