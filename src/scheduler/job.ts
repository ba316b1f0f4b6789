import { isLogsError } from '../errors.js';
import { JOB_FAILED } from './events.js';

/** What a job is given: which attempt this is, and a signal raised when the scheduler stops. */
export interface JobContext {
  readonly attempt: number;
  readonly signal: AbortSignal;
}

/** What a job did, as counts (`{segments: 3, bytes: 1024}`), recorded in `job.finished`. */
export type JobCounts = Readonly<Record<string, number>>;

export type JobFn = (ctx: JobContext) => Promise<JobCounts>;

export interface JobSpec {
  /** Shown in events and used by runNow(). */
  readonly name: string;
  /** Cron expression (5 fields, or 6 with seconds), read in UTC. */
  readonly cron: string;
  readonly run: JobFn;
}

export interface RetryPolicy {
  /** Retries after a failed attempt (0: none). */
  readonly attempts: number;
  /** Wait before the first retry; doubled before each next one. */
  readonly backoffMs: number;
}

/**
 * How a run ended; `durationMs` covers all its attempts and the waits between them. `skipped`:
 * the job was still running, so this run did not start.
 */
export type RunResult =
  | {
      readonly status: 'finished';
      readonly job: string;
      readonly attempts: number;
      readonly durationMs: number;
      readonly counts: JobCounts;
    }
  | {
      readonly status: 'failed';
      readonly job: string;
      readonly attempts: number;
      readonly durationMs: number;
      readonly code: string;
      readonly message: string;
    }
  | { readonly status: 'skipped'; readonly job: string };

/** The code recorded for a failure: the LogsError's, IO_ERROR for a system error, else JOB_FAILED. */
export function errorCode(err: unknown): string {
  if (isLogsError(err)) return err.code;
  if (err instanceof Error && typeof (err as NodeJS.ErrnoException).syscall === 'string')
    return 'IO_ERROR';
  return JOB_FAILED;
}

// A count is stored under its own key in `data.counts`: keep plain names and finite numbers.
const COUNT_KEY = /^[a-z]\w{0,63}$/i;

export function cleanCounts(value: unknown): JobCounts {
  if (typeof value !== 'object' || value === null) return {};
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(value)) {
    if (COUNT_KEY.test(k) && typeof v === 'number' && Number.isFinite(v)) out[k] = v;
  }
  return out;
}
