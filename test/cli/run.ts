import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { REPO_ROOT, tempDir } from '../helpers.js';

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

/**
 * A temporary directory where `dihya-logs init` ran: its key file is the one init made (as a
 * new user has it), or, with `withKey`, a fresh DIHYA_LOGS_MASTER_KEY returned in `env` for
 * the commands that follow.
 */
export function initialized(withKey = false): { cwd: string; env: Record<string, string> } {
  const cwd = tempDir();
  const env: Record<string, string> = withKey
    ? { DIHYA_LOGS_MASTER_KEY: randomBytes(32).toString('base64') }
    : {};
  const r = cli(cwd, ['init'], env);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return { cwd, env };
}
