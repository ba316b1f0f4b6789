/**
 * The redaction property tests (test/redact/passwords.test.ts) with more runs: PASSWORD_RUNS
 * (default 300 there) is raised for the full run.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { ROOT, type Outcome, type ScenarioOptions } from './serve.js';

export function redactionScenario(o: ScenarioOptions): Promise<Outcome> {
  const runs = o.short ? 300 : 50_000;
  const file = path.join(ROOT, 'build', 'test', 'redact', 'passwords.test.js');
  const r = spawnSync(process.execPath, ['--test', '--test-reporter=tap', file], {
    cwd: ROOT,
    env: { ...process.env, PASSWORD_RUNS: String(runs) },
    encoding: 'utf8',
    timeout: 600_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const count = (k: string) => Number(new RegExp(`^# ${k} (\\d+)`, 'm').exec(r.stdout)?.[1] ?? NaN);
  const failed = r.stdout
    .split('\n')
    .filter((l) => /^\s*not ok/.test(l))
    .map((l) => l.trim());
  const failures: string[] = [];
  if (r.status !== 0)
    failures.push(
      `node --test exited ${String(r.status ?? r.signal)}: ${failed.join('; ') || r.stderr.slice(-500)}`,
    );
  o.log(`  redaction: ${count('tests')} tests, PASSWORD_RUNS=${runs}`);
  return Promise.resolve({
    figures: {
      passwordRuns: runs,
      tests: count('tests'),
      pass: count('pass'),
      fail: count('fail'),
    },
    failures,
  });
}
