import { Cron } from 'croner';
import type { Config, JobName } from '../config/resolve.js';
import { DEFAULT_JOBS } from '../config/resolve.js';

const HOUR_MS = 3_600_000;

/**
 * The longest wait between two runs of a job over its next `runs` times from `now` (cron read
 * in UTC, as the scheduler reads it). A disabled job counts at its default schedule: nothing
 * else runs it on time, and doctor judges by what the schedule should be.
 */
export function jobIntervalMs(
  config: Pick<Config, 'scheduler'>,
  job: JobName,
  now: number,
  runs = 48,
): number {
  const { cron, enabled } = config.scheduler.jobs[job];
  const expr = enabled ? cron : DEFAULT_JOBS[job].cron;
  const c = new Cron(expr, { timezone: 'UTC', paused: true });
  try {
    const times = c.nextRuns(runs, new Date(now)).map((d) => d.getTime());
    let longest = 0;
    for (let i = 1; i < times.length; i++)
      longest = Math.max(longest, (times[i] as number) - (times[i - 1] as number));
    return longest > 0 ? longest : HOUR_MS;
  } finally {
    c.stop();
  }
}
