import { spawn, spawnSync } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from '../helpers.js';

export const CLI = path.join(REPO_ROOT, 'build', 'test', 'fixtures', 'cli.js');

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Run `dihya-logs args...` in `cwd`, with only the environment given (plus PATH). */
export function cli(
  cwd: string,
  args: string[],
  env: Record<string, string> = {},
  input?: string,
): CliResult {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
    input,
    encoding: 'utf8',
    timeout: 30_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Start a long-running `dihya-logs args...` (tail -f). */
export function cliSpawn(cwd: string, args: string[], env: Record<string, string> = {}) {
  return spawn(process.execPath, [CLI, ...args], {
    cwd,
    env: { PATH: process.env.PATH ?? '', ...env },
  });
}
