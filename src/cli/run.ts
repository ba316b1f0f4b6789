import path from 'node:path';
import type { Command } from 'commander';
import { LogsError, isLogsError } from '../errors.js';
import type { LogCore } from '../log/core.js';
import { runChild, type ChildResult } from '../scheduler/child.js';
import { JOB_FAILED, jobEvent, type JobEvent } from '../scheduler/events.js';
import type { Io } from './context.js';
import { openForCli } from './open.js';

interface RunOptions {
  readonly job: string;
  readonly capture?: boolean;
  readonly timeout?: string;
}

/** What --capture keeps of each stream: its last 16 KiB. */
export const CAPTURE_BYTES = 16 * 1024;
// Before the command runs, the lock is waited for this long: then the command is not run.
const LOCK_WAIT_BEFORE_MS = 5000;
// After it ran, its record matters more: wait longer before giving up on it.
const LOCK_WAIT_AFTER_MS = 30_000;
const LOCK_POLL_MS = 100;
const JOB_NAME = /^[a-z0-9][\w.-]{0,63}$/i;
const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;

export function registerRun(program: Command, io: Io): void {
  program
    .command('run')
    .description(
      'run a command (a cron job, a backup...) and record its start, end, exit code or signal, duration and output size in the scheduler channel',
    )
    .requiredOption('--job <name>', 'the job name to record (letters, digits, ., _ and -)')
    .option(
      '--capture',
      'also record the last 16 KiB of stdout and stderr (classified: secrets removed)',
    )
    .option(
      '--timeout <seconds>',
      'stop the command after this long (SIGTERM, then SIGKILL after 5 s)',
    )
    .argument('<command>', 'the command, run without a shell; put -- before it')
    .argument('[args...]', 'its arguments (not recorded: only their number)')
    .addHelpText(
      'after',
      '\nExample: dihya-logs run --job backup -- /usr/local/bin/backup.sh --full\n' +
        '\nThe logs are opened only to record the start and the end, so the command does not hold\n' +
        'their lock. Signals (INT, TERM, HUP) are passed to the command.\n' +
        '\nExit status: the command’s; 128+N when signal N ended it; 127 not found; 126 not\n' +
        'executable; 124 timed out; 1 (the command not run) when the logs stay locked for 5 s.',
    )
    .action(async (command: string, args: string[], opts: RunOptions, cmd: Command) => {
      process.exitCode = await runCommand(command, args, opts, cmd, io);
    });
}

async function runCommand(
  command: string,
  args: readonly string[],
  opts: RunOptions,
  cmd: Command,
  io: Io,
): Promise<number> {
  const job = opts.job;
  if (!JOB_NAME.test(job))
    throw new LogsError('USAGE', '--job: expected 1-64 letters, digits, ., _ and -');
  const timeoutMs = opts.timeout === undefined ? undefined : parseTimeout(opts.timeout);
  const capture = opts.capture === true;
  // Arguments may hold secrets (a password on a command line): record the program only.
  const about = { command: path.basename(command), args: args.length };

  await record(
    cmd,
    job,
    LOCK_WAIT_BEFORE_MS,
    () => false,
    () =>
      jobEvent('job.started', job, `${job}: ${about.command} started`, {
        ...about,
        trigger: 'run',
        capture: capture ? true : undefined,
        timeout_s: timeoutMs === undefined ? undefined : timeoutMs / 1000,
      }),
  );

  let interrupted = false;
  const child = runChild({
    command,
    args,
    stdout: process.stdout,
    stderr: process.stderr,
    captureBytes: capture ? CAPTURE_BYTES : 0,
    ...(timeoutMs === undefined ? {} : { timeoutMs }),
  });
  // Our listeners also keep an open Logs from stopping the process on a signal (log/exit.ts):
  // the end of the run is recorded whatever happens to the command.
  const onSignal = (signal: NodeJS.Signals): void => {
    if (child.exited()) interrupted = true;
    else child.kill(signal);
  };
  for (const s of SIGNALS) process.on(s, onSignal);
  try {
    const result = await child.done;
    if (result.spawnError !== undefined)
      io.err(`dihya-logs: ${job}: cannot run ${about.command}: ${result.spawnError}\n`);
    else if (result.timedOut)
      io.err(`dihya-logs: ${job}: timed out after ${(timeoutMs ?? 0) / 1000} s\n`);
    try {
      await record(
        cmd,
        job,
        LOCK_WAIT_AFTER_MS,
        () => interrupted,
        (budget) => endEvent(job, about, result, capture, budget),
      );
    } catch (err) {
      // The command ran: its status still goes to the caller, with the reason it was not recorded.
      if (result.status === 0) throw err;
      const e = isLogsError(err) ? err : new LogsError('INTERNAL', String(err));
      io.err(`dihya-logs: ${e.code}: ${job}: the end of the run was not recorded: ${e.message}\n`);
    }
    return result.status;
  } finally {
    for (const s of SIGNALS) process.removeListener(s, onSignal);
  }
}

