import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { TailBuffer } from './tail-buffer.js';

export interface ChildOptions {
  readonly command: string;
  readonly args: readonly string[];
  /** Where the command's output goes, byte for byte. */
  readonly stdout: Writable;
  readonly stderr: Writable;
  /** Bytes of each stream's end to keep (0: none). */
  readonly captureBytes: number;
  /** Stop the command after this long: SIGTERM, then SIGKILL after `killGraceMs`. */
  readonly timeoutMs?: number;
  readonly killGraceMs?: number;
}

export interface ChildResult {
  /** The command's exit code, when it exited. */
  readonly exitCode: number | null;
  /** The signal that ended it, when one did. */
  readonly signal: NodeJS.Signals | null;
  /** Why it could not be started (`ENOENT`, `EACCES`...), when it could not. */
  readonly spawnError: string | undefined;
  readonly timedOut: boolean;
  readonly durationMs: number;
  readonly stdout: TailBuffer;
  readonly stderr: TailBuffer;
  /**
   * The exit status to pass on, as a shell would: the exit code; 128 + the signal's number; 127
   * when the command was not found, 126 when it could not be executed; 124 after a timeout (as
   * timeout(1) does).
   */
  readonly status: number;
}

export interface RunningChild {
  readonly done: Promise<ChildResult>;
  /** True once the command has exited (or could not start). */
  readonly exited: () => boolean;
  /** Send a signal to the command, if it is still running. */
  kill(signal: NodeJS.Signals): void;
}

// After the command exits, its output pipes may be held open by a process it left behind:
// wait this long for them to close, then stop reading.
const PIPE_DRAIN_MS = 2000;

/**
 * Run a command without a shell: stdin inherited, stdout and stderr passed through while their
 * bytes are counted (and their ends kept, when asked).
 */
export function runChild(options: ChildOptions): RunningChild {
  const started = performance.now();
  const out = new TailBuffer(options.captureBytes);
  const err = new TailBuffer(options.captureBytes);
  let child: ChildProcessByStdio<null, Readable, Readable>;
  try {
    child = spawn(options.command, [...options.args], {
      stdio: ['inherit', 'pipe', 'pipe'],
      shell: false,
    });
  } catch (e) {
    // Most failures to start come as an 'error' event; a few (ENOEXEC...) are thrown.
    const code = (e as NodeJS.ErrnoException).code ?? 'ESPAWN';
    const result: ChildResult = {
      exitCode: null,
      signal: null,
      spawnError: code,
      timedOut: false,
      durationMs: Math.round(performance.now() - started),
      stdout: out,
      stderr: err,
      status: statusOf(null, null, code, false),
    };
    return { done: Promise.resolve(result), exited: () => true, kill: () => undefined };
  }
  let exited = false;
  let timedOut = false;
  let timers: NodeJS.Timeout[] = [];
  const clearTimers = (): void => {
    for (const t of timers) clearTimeout(t);
    timers = [];
  };

  const done = new Promise<ChildResult>((resolve) => {
    const finish = (
      exitCode: number | null,
      signal: NodeJS.Signals | null,
      spawnError?: string,
    ): void => {
      clearTimers();
      resolve({
        exitCode,
        signal,
        spawnError,
        timedOut,
        durationMs: Math.round(performance.now() - started),
        stdout: out,
        stderr: err,
        status: statusOf(exitCode, signal, spawnError, timedOut),
      });
    };
    const outDone = passThrough(child.stdout, options.stdout, out);
    const errDone = passThrough(child.stderr, options.stderr, err);
    child.once('error', (e: NodeJS.ErrnoException) => {
      if (child.pid !== undefined) return; // a failed kill() of a started child: it still ends
      exited = true;
      finish(null, null, e.code ?? 'ESPAWN');
    });
    child.once('exit', (code, signal) => {
      exited = true;
      clearTimers();
      let drainTimer: NodeJS.Timeout | undefined;
      const drained = new Promise<void>((r) => {
        drainTimer = setTimeout(() => {
          child.stdout.destroy();
          child.stderr.destroy();
          r();
        }, PIPE_DRAIN_MS);
      });
      void Promise.race([Promise.all([outDone, errDone]), drained]).then(() => {
        clearTimeout(drainTimer);
        finish(code, signal);
      });
    });
  });

  if (options.timeoutMs !== undefined) {
    timers.push(
      setTimeout(() => {
        timedOut = true;
        child.kill('SIGTERM');
        timers.push(setTimeout(() => child.kill('SIGKILL'), options.killGraceMs ?? 5000));
      }, options.timeoutMs),
    );
  }

  return {
    done,
    exited: () => exited,
    kill: (signal) => {
      if (!exited && child.pid !== undefined) child.kill(signal);
    },
  };
}

/** Copy `from` to `to` with backpressure, counting; a broken `to` (EPIPE) does not stop reading. */
function passThrough(from: Readable, to: Writable, tail: TailBuffer): Promise<void> {
  return new Promise((resolve) => {
    let broken = false;
    const onError = (): void => {
      broken = true;
      from.resume();
    };
    to.on('error', onError);
    from.on('data', (chunk: Buffer) => {
      tail.push(chunk);
      if (!broken && !to.write(chunk)) {
        from.pause();
        to.once('drain', () => from.resume());
      }
    });
    from.once('close', () => {
      to.removeListener('error', onError);
      resolve();
    });
  });
}

function statusOf(
  exitCode: number | null,
  signal: NodeJS.Signals | null,
  spawnError: string | undefined,
  timedOut: boolean,
): number {
  if (spawnError !== undefined) return spawnError === 'ENOENT' ? 127 : 126;
  if (timedOut) return 124;
  if (signal !== null) return 128 + ((constants.signals[signal] as number | undefined) ?? 0);
  return exitCode ?? 1;
}
