import type { Command } from 'commander';
import { LogsError } from '../errors.js';
import { JOB_NAMES, type Config, type JobName } from '../config/resolve.js';
import { builtinJobs } from '../lifecycle/jobs.js';
import type { LogCore } from '../log/core.js';
import type { JobEvent } from '../scheduler/events.js';
import { Scheduler, type JobFn, type JobSpec } from '../scheduler/scheduler.js';
import type { Io } from './context.js';
import { openForCli } from './open.js';
import { escapeTerminal } from './terminal.js';

/** The job implementations, bound to the open logs. A job left out cannot be scheduled. */
export type MakeJobs = (logs: LogCore, config: Config) => Readonly<Partial<Record<JobName, JobFn>>>;

interface SchedulerOptions {
  readonly once?: string;
}

const STOP_SIGNALS = ['SIGINT', 'SIGTERM'] as const;

export function registerScheduler(
  program: Command,
  io: Io,
  makeJobs: MakeJobs = builtinJobs,
): void {
  program
    .command('scheduler')
    .description(
      `run the built-in jobs (${JOB_NAMES.join(', ')}) on their cron schedule (UTC), in the foreground`,
    )
    .option('--once <job>', 'run this job now (with its retries), then exit')
    .addHelpText(
      'after',
      '\nEach job run is recorded in the scheduler channel and printed as one line.\n' +
        'SIGINT or SIGTERM stops it cleanly: running jobs are asked to stop and waited for, then\n' +
        'the logs are closed (a second signal stops at once, after a synchronous flush).\n' +
        '\nExit status: 0; with --once, 1 when the job failed.',
    )
    .action(async (opts: SchedulerOptions, cmd: Command) => {
      process.exitCode = await runScheduler(opts, cmd, io, makeJobs);
    });
}

async function runScheduler(
  opts: SchedulerOptions,
  cmd: Command,
  io: Io,
  makeJobs: MakeJobs,
): Promise<number> {
  const once = opts.once === undefined ? undefined : jobName(opts.once);
  const logs = await openForCli(cmd, 'scheduler');
  try {
    const config = logs.config;
    const impl = makeJobs(logs, config);
    const jobs: JobSpec[] = [];
    for (const name of JOB_NAMES) {
      const run = impl[name];
      const { cron, enabled } = config.scheduler.jobs[name];
      if (once !== undefined ? name !== once : !enabled) continue;
      if (run === undefined) {
        if (once !== undefined)
          throw new LogsError('USAGE', `job "${name}" has no implementation in this version`);
        io.err(`dihya-logs scheduler: ${name}: no implementation in this version; not scheduled\n`);
        continue;
      }
      jobs.push({ name, cron, run });
    }
    const scheduler = new Scheduler({
      jobs,
      retry: config.scheduler.retry,
      onEvent: async (e) => {
        await logs.write(e, { wait: 'durable' });
        if (e.event !== 'job.started') io.out(`${formatJobLine(e, new Date())}\n`);
      },
      onError: (err) => io.err(`dihya-logs scheduler: ${err.code}: ${err.message}\n`),
    });
    if (once !== undefined) {
      const result = await scheduler.runNow(once);
      return result.status === 'finished' ? 0 : 1;
    }
    if (jobs.length === 0)
      throw new LogsError('CONFIG_INVALID', 'scheduler.jobs: no job is enabled: nothing to run');
    await foreground(scheduler, io);
    return 0;
  } finally {
    await logs.close();
  }
}

/** Run until SIGINT or SIGTERM, then stop (waiting for running jobs). */
async function foreground(scheduler: Scheduler, io: Io): Promise<void> {
  let onSignal: ((signal: NodeJS.Signals) => void) | undefined;
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    onSignal = resolve;
  });
  // While our listener is there, an open Logs only flushes on a signal (log/exit.ts). Removed
  // after the first one, so a second signal stops the process at once, after a sync flush.
  const listener = (signal: NodeJS.Signals): void => {
    for (const s of STOP_SIGNALS) process.removeListener(s, listener);
    onSignal?.(signal);
  };
  for (const s of STOP_SIGNALS) process.on(s, listener);
  try {
    scheduler.start();
    for (const s of scheduler.schedule()) {
      io.err(
        `dihya-logs scheduler: ${s.name} (${s.cron}) next at ${s.next?.toISOString() ?? 'never'}\n`,
      );
    }
    const signal = await stopped;
    io.err(`dihya-logs scheduler: ${signal}: stopping\n`);
    await scheduler.stop();
  } finally {
    for (const s of STOP_SIGNALS) process.removeListener(s, listener);
  }
}

function jobName(text: string): JobName {
  const name = JOB_NAMES.find((n) => n === text);
  if (name === undefined)
    throw new LogsError('USAGE', `--once: expected one of ${JOB_NAMES.join(', ')}`);
  return name;
}

/** One line per finished or failed attempt: time, the event's message, and the counts. */
export function formatJobLine(e: JobEvent, at: Date): string {
  const counts = e.data.counts as Record<string, number> | undefined;
  const shown =
    counts === undefined || Object.keys(counts).length === 0
      ? ''
      : ` (${Object.entries(counts)
          .map(([k, v]) => `${k}=${v}`)
          .join(' ')})`;
  return escapeTerminal(`${at.toISOString()} ${e.msg}${shown}`);
}
