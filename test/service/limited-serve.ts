import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { CLI } from '../cli/run.js';

/** `dihya-logs serve` as a child process whose files may not grow past a size (`ulimit -f`). */
export interface LimitedServe {
  readonly child: ChildProcess;
  readonly url: string;
  /** The admin token it printed on its first start. */
  readonly token: string;
  /** What it wrote on stdout and stderr so far. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Start `serve` on a free loopback port with `ulimit -f kib`: the kernel refuses writes past
 * that size (EFBIG), a real failing disk. `args` come before `serve` (`--dir D`); `cwd` and
 * `env` add to the master key and PATH. Resolves once it listens.
 */
export async function limitedServe(
  kib: number,
  masterKey: Buffer,
  options: { args?: readonly string[]; cwd?: string; env?: Record<string, string> } = {},
): Promise<LimitedServe> {
  const child = spawn(
    'bash',
    [
      '-c',
      `ulimit -f ${kib}; exec "$0" "$@"`,
      process.execPath,
      CLI,
      ...(options.args ?? []),
      'serve',
      '--port',
      '0',
      '--no-scheduler',
    ],
    {
      ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
      env: {
        PATH: process.env.PATH ?? '',
        DIHYA_LOGS_MASTER_KEY: masterKey.toString('base64'),
        ...options.env,
      },
    },
  );
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'close');
    }
  };
  for (let i = 0; i < 400 && !/listening on/.test(out) && child.exitCode === null; i++)
    await new Promise((r) => setTimeout(r, 50));
  const token = /dl_[\da-f]{12}_[\w-]{43}/.exec(out)?.[0];
  const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
  if (token === undefined || url === undefined) {
    await stop();
    throw new Error(`serve did not start: ${out}`);
  }
  return { child, url, token, output: () => out, stop };
}
