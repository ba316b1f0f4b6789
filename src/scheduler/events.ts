import { EVENT_CATALOGUE } from '../event/catalogue.js';
import type { Level } from '../event/levels.js';
import type { Outcome } from '../event/record.js';

export type JobEventType = 'job.started' | 'job.finished' | 'job.failed';

/**
 * A `scheduler` event about a job run, ready for `Logs.write()`. The job is the target
 * (`{type: 'job', id}`, as the `job.run` helper does); what happened is under `data`, in
 * snake_case: `attempt`, `duration_ms`, `code`, `exit_code`, `signal`, ...
 */
export type JobEvent = {
  readonly channel: string;
  readonly level: Level;
  readonly event: JobEventType;
  readonly msg: string;
  readonly outcome?: Outcome;
  readonly target: { readonly type: 'job'; readonly id: string };
  readonly data: Readonly<Record<string, unknown>>;
};

/** Build a job event; channel, level and outcome come from the event catalogue. */
export function jobEvent(
  type: JobEventType,
  job: string,
  msg: string,
  data: Readonly<Record<string, unknown>>,
): JobEvent {
  const spec = EVENT_CATALOGUE[type];
  return {
    channel: spec.channel,
    level: spec.level,
    event: type,
    msg,
    ...('outcome' in spec ? { outcome: spec.outcome } : {}),
    target: { type: 'job', id: job },
    // Absent values are left out rather than stored as null.
    data: Object.fromEntries(Object.entries(data).filter(([, v]) => v !== undefined)),
  };
}

/** Event data codes for a failure that is not a LogsError (an ordinary exception, an exit code). */
export const JOB_FAILED = 'JOB_FAILED';

// Error messages can be long (a stack in a message, a command's output): keep records small.
const MAX_MESSAGE = 500;

/** One line of an error message, bounded, for `msg`. */
export function shortMessage(text: string): string {
  const line = text.replace(/\s+/g, ' ').trim();
  return line.length > MAX_MESSAGE ? `${line.slice(0, MAX_MESSAGE - 1)}…` : line;
}
