import { planRetention } from '../lifecycle/retention.js';
import { readSegmentBook } from '../store/file/index.js';
import { type Check, type CheckResult, type DoctorContext, type Finding } from './types.js';

/**
 * The bounds doctor holds retention to (docs/doctor.md). The CNIL recommends keeping security
 * logs six months to a year; GDPR Art. 5(1)(e) says no longer than needed.
 */
export const RETENTION_BOUNDS = {
  /** A channel under a retention duty keeps its records at least this long. */
  dutyMinDays: 180,
  /** ... and at most this long (10 years: the longest duty a log usually answers). */
  dutyMaxDays: 3650,
  /** A channel under no duty (app, api, scheduler, yours) keeps them at most a year. */
  maxDays: 365,
} as const;

/**
 * Retention settings within bounds (a duty's minimum, no keeping longer than needed), and the
 * files agreeing with them: no archive still on disk past its channel's maximum.
 */
export const retentionCheck: Check = {
  id: 'retention',
  title: 'retention within bounds',
  run(ctx: DoctorContext): CheckResult {
    const { config } = ctx;
    const file = config.source ?? 'dihya-logs.yaml';
    const fails: Finding[] = [];
    const warns: Finding[] = [];
    for (const [channel, settings] of Object.entries(config.channels)) {
      const { minDays, maxDays } = settings.retention;
      const key = `channels.${channel}.retention`;
      const duty = config.gdpr.retentionDuty[channel];
      if (maxDays < minDays)
        fails.push({
          what: `${channel}: max_days (${maxDays}) is below min_days (${minDays})`,
          fix: `set ${key}.max_days to at least ${minDays} in ${file}`,
        });
      if (duty !== undefined && minDays < RETENTION_BOUNDS.dutyMinDays)
        fails.push({
          what: `${channel} is under a retention duty (${duty.basis}) but keeps records only ${minDays} day(s); the CNIL recommends 6 months to 1 year for security logs`,
          fix: `set ${key}.min_days to at least ${RETENTION_BOUNDS.dutyMinDays} (365 is the default) in ${file}`,
        });
      if (duty !== undefined && maxDays > RETENTION_BOUNDS.dutyMaxDays)
        fails.push({
          what: `${channel} keeps records up to ${maxDays} days, more than ${RETENTION_BOUNDS.dutyMaxDays} even under its retention duty`,
          fix: `set ${key}.max_days to at most ${RETENTION_BOUNDS.dutyMaxDays} (what the duty requires) in ${file}`,
        });
      if (duty === undefined && maxDays > RETENTION_BOUNDS.maxDays)
        fails.push({
          what: `${channel} keeps records up to ${maxDays} days without a retention duty: personal data kept longer than needed (GDPR Art. 5(1)(e))`,
          fix: `set ${key}.max_days to at most ${RETENTION_BOUNDS.maxDays} in ${file}, or, if a law requires keeping them, declare it: gdpr.retention_duty.${channel}.basis`,
        });
    }
    for (const channel of Object.keys(config.gdpr.retentionDuty))
      if (config.channels[channel] === undefined)
        warns.push({
          what: `gdpr.retention_duty names ${channel}, which is not a configured channel`,
          fix: `remove it (gdpr.retention_duty.${channel}: null) or configure the channel in ${file}`,
        });

    // The files: an archive past its maximum still on disk means retention is not running.
    const book = readSegmentBook(ctx.layout, ctx.meta.log_id);
    const overdue = planRetention(book, config, ctx.now, ctx.layout).filter(
      (d) => d.action === 'delete',
    );
    for (const d of overdue)
      fails.push({
        what: d.leftover
          ? `${d.file}: tombstoned by retention but still on disk`
          : `${d.file}: ${d.ageDays} days old, past the maximum of ${config.channels[d.channel]?.retention.maxDays ?? '?'} days of ${d.channel}: retention is not running`,
        fix: 'dihya-logs retention (and make sure the retention job runs: in the service, or dihya-logs scheduler)',
      });
    if (!config.scheduler.jobs.retention.enabled)
      warns.push({
        what: 'the retention job is disabled (scheduler.jobs.retention.enabled: false): archives are deleted only when someone runs dihya-logs retention',
        fix: `set scheduler.jobs.retention.enabled: true in ${file}, or run dihya-logs retention from cron`,
      });
    const channels = Object.keys(config.channels).length;
    const archives = book
      .channels()
      .reduce((n, c) => n + book.segments(c).filter((s) => s.state === 'sealed').length, 0);
    const head = `${channels} channel(s), ${archives} archive(s) on disk`;
    if (fails.length > 0)
      return {
        status: 'fail',
        summary: `${head}: ${fails.length} problem(s)`,
        findings: [...fails, ...warns],
      };
    if (warns.length > 0) return { status: 'warn', summary: head, findings: warns };
    return {
      status: 'ok',
      summary: `${head}: every setting within bounds, no archive past its maximum`,
      findings: [],
    };
  },
};
