import type { DetectionRule, DetectorsConfig } from '../config/detection.js';
import { LEVELS, levelAtLeast, type Level } from '../event/levels.js';
import { globToRegExp } from '../query/filter.js';
import { duration } from '../util/units.js';
import type { AlertDraft, Detector, Interest, Observed, Tokenize } from './types.js';
import { DistinctWindow, GroupWindow, setRecent, type Hit, type RecordRef } from './window.js';

/** At most this many references in one alert (the count says how many there were). */
export const MAX_EVIDENCE = 50;

function matcher(globs: readonly string[]): (event: string) => boolean {
  const exact = new Set(globs.filter((g) => !g.includes('*')));
  const patterns = globs.filter((g) => g.includes('*')).map((g) => globToRegExp(g));
  return (event) => exact.has(event) || patterns.some((p) => p.test(event));
}

function interest(events: readonly string[], outcomes: readonly string[] = []): Interest {
  return { events, outcomes, all: false };
}

function refs(hits: readonly Hit[]): RecordRef[] {
  return hits.slice(-MAX_EVIDENCE).map((h) => h.ref);
}

function span(hits: readonly Hit[]): { first_ts: string; last_ts: string } {
  const first = hits[0]?.ts ?? 0;
  const last = hits[hits.length - 1]?.ts ?? first;
  return { first_ts: new Date(first).toISOString(), last_ts: new Date(last).toISOString() };
}

/** An alert about the hits that reached a threshold within a window. */
function windowAlert(
  detector: string,
  type: string,
  message: string,
  group: { by: string; value: string },
  hits: readonly Hit[],
  windowMs: number,
  count = hits.length,
): AlertDraft {
  return {
    detector,
    type,
    message,
    group,
    count,
    windowMs,
    evidence: refs(hits),
    details: span(hits),
  };
}

function hitOf(r: Observed, weight = 1): Hit {
  return { ts: r.ts, ref: { channel: r.channel, seq: r.seq }, weight };
}

/**
 * Failed sign-ins: on one account (brute force), from one address (brute force from an
 * address), and on many accounts from one address (credential stuffing). Failures on an account
 * that already raised its alert are not counted again for its address: one attack, one alert.
 */
export function failedLogins(c: DetectorsConfig['failedLogins'], token: Tokenize): Detector {
  const wanted = matcher(c.events);
  const accounts = new GroupWindow(c.perAccount, c.windowMs);
  const addresses = new GroupWindow(c.perAddress, c.windowMs);
  const spread = new DistinctWindow(c.stuffingAccounts, c.windowMs);
  const window = duration(c.windowMs);
  return {
    name: 'failed_logins',
    interest: interest(c.events),
    observe(r) {
      if (!wanted(r.event)) return [];
      const account = r.account;
      const hit = hitOf(r);
      const alert = (
        type: string,
        message: string,
        group: NonNullable<AlertDraft['group']>,
        hits: Hit[],
      ) => [
        windowAlert('failed_logins', type, `${message} within ${window}`, group, hits, c.windowMs),
      ];
      if (account !== undefined) {
        const hits = accounts.add(account, hit);
        if (hits !== undefined)
          return alert(
            'brute_force',
            `${hits.length} failed sign-ins on one account`,
            { by: 'account', value: account },
            hits,
          );
        // Already alerted: its failures are that attack's, not the address's.
        if (accounts.isQuiet(account, r.ts)) return [];
      }
      const address = r.address();
      if (address === undefined) return [];
      // Keyed (an HMAC) only when an alert names it.
      const group = () => ({ by: 'address', value: token('addr', address) });
      const stuffing = account === undefined ? undefined : spread.add(address, account, hit);
      if (stuffing !== undefined) {
        addresses.quiet(address, r.ts);
        return alert(
          'credential_stuffing',
          `failed sign-ins on ${stuffing.length} different accounts from one address`,
          group(),
          stuffing,
        );
      }
      const hits = addresses.add(address, hit);
      return hits === undefined
        ? []
        : alert(
            'brute_force_address',
            `${hits.length} failed sign-ins from one address`,
            group(),
            hits,
          );
    },
  };
}

