import { Cron } from 'croner';
import { LogsError, asLogsError } from '../errors.js';
import { stderrReporter } from '../log/report.js';
import { MAX_TIMER_MS, realClock, type Clock } from './clock.js';
import { jobEvent, shortMessage, type JobEvent } from './events.js';
import { cleanCounts, errorCode, type JobSpec, type RetryPolicy, type RunResult } from './job.js';

export type { JobContext, JobCounts, JobFn, JobSpec, RetryPolicy, RunResult } from './job.js';

export interface SchedulerOptions {
  readonly jobs: readonly JobSpec[];
  readonly retry: RetryPolicy;
  /** Stores a job event (in `scheduler`). Awaited: a run's events are stored in order. */
  readonly onEvent: (e: JobEvent) => Promise<void> | void;
  /** Default: the wall clock and Node's timers. */
  readonly clock?: Clock;
  /** Upper bound of the wait between retries. Default one hour. */
  readonly maxBackoffMs?: number;
  /** An event that could not be stored. Default: one line on stderr. Must not throw. */
  readonly onError?: (err: LogsError) => void;
}

/** Why a run started: its cron time came, or runNow(). A retry's job.started says `retry`. */
export type Trigger = 'cron' | 'manual';

interface JobState {
  readonly spec: JobSpec;
  readonly cron: Cron;
  /** The next cron time (ms), while one is planned. */
  due: number | undefined;
  timer: unknown;
  running: Promise<RunResult> | undefined;
  controller: AbortController | undefined;
  /** Runs that did not start because the job was still running; reported by the next start. */
  skipped: number;
}

const DEFAULT_MAX_BACKOFF_MS = 60 * 60 * 1000;

/**
 * Runs jobs at their cron times (UTC). Each attempt is recorded: `job.started`, then
 * `job.finished` (duration, counts) or `job.failed` (error code, and when the retry comes). A
 * failed run is retried with exponential backoff; a job never runs twice at once: a cron time or
 * a runNow() that comes while it runs (retries included) is skipped, and counted in the next
 * `job.started` as `data.skipped`. Times missed while the process was down or suspended are not
 * made up. Timers are the clock's, so tests drive time; the scheduler does nothing until start().
 */
export class Scheduler {
  private readonly states = new Map<string, JobState>();
  private readonly clock: Clock;
  private readonly retry: RetryPolicy;
  private readonly maxBackoffMs: number;
  private readonly onEvent: (e: JobEvent) => Promise<void> | void;
  private readonly onError: (err: LogsError) => void;
  private started = false;
  private stopping = false;

  constructor(options: SchedulerOptions) {
    this.clock = options.clock ?? realClock;
    this.onEvent = options.onEvent;
    this.onError = options.onError ?? stderrReporter('dihya-logs scheduler');
    const { attempts, backoffMs } = options.retry;
    if (!Number.isSafeInteger(attempts) || attempts < 0)
      throw new LogsError('CONFIG_INVALID', 'scheduler retry attempts: expected an integer ≥ 0');
    if (!Number.isFinite(backoffMs) || backoffMs < 0)
      throw new LogsError('CONFIG_INVALID', 'scheduler retry backoff: expected a number ≥ 0');
    this.retry = { attempts, backoffMs };
    this.maxBackoffMs = Math.min(options.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS, MAX_TIMER_MS);
    for (const spec of options.jobs) {
      if (this.states.has(spec.name))
        throw new LogsError('CONFIG_INVALID', `scheduler: job "${spec.name}" is given twice`);
      let cron: Cron;
      try {
        // paused: croner only computes times; the timers are the clock's.
        cron = new Cron(spec.cron, { timezone: 'UTC', paused: true });
      } catch (err) {
        throw new LogsError(
          'CONFIG_INVALID',
          `scheduler: job "${spec.name}": not a cron expression (${(err as Error).message})`,
          { cause: err },
        );
      }
      this.states.set(spec.name, {
        spec,
        cron,
        due: undefined,
        timer: undefined,
        running: undefined,
        controller: undefined,
        skipped: 0,
      });
    }
  }

  /** Plan every job's next cron time. */
  start(): void {
    if (this.stopping) throw new LogsError('USAGE', 'the scheduler was stopped');
    if (this.started) return;
    this.started = true;
    for (const state of this.states.values()) this.plan(state, this.clock.now());
  }

  /** Each job's next cron time (undefined before start(), or when its expression has no more). */
  schedule(): Array<{ name: string; cron: string; next: Date | undefined; running: boolean }> {
    return [...this.states.values()].map((s) => ({
      name: s.spec.name,
      cron: s.spec.cron,
      next: s.due === undefined ? undefined : new Date(s.due),
      running: s.running !== undefined,
    }));
  }

  /**
   * Run a job now, with the same retries as a cron run; resolves when it has finished, failed
   * for good, or (when it is already running) was skipped. Rejects with USAGE for an unknown job
   * or a stopped scheduler.
   */
  runNow(name: string): Promise<RunResult> {
    const state = this.states.get(name);
    if (this.stopping) return Promise.reject(new LogsError('USAGE', 'the scheduler was stopped'));
    if (state === undefined) {
      return Promise.reject(
        new LogsError(
          'USAGE',
          `no job named "${shortMessage(name).slice(0, 64)}" (jobs: ${[...this.states.keys()].join(', ')})`,
        ),
      );
    }
    if (state.running !== undefined) {
      state.skipped += 1;
      return Promise.resolve({ status: 'skipped', job: name });
    }
    return this.execute(state, 'manual');
  }