/**
 * Open the logs, write one event (waiting until it is durable), close. A lock held by another
 * process is waited for up to `waitMs`. `make` is given a byte budget for captured output and is
 * asked again with a smaller one if the record is too large once classified.
 */
async function record(
  cmd: Command,
  job: string,
  waitMs: number,
  stop: () => boolean,
  make: (captureBudget: number) => JobEvent,
): Promise<void> {
  const logs = await openWaiting(cmd, job, waitMs, stop);
  try {
    const max = logs.config.limits.maxRecordBytes;
    // Room for the rest of the record; then a quarter of that; then no output at all.
    const budgets = [Math.max(0, max - 4096), Math.floor(max / 4), 0];
    for (const [i, budget] of budgets.entries()) {
      try {
        await logs.write(make(budget), { wait: 'durable' });
        return;
      } catch (err) {
        if (!(isLogsError(err) && err.code === 'EVENT_TOO_LARGE') || i === budgets.length - 1)
          throw err;
      }
    }
  } finally {
    await logs.close();
  }
}

async function openWaiting(
  cmd: Command,
  job: string,
  waitMs: number,
  stop: () => boolean,
): Promise<LogCore> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      return await openForCli(cmd, `run --job ${job}`);
    } catch (err) {
      if (!isLogsError(err) || err.code !== 'LOGS_LOCKED') throw err;
      if (Date.now() >= deadline || stop()) {
        throw new LogsError(
          'LOGS_LOCKED',
          `${err.message} (waited ${Math.round(waitMs / 1000)} s)`,
          { cause: err, ...(err.details === undefined ? {} : { details: { ...err.details } }) },
        );
      }
      await new Promise((r) => setTimeout(r, LOCK_POLL_MS));
    }
  }
}

function endEvent(
  job: string,
  about: { command: string; args: number },
  r: ChildResult,
  capture: boolean,
  budget: number,
): JobEvent {
  const ok = r.status === 0 && r.spawnError === undefined && !r.timedOut;
  const how =
    r.spawnError !== undefined
      ? `could not be started (${r.spawnError})`
      : r.timedOut
        ? `timed out after ${r.durationMs} ms${r.signal === null ? '' : ` (${r.signal})`}`
        : r.signal !== null
          ? `was killed by ${r.signal} after ${r.durationMs} ms`
          : `exited with ${r.exitCode ?? '?'} after ${r.durationMs} ms`;
  const data: Record<string, unknown> = {
    ...about,
    code: ok ? undefined : JOB_FAILED,
    exit_code: r.exitCode ?? undefined,
    signal: r.signal ?? undefined,
    error: r.spawnError,
    timed_out: r.timedOut ? true : undefined,
    status: r.status,
    duration_ms: r.durationMs,
    stdout_bytes: r.stdout.total,
    stderr_bytes: r.stderr.total,
  };
  if (capture) Object.assign(data, captured(r, budget));
  return jobEvent(ok ? 'job.finished' : 'job.failed', job, `${job}: ${about.command} ${how}`, data);
}

/** The ends of both streams, fitted into `budget` bytes of JSON (the larger one cut first). */
function captured(r: ChildResult, budget: number): Record<string, unknown> {
  const total = r.stdout.total + r.stderr.total;
  if (budget === 0) return { capture_dropped: total > 0 ? true : undefined };
  let out = r.stdout.text();
  let err = r.stderr.text();
  const size = (s: string): number => Buffer.byteLength(JSON.stringify(s));
  // Halve the larger one, keeping its end (where errors usually are), until both fit.
  while (size(out) + size(err) > budget && out.length + err.length > 0) {
    if (out.length >= err.length) out = keepEnd(out);
    else err = keepEnd(err);
  }
  const cut = (text: string, bytes: number): true | undefined =>
    Buffer.byteLength(text) < bytes ? true : undefined;
  return {
    stdout: out,
    stderr: err,
    stdout_truncated: cut(out, r.stdout.total),
    stderr_truncated: cut(err, r.stderr.total),
  };
}

function keepEnd(text: string): string {
  if (text.length < 16) return '';
  const half = text.slice(Math.floor(text.length / 2));
  // Never start with the second half of a surrogate pair.
  const first = half.charCodeAt(0);
  return first >= 0xdc00 && first <= 0xdfff ? half.slice(1) : half;
}

function parseTimeout(text: string): number {
  const seconds = Number(text);
  // Node's timers hold at most 2^31-1 ms.
  if (!/^\d+(?:\.\d+)?$/.test(text.trim()) || !(seconds > 0) || seconds * 1000 > 2 ** 31 - 1)
    throw new LogsError(
      'USAGE',
      '--timeout: expected a number of seconds, above 0 (at most 24 days)',
    );
  return Math.round(seconds * 1000);
}