/** Refused accesses (`outcome: denied`, other than failed sign-ins) per account or address. */
export function accessDenied(
  c: DetectorsConfig['accessDenied'],
  loginEvents: readonly string[],
  token: Tokenize,
): Detector {
  const isLogin = matcher(loginEvents);
  const groups = new GroupWindow(c.threshold, c.windowMs);
  return {
    name: 'access_denied',
    interest: interest([], ['denied']),
    observe(r) {
      if (r.outcome !== 'denied' || isLogin(r.event)) return [];
      const address = r.account === undefined ? r.address() : undefined;
      const group =
        r.account !== undefined
          ? { by: 'account', value: r.account }
          : address !== undefined
            ? { by: 'address', value: token('addr', address) }
            : { by: 'all', value: 'all' };
      const hits = groups.add(`${group.by}:${group.value}`, hitOf(r));
      if (hits === undefined) return [];
      const who = group.by === 'all' ? 'unidentified client' : group.by;
      const message = `${hits.length} refused accesses by one ${who} within ${duration(c.windowMs)}`;
      return [
        windowAlert('access_denied', 'access_denied_burst', message, group, hits, c.windowMs),
      ];
    },
  };
}

/** Remembers which account did which privileged action (state across restarts). */
export interface PrivilegeMemory {
  has(account: string, action: string): boolean;
  add(account: string, action: string, ts: number): void;
}

/** A privileged action by an account that never did it before. */
export function privilegedFirstUse(
  c: DetectorsConfig['privileged'],
  memory: PrivilegeMemory,
): Detector {
  const wanted = matcher(c.events);
  return {
    name: 'privileged',
    interest: interest(c.events),
    observe(r) {
      if (!wanted(r.event) || r.account === undefined || r.outcome === 'denied') return [];
      if (r.outcome === 'failure' || r.outcome === 'error') return [];
      if (memory.has(r.account, r.event)) return [];
      memory.add(r.account, r.event, r.ts);
      return [
        {
          detector: 'privileged',
          type: 'privileged_first_use',
          message: `an account did ${r.event} for the first time`,
          group: { by: 'account', value: r.account },
          count: 1,
          evidence: [{ channel: r.channel, seq: r.seq }],
          details: { action: r.event },
        },
      ];
    },
  };
}

/** Many GDPR export or erasure requests by one requester (counted once per request id). */
export function gdprBurst(c: DetectorsConfig['gdprBurst']): Detector {
  const groups = new GroupWindow(c.threshold, c.windowMs);
  const seen = new Map<string, number>(); // request id → ts
  return {
    name: 'gdpr_burst',
    interest: interest(['gdpr.export', 'gdpr.erasure']),
    observe(r) {
      if (r.event !== 'gdpr.export' && r.event !== 'gdpr.erasure') return [];
      const request = r.field('data.request_id');
      if (request !== undefined) {
        if (seen.has(request)) return []; // the scheduled end of an erasure: the same request
        setRecent(seen, request, r.ts, 100_000);
      }
      const by = r.account ?? 'unknown';
      const hits = groups.add(by, hitOf(r));
      if (hits === undefined) return [];
      return [
        windowAlert(
          'gdpr_burst',
          'gdpr_burst',
          `${hits.length} GDPR export or erasure requests by one requester within ${duration(c.windowMs)}`,
          { by: 'account', value: by },
          hits,
          c.windowMs,
        ),
      ];
    },
  };
}

/** Deletions of sensitive data by one account: each event counts `data.count` (or 1). */
export function massDeletion(c: DetectorsConfig['massDeletion']): Detector {
  const wanted = matcher(c.events);
  const groups = new GroupWindow(c.threshold, c.windowMs);
  return {
    name: 'mass_deletion',
    interest: interest(c.events),
    observe(r) {
      if (!wanted(r.event) || r.outcome === 'failure' || r.outcome === 'denied') return [];
      const n = Number(r.field('data.count'));
      const weight = Number.isSafeInteger(n) && n > 0 ? n : 1;
      const by = r.account ?? 'unknown';
      const hits = groups.add(by, hitOf(r, weight));
      if (hits === undefined) return [];
      const total = hits.reduce((s, h) => s + h.weight, 0);
      return [
        windowAlert(
          'mass_deletion',
          'mass_deletion',
          `${total} deletions of sensitive data by one account within ${duration(c.windowMs)}`,
          { by: 'account', value: by },
          hits,
          c.windowMs,
          total,
        ),
      ];
    },
  };
}

const TAMPER_QUIET_MS = 60 * 60_000;

/**
 * Signs of tampering in the stream: a failed verify job, records appended to a closed log or
 * a log behind its checkpoint (found when it was opened). The service's own verification runs
 * report through `tampered()`. One alert per hour at most: the retries of a failing job, and
 * the job beside the service's run, are the same finding.
 */
