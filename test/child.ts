import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { REPO_ROOT } from './helpers.js';

/** The compiled fixture script. */
export const WRITER = path.join(REPO_ROOT, 'build', 'test', 'fixtures', 'writer.js');
export const ROTATOR = path.join(REPO_ROOT, 'build', 'test', 'fixtures', 'rotator.js');

export interface Child {
  readonly proc: ChildProcess;
  /** Every complete stdout line so far. */
  readonly lines: string[];
  /** Resolves when a line satisfying `pred` arrives. */
  waitFor(pred: (line: string) => boolean): Promise<string>;
  /** Resolves with the exit code (or signal) when the process ends. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

/** Run a command with the master key in its environment, collecting its output by line. */
export function startChild(
  command: string,
  args: string[],
  masterKey: Buffer,
  env: Readonly<Record<string, string>> = {},
): Child {
  const proc = spawn(command, args, {
    env: { ...process.env, ...env, DIHYA_LOGS_MASTER_KEY: masterKey.toString('base64') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let partial = '';
  let err = '';
  const waiters: Array<{ pred: (l: string) => boolean; resolve: (l: string) => void }> = [];
  proc.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      for (const w of [...waiters]) {
        if (w.pred(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve(line);
        }
      }
    }
  });
  proc.stderr.setEncoding('utf8').on('data', (chunk: string) => (err += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('close', (code, signal) => resolve({ code, signal })),
  );
  return {
    proc,
    lines,
    exited,
    stderr: () => err,
    waitFor: (pred) =>
      new Promise((resolve, reject) => {
        const found = lines.find(pred);
        if (found !== undefined) resolve(found);
        else waiters.push({ pred, resolve });
        void exited.then(() =>
          reject(new Error(`child exited before the expected line; stderr: ${err}`)),
        );
      }),
  };
}