  /**
   * Stop: no new runs, and planned retries are dropped; running jobs are asked to stop through
   * their AbortSignal, and this resolves once they have returned (and their `job.failed` or
   * `job.finished` is stored). A job that ignores the signal is waited for.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    const running: Array<Promise<RunResult>> = [];
    for (const state of this.states.values()) {
      if (state.timer !== undefined) this.clock.clearTimeout(state.timer);
      state.timer = undefined;
      state.due = undefined;
      state.controller?.abort();
      if (state.running !== undefined) running.push(state.running);
    }
    await Promise.allSettled(running);
  }

  private plan(state: JobState, from: number): void {
    const next = state.cron.nextRun(new Date(from));
    state.due = next === null ? undefined : next.getTime();
    this.arm(state);
  }

  private arm(state: JobState): void {
    if (state.due === undefined || this.stopping) return;
    const wait = Math.min(Math.max(0, state.due - this.clock.now()), MAX_TIMER_MS);
    state.timer = this.clock.setTimeout(() => {
      this.onTimer(state);
    }, wait);
  }

  private onTimer(state: JobState): void {
    state.timer = undefined;
    const due = state.due;
    if (this.stopping || due === undefined) return;
    const now = this.clock.now();
    if (now < due) {
      this.arm(state); // a wait longer than one timer allows, or a timer that fired early
      return;
    }
    if (state.running === undefined) void this.execute(state, 'cron');
    else state.skipped += 1;
    this.plan(state, Math.max(now, due));
  }

  private execute(state: JobState, trigger: Trigger): Promise<RunResult> {
    const controller = new AbortController();
    state.controller = controller;
    const run = this.attempts(state, trigger, controller.signal).finally(() => {
      state.running = undefined;
      state.controller = undefined;
    });
    state.running = run;
    return run;
  }

  private async attempts(
    state: JobState,
    trigger: Trigger,
    signal: AbortSignal,
  ): Promise<RunResult> {
    const name = state.spec.name;
    const tries = this.retry.attempts + 1;
    const first = this.clock.now();
    for (let attempt = 1; ; attempt++) {
      const skipped = state.skipped;
      state.skipped = 0;
      await this.emit(
        jobEvent('job.started', name, `${name} started (attempt ${attempt} of ${tries})`, {
          trigger: attempt === 1 ? trigger : 'retry',
          attempt,
          skipped: skipped > 0 ? skipped : undefined,
        }),
      );
      const t0 = this.clock.now();
      try {
        if (signal.aborted) throw new Error('the scheduler is stopping');
        const counts = cleanCounts(await state.spec.run({ attempt, signal }));
        const durationMs = this.clock.now() - t0;
        await this.emit(
          jobEvent('job.finished', name, `${name} finished in ${durationMs} ms`, {
            attempt,
            duration_ms: durationMs,
            counts,
          }),
        );
        return {
          status: 'finished',
          job: name,
          attempts: attempt,
          durationMs: this.clock.now() - first,
          counts,
        };
      } catch (err) {
        const durationMs = this.clock.now() - t0;
        const code = errorCode(err);
        const message = shortMessage(err instanceof Error ? err.message : String(err));
        const retry = attempt < tries && !signal.aborted && !this.stopping;
        const waitMs = retry ? this.backoff(attempt) : undefined;
        const retryAt = waitMs === undefined ? undefined : this.clock.now() + waitMs;
        await this.emit(
          jobEvent(
            'job.failed',
            name,
            `${name} failed (attempt ${attempt} of ${tries}): ${code}: ${message}` +
              (retryAt === undefined ? '' : `; retry at ${new Date(retryAt).toISOString()}`),
            {
              attempt,
              attempts: tries,
              duration_ms: durationMs,
              code,
              aborted: signal.aborted ? true : undefined,
              retry_in_ms: waitMs,
              retry_at: retryAt === undefined ? undefined : new Date(retryAt).toISOString(),
            },
          ),
        );
        if (waitMs === undefined || !(await this.sleep(waitMs, signal))) {
          return {
            status: 'failed',
            job: name,
            attempts: attempt,
            durationMs: this.clock.now() - first,
            code,
            message,
          };
        }
      }
    }
  }

  private backoff(attempt: number): number {
    return Math.min(this.maxBackoffMs, this.retry.backoffMs * 2 ** (attempt - 1));
  }

  /** Wait on the clock; false if the run was aborted meanwhile (stop() does not wait for it). */
  private sleep(ms: number, signal: AbortSignal): Promise<boolean> {
    return new Promise((resolve) => {
      const onAbort = (): void => {
        this.clock.clearTimeout(handle);
        resolve(false);
      };
      const handle = this.clock.setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve(true);
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private async emit(e: JobEvent): Promise<void> {
    try {
      await this.onEvent(e);
    } catch (err) {
      // The job still runs: losing its record is reported, not allowed to stop the schedule.
      this.onError(asLogsError(err));
    }
  }
}
