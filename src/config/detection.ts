/**
 * The detection settings: the detectors on the live stream (`dihya-logs serve`), the user's own
 * rules, and where their alerts are sent. Types, defaults, and resolution from the file's keys.
 */
import path from 'node:path';
import { parseLevel, type Level } from '../event/levels.js';
import type { ConfigFile } from './schema.js';

/** A count over a sliding window: an alert when `threshold` events fall within `windowMs`. */
export interface CountedDetector {
  readonly enabled: boolean;
  readonly threshold: number;
  readonly windowMs: number;
}

/** A user rule: events matching `filter`, counted per `groupBy` value over `windowMs`. */
export interface DetectionRule {
  readonly name: string;
  readonly description: string | undefined;
  readonly filter: {
    readonly channel?: string;
    readonly event?: string;
    readonly level?: Level;
    readonly outcome?: string;
  };
  readonly threshold: number;
  readonly windowMs: number;
  /** actor, address, event, channel, request_id or data.<field>; absent: all together. */
  readonly groupBy: string | undefined;
}

/** Detectors on the live stream (`dihya-logs serve`); see docs/alerts.md. */
export interface DetectorsConfig {
  readonly enabled: boolean;
  readonly failedLogins: {
    readonly enabled: boolean;
    readonly events: readonly string[];
    /** Failures on one account within windowMs. */
    readonly perAccount: number;
    /** Failures from one address within windowMs. */
    readonly perAddress: number;
    /** Distinct accounts failing from one address within windowMs (credential stuffing). */
    readonly stuffingAccounts: number;
    readonly windowMs: number;
  };
  readonly accessDenied: CountedDetector;
  readonly privileged: { readonly enabled: boolean; readonly events: readonly string[] };
  readonly gdprBurst: CountedDetector;
  readonly massDeletion: CountedDetector & { readonly events: readonly string[] };
  readonly tampering: { readonly enabled: boolean };
  readonly loggingStopped: {
    readonly enabled: boolean;
    readonly channels: readonly string[];
    readonly silenceMs: number;
    readonly minFreeBytes: number;
  };
  readonly clockJump: { readonly enabled: boolean; readonly toleranceMs: number };
  readonly rules: readonly DetectionRule[];
}

/** Where alerts go besides the `security` channel. */
export interface AlertsConfig {
  readonly webhook:
    | {
        readonly url: string;
        /** The HMAC secret: from this environment variable, or from secretFile. */
        readonly secretEnv: string;
        readonly secretFile: string | undefined;
        readonly timeoutMs: number;
        readonly attempts: number;
        readonly backoffMs: number;
      }
    | undefined;
  readonly command: { readonly argv: readonly string[]; readonly timeoutMs: number } | undefined;
}

export const DEFAULT_DETECTORS: DetectorsConfig = {
  enabled: true,
  failedLogins: {
    enabled: true,
    events: ['auth.login.failure', 'auth.failure'],
    perAccount: 5,
    perAddress: 10,
    stuffingAccounts: 5,
    windowMs: 15 * 60_000,
  },
  accessDenied: { enabled: true, threshold: 20, windowMs: 5 * 60_000 },
  privileged: {
    enabled: true,
    events: [
      'admin.*',
      'role.*',
      'permission.*',
      'token.created',
      'token.revoked',
      'keys.rotated',
      'retention.hold.*',
      'gdpr.erasure',
    ],
  },
  gdprBurst: { enabled: true, threshold: 10, windowMs: 60 * 60_000 },
  massDeletion: {
    enabled: true,
    events: ['data.sensitive.delete'],
    threshold: 50,
    windowMs: 10 * 60_000,
  },
  tampering: { enabled: true },
  loggingStopped: {
    enabled: true,
    channels: ['app', 'api'],
    silenceMs: 60 * 60_000,
    minFreeBytes: 512 * 1024 * 1024,
  },
  clockJump: { enabled: true, toleranceMs: 2 * 60_000 },
  rules: [],
};

function counted(
  given: { enabled?: boolean; threshold?: number; window_ms?: number } | undefined,
  base: CountedDetector,
): CountedDetector {
  return {
    enabled: given?.enabled ?? base.enabled,
    threshold: given?.threshold ?? base.threshold,
    windowMs: given?.window_ms ?? base.windowMs,
  };
}

/** The `detectors:` section over the defaults (a user rule's level parsed). */
export function resolveDetectors(d: ConfigFile['detectors']): DetectorsConfig {
  const base = DEFAULT_DETECTORS;
  const fl = d?.failed_logins;
  const ls = d?.logging_stopped;
  return {
    enabled: d?.enabled ?? base.enabled,
    failedLogins: {
      enabled: fl?.enabled ?? base.failedLogins.enabled,
      events: fl?.events ?? base.failedLogins.events,
      perAccount: fl?.per_account ?? base.failedLogins.perAccount,
      perAddress: fl?.per_address ?? base.failedLogins.perAddress,
      stuffingAccounts: fl?.stuffing_accounts ?? base.failedLogins.stuffingAccounts,
      windowMs: fl?.window_ms ?? base.failedLogins.windowMs,
    },
    accessDenied: counted(d?.access_denied, base.accessDenied),
    privileged: {
      enabled: d?.privileged?.enabled ?? base.privileged.enabled,
      events: d?.privileged?.events ?? base.privileged.events,
    },
    gdprBurst: counted(d?.gdpr_burst, base.gdprBurst),
    massDeletion: {
      ...counted(d?.mass_deletion, base.massDeletion),
      events: d?.mass_deletion?.events ?? base.massDeletion.events,
    },
    tampering: { enabled: d?.tampering?.enabled ?? base.tampering.enabled },
    loggingStopped: {
      enabled: ls?.enabled ?? base.loggingStopped.enabled,
      channels: ls?.channels ?? base.loggingStopped.channels,
      silenceMs: ls?.silence_ms ?? base.loggingStopped.silenceMs,
      minFreeBytes: ls?.min_free_bytes ?? base.loggingStopped.minFreeBytes,
    },
    clockJump: {
      enabled: d?.clock_jump?.enabled ?? base.clockJump.enabled,
      toleranceMs: d?.clock_jump?.tolerance_ms ?? base.clockJump.toleranceMs,
    },
    rules: (d?.rules ?? []).map((r) => ({
      name: r.name,
      description: r.description,
      filter: {
        ...(r.filter.channel === undefined ? {} : { channel: r.filter.channel }),
        ...(r.filter.event === undefined ? {} : { event: r.filter.event }),
        ...(r.filter.level === undefined ? {} : { level: parseLevel(r.filter.level) }),
        ...(r.filter.outcome === undefined ? {} : { outcome: r.filter.outcome }),
      },
      threshold: r.threshold,
      windowMs: r.window_ms,
      groupBy: r.group_by,
    })),
  };
}

/** The `alerts:` section; a webhook's secret file resolves against `baseDir`. */
export function resolveAlerts(a: ConfigFile['alerts'], baseDir: string): AlertsConfig {
  const w = a?.webhook;
  return {
    webhook:
      w === undefined
        ? undefined
        : {
            url: w.url,
            secretEnv: w.secret_env ?? 'DIHYA_LOGS_WEBHOOK_SECRET',
            secretFile:
              w.secret_file === undefined ? undefined : path.resolve(baseDir, w.secret_file),
            timeoutMs: w.timeout_ms ?? 5000,
            attempts: w.attempts ?? 8,
            backoffMs: w.backoff_ms ?? 1000,
          },
    command:
      a?.command === undefined
        ? undefined
        : { argv: a.command.argv, timeoutMs: a.command.timeout_ms ?? 10_000 },
  };
}
