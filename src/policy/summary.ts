import type { AlertsConfig, DetectionRule, DetectorsConfig } from '../config/detection.js';
import type { Config } from '../config/resolve.js';
import { JOB_NAMES } from '../config/resolve.js';
import { POLICY_ROLES, ROLE_DUTIES } from '../access/roles.js';

/** A value of the summary: configuration, never personal data or a secret. */
export type SummaryValue = string | number | boolean | readonly string[];

/** The policy-relevant configuration, flat: `channels.app.retention.max_days` → 90. */
export type PolicySummary = Readonly<Record<string, SummaryValue>>;

/** One changed key; `null` when the key is new or gone. */
export interface PolicyChange {
  readonly key: string;
  readonly from: SummaryValue | null;
  readonly to: SummaryValue | null;
}

/**
 * Everything in the configuration that the log policy states (what is logged where, what is
 * removed or encrypted, retention, integrity, access, detectors, alerts), under the keys of
 * dihya-logs.yaml. A webhook appears as its origin only and a command as its program: a URL's
 * path or a command's arguments may hold a secret.
 */
export function policySummary(config: Config): PolicySummary {
  const out: Record<string, SummaryValue> = {};
  const put = (key: string, value: SummaryValue | undefined): void => {
    if (value !== undefined) out[key] = value;
  };
  for (const [name, c] of Object.entries(config.channels)) {
    const k = `channels.${name}`;
    put(`${k}.durability`, c.durability);
    put(`${k}.min_level`, c.minLevel);
    put(`${k}.encrypt`, c.encrypt);
    put(`${k}.rotate.max_bytes`, c.rotate.maxBytes);
    put(`${k}.rotate.daily`, c.rotate.daily);
    put(`${k}.retention.min_days`, c.retention.minDays);
    put(`${k}.retention.max_days`, c.retention.maxDays);
  }
  const cl = config.classification;
  put('classification.subject_fields', cl.subjectFields);
  put('classification.personal_fields', cl.personalFields);
  put('classification.person_types', cl.personTypes);
  put('classification.ip_addresses', cl.ipAddresses);
  for (const [key, mode] of Object.entries(cl.keys)) put(`classification.keys.${key}`, mode);
  for (const p of unique(cl.patterns)) {
    put(`classification.patterns.${p.key}.pattern`, p.value.pattern);
    put(`classification.patterns.${p.key}.mode`, p.value.mode);
    put(`classification.patterns.${p.key}.ignore_case`, p.value.ignoreCase);
  }
  for (const [channel, duty] of Object.entries(config.gdpr.retentionDuty))
    put(`gdpr.retention_duty.${channel}.basis`, duty.basis);
  put('integrity.public_key', config.integrity.publicKey);
  put('integrity.checkpoint_interval_ms', config.integrity.checkpointIntervalMs);
  put('limits.max_record_bytes', config.limits.maxRecordBytes);
  put('limits.max_depth', config.limits.maxDepth);
  for (const job of JOB_NAMES) {
    put(`scheduler.jobs.${job}.cron`, config.scheduler.jobs[job].cron);
    put(`scheduler.jobs.${job}.enabled`, config.scheduler.jobs[job].enabled);
  }
  const auth = config.service.auth;
  put('service.auth.slow_after', auth.slowAfter);
  put('service.auth.max_failures', auth.maxFailures);
  put('service.auth.window_ms', auth.windowMs);
  put('service.auth.lockout_ms', auth.lockoutMs);
  detectors(config.detectors, put);
  alerts(config.alerts, put);
  for (const role of POLICY_ROLES) put(`roles.${role}`, ROLE_DUTIES[role]);
  return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** The keys whose values differ, in key order. */
export function diffSummary(before: PolicySummary, after: PolicySummary): PolicyChange[] {
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  const changes: PolicyChange[] = [];
  for (const key of keys) {
    const from = before[key] ?? null;
    const to = after[key] ?? null;
    if (JSON.stringify(from) !== JSON.stringify(to)) changes.push({ key, from, to });
  }
  return changes;
}

/** `https://host[:port]` of a URL: its path and query may carry a secret. */
export function urlOrigin(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}`;
  } catch {
    return '(not a URL)';
  }
}

/** The base name of a program, without its directory. */
export function programName(argv0: string | undefined): string {
  if (argv0 === undefined) return '(none)';
  const parts = argv0.split(/[\\/]/u);
  return parts[parts.length - 1] ?? argv0;
}

type Put = (key: string, value: SummaryValue | undefined) => void;

function detectors(d: DetectorsConfig, put: Put): void {
  const k = 'detectors';
  put(`${k}.enabled`, d.enabled);
  const fl = d.failedLogins;
  put(`${k}.failed_logins.enabled`, fl.enabled);
  put(`${k}.failed_logins.events`, fl.events);
  put(`${k}.failed_logins.per_account`, fl.perAccount);
  put(`${k}.failed_logins.per_address`, fl.perAddress);
  put(`${k}.failed_logins.stuffing_accounts`, fl.stuffingAccounts);
  put(`${k}.failed_logins.window_ms`, fl.windowMs);
  for (const [name, c] of [
    ['access_denied', d.accessDenied],
    ['gdpr_burst', d.gdprBurst],
    ['mass_deletion', d.massDeletion],
  ] as const) {
    put(`${k}.${name}.enabled`, c.enabled);
    put(`${k}.${name}.threshold`, c.threshold);
    put(`${k}.${name}.window_ms`, c.windowMs);
  }
  put(`${k}.mass_deletion.events`, d.massDeletion.events);
  put(`${k}.privileged.enabled`, d.privileged.enabled);
  put(`${k}.privileged.events`, d.privileged.events);
  put(`${k}.tampering.enabled`, d.tampering.enabled);
  const ls = d.loggingStopped;
  put(`${k}.logging_stopped.enabled`, ls.enabled);
  put(`${k}.logging_stopped.channels`, ls.channels);
  put(`${k}.logging_stopped.silence_ms`, ls.silenceMs);
  put(`${k}.logging_stopped.min_free_bytes`, ls.minFreeBytes);
  put(`${k}.clock_jump.enabled`, d.clockJump.enabled);
  put(`${k}.clock_jump.tolerance_ms`, d.clockJump.toleranceMs);
  for (const r of unique(d.rules)) rule(`${k}.rules.${r.key}`, r.value, put);
}

function rule(k: string, r: DetectionRule, put: Put): void {
  put(`${k}.description`, r.description);
  put(`${k}.filter.channel`, r.filter.channel);
  put(`${k}.filter.event`, r.filter.event);
  put(`${k}.filter.level`, r.filter.level);
  put(`${k}.filter.outcome`, r.filter.outcome);
  put(`${k}.threshold`, r.threshold);
  put(`${k}.window_ms`, r.windowMs);
  put(`${k}.group_by`, r.groupBy);
}

function alerts(a: AlertsConfig, put: Put): void {
  if (a.webhook !== undefined) {
    put('alerts.webhook.url', urlOrigin(a.webhook.url));
    put('alerts.webhook.timeout_ms', a.webhook.timeoutMs);
    put('alerts.webhook.attempts', a.webhook.attempts);
    put('alerts.webhook.backoff_ms', a.webhook.backoffMs);
  }
  if (a.command !== undefined) {
    put('alerts.command.program', programName(a.command.argv[0]));
    put('alerts.command.timeout_ms', a.command.timeoutMs);
  }
}

/** Items keyed by name; a repeated name gets `#2`, `#3`... so no key is lost. */
function unique<T extends { readonly name: string }>(
  items: readonly T[],
): Array<{ key: string; value: T }> {
  const seen = new Map<string, number>();
  return items.map((value) => {
    const n = (seen.get(value.name) ?? 0) + 1;
    seen.set(value.name, n);
    return { key: n === 1 ? value.name : `${value.name}#${n}`, value };
  });
}