export class Tampering implements Detector {
  readonly name = 'tampering';
  readonly interest = interest(['log.integrity.*', 'job.failed']);
  private readonly alerted = new GroupWindow(1, TAMPER_QUIET_MS);

  observe(r: Observed): AlertDraft[] {
    const integrity = r.event.startsWith('log.integrity.');
    const failedVerify =
      r.event === 'job.failed' &&
      r.field('target.id') === 'verify' &&
      r.field('data.code') === 'INTEGRITY_STATE';
    if (!integrity && !failedVerify) return [];
    return this.tampered(r.ts, [{ channel: r.channel, seq: r.seq }], {
      source: integrity ? r.event : 'verify job',
    });
  }

  /** A verification found damage (details: the kind and place of the first one). */
  tampered(
    ts: number,
    evidence: RecordRef[],
    details: Readonly<Record<string, string | number | boolean>>,
  ): AlertDraft[] {
    if (this.alerted.isQuiet('log', ts)) return [];
    this.alerted.quiet('log', ts);
    return [
      {
        detector: 'tampering',
        type: 'tampering',
        message: 'the log failed its integrity check: records may have been altered or removed',
        group: { by: 'log', value: 'log' },
        count: 1,
        evidence,
        details,
      },
    ];
  }
}

/** Records whose writer's clock went back by more than the tolerance. */
export function clockSkew(c: DetectorsConfig['clockJump']): Detector {
  const alerted = new GroupWindow(1, 60 * 60_000); // one alert per channel and hour
  return {
    name: 'clock_jump',
    interest: { events: [], outcomes: [], all: false },
    observe(r) {
      if (r.skewMs <= c.toleranceMs || alerted.isQuiet(r.channel, r.ts)) return [];
      alerted.quiet(r.channel, r.ts);
      return [
        {
          detector: 'clock_jump',
          type: 'clock_jump',
          message: `a writer's clock went back ${r.skewMs} ms (records keep their order by seq)`,
          group: { by: 'channel', value: r.channel },
          count: 1,
          evidence: [{ channel: r.channel, seq: r.seq }],
          details: { jump_ms: -r.skewMs, channel: r.channel },
        },
      ];
    },
  };
}

const SAFE_GROUPS = new Set(['event', 'channel']);

/** A user rule: matching events counted per group over a window. */
export function userRule(rule: DetectionRule, token: Tokenize): Detector {
  const f = rule.filter;
  const eventMatch = f.event === undefined ? undefined : matcher([f.event]);
  const level = f.level;
  const groups = new GroupWindow(rule.threshold, rule.windowMs);
  // An event glob with a literal start is found by it; one without (`*.delete`) is not.
  const events = f.event === undefined || f.event.startsWith('*') ? [] : [f.event];
  const byEvent = events.length > 0;
  return {
    name: `rule:${rule.name}`,
    interest: {
      events,
      outcomes: !byEvent && f.outcome !== undefined ? [f.outcome] : [],
      all: !byEvent && f.outcome === undefined,
    },
    observe(r) {
      if (f.channel !== undefined && r.channel !== f.channel) return [];
      if (eventMatch !== undefined && !eventMatch(r.event)) return [];
      if (f.outcome !== undefined && r.outcome !== f.outcome) return [];
      if (level !== undefined && !(isLevel(r.level) && levelAtLeast(r.level, level))) return [];
      const by = rule.groupBy;
      const key =
        by === undefined
          ? 'all'
          : by === 'actor'
            ? r.account
            : by === 'address'
              ? r.address()
              : r.field(by);
      if (key === undefined) return [];
      const hits = groups.add(key, hitOf(r));
      if (hits === undefined) return [];
      // A value that may be personal is named by its keyed digest (an HMAC, once per alert).
      const value =
        by === undefined || by === 'actor' || SAFE_GROUPS.has(by)
          ? key
          : token(by === 'address' ? 'addr' : 'grp', key);
      return [
        windowAlert(
          `rule:${rule.name}`,
          `rule.${rule.name}`,
          `${rule.description ?? `rule ${rule.name}`}: ${hits.length} matching events within ${duration(rule.windowMs)}`,
          { by: by ?? 'all', value },
          hits,
          rule.windowMs,
        ),
      ];
    },
  };
}

function isLevel(v: string): v is Level {
  return (LEVELS as readonly string[]).includes(v);
}
