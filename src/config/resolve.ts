/**
 * The configuration every part of the program reads (`Config`), its defaults, and
 * `resolveConfig`: validation, defaults and paths, then frozen. Detection settings are in
 * detection.ts.
 */
import path from 'node:path';
import { z } from 'zod';
import { Cron } from 'croner';
import { LogsError } from '../errors.js';
import { DEFAULT_CHANNELS } from '../event/channels.js';
import { parseLevel, type Level } from '../event/levels.js';
import { configSchema, type ConfigFile } from './schema.js';
import { resolveStore, type StoreConfig } from './store.js';
import {
  resolveAlerts,
  resolveDetectors,
  type AlertsConfig,
  type DetectorsConfig,
} from './detection.js';
import { compileClassifier } from '../redact/compile.js';
import { DEFAULT_CLASSIFICATION, type ClassificationConfig } from '../redact/settings.js';

/** `durable`: acknowledged after fdatasync, fails closed. `buffered`: written within 100 ms. */
export type Durability = 'durable' | 'buffered';

export interface ChannelConfig {
  readonly durability: Durability;
  readonly minLevel: Level;
  /** Rotate when the active file reaches maxBytes, and (daily) at the first record of a UTC day. */
  readonly rotate: { readonly maxBytes: number; readonly daily: boolean };
  /** Archives are deleted after maxDays, never before minDays (age of their newest record). */
  readonly retention: { readonly minDays: number; readonly maxDays: number };
  /**
   * Records' bodies stored as AES-256-GCM ciphertext under the channel's key (seq, ts, level,
   * channel and hash stay readable, so verify needs no key).
   */
  readonly encrypt: boolean;
}

export const JOB_NAMES = [
  'rotate',
  'archive',
  'retention',
  'checkpoint',
  'verify',
  'erasure',
] as const;
export type JobName = (typeof JOB_NAMES)[number];

export interface JobConfig {
  readonly cron: string;
  readonly enabled: boolean;
}

export interface ServiceConfig {
  readonly host: string;
  readonly port: number;
  /** Largest request body, refused before it is buffered. */
  readonly bodyLimit: number;
  /** Most events in one ingest request. */
  readonly maxEvents: number;
  /** A request not fully received in this time is refused (slow clients). */
  readonly requestTimeoutMs: number;
  /** Take the client address from X-Forwarded-For (behind a proxy you run). */
  readonly trustProxy: boolean;
  /** Below this many free bytes on the logs' filesystem, /readyz answers 503 DISK_LOW. */
  readonly minFreeBytes: number;
  readonly auth: {
    /** Failed authentications from one address, within windowMs, before answers slow down. */
    readonly slowAfter: number;
    /** ... and before the address is refused for lockoutMs. */
    readonly maxFailures: number;
    readonly windowMs: number;
    readonly lockoutMs: number;
  };
}

/** The validated, defaulted, frozen configuration every part of the program reads. */
export type { StoreConfig } from './store.js';

export interface Config {
  /** Absolute path of the logs directory. */
  readonly dir: string;
  /** Absolute path of the master key file, when configured. */
  readonly masterKeyFile: string | undefined;
  /** The file this came from, if any. */
  readonly source: string | undefined;
  readonly integrity: {
    /** Pinned public key (`ed25519:...`): verify refuses a log signed by another key. */
    readonly publicKey: string | undefined;
    readonly checkpointIntervalMs: number;
    /** Origins of the channels' signed-note checkpoints are `<logName>/<channel>`. */
    readonly logName: string | undefined;
    /** Witnesses that cosign the checkpoints (c2sp.org/tlog-witness), with their verifier keys. */
    readonly witnesses: ReadonlyArray<{ readonly url: string; readonly key: string }>;
    /** How many witnesses must cosign a checkpoint for it to count as witnessed. */
    readonly witnessQuorum: number;
    /** How often new checkpoints are sent to the witnesses (ms). */
    readonly witnessIntervalMs: number;
  };
  readonly limits: { readonly maxRecordBytes: number; readonly maxDepth: number };
  readonly writer: { readonly flushIntervalMs: number; readonly maxPendingBytes: number };
  /** Retries of a key stored within windowMs are answered, not stored; maxKeys kept at most. */
  readonly idempotency: { readonly windowMs: number; readonly maxKeys: number };
  /**
   * Where records are kept: `file` (the logs directory, the default) or `postgres` (one database
   * shared by any number of service instances; `url` may also come from DIHYA_LOGS_DATABASE_URL).
   */
  readonly store: StoreConfig;
  readonly classification: ClassificationConfig;
  readonly channels: Readonly<Record<string, ChannelConfig>>;
  readonly archive: { readonly compression: 'gzip'; readonly level: number };
  /**
   * Channels whose records must be kept for their minimum retention whatever a person asks
   * (their legal basis): an erasure touching them is scheduled for when the duty ends.
   */
  readonly gdpr: { readonly retentionDuty: Readonly<Record<string, { readonly basis: string }>> };
  /** `dihya-logs serve`: where it listens, its limits, and how failed sign-ins are slowed. */
  readonly service: ServiceConfig;
  /** The query index: fed by a background thread of the writing process when `live`. */
  readonly index: { readonly live: boolean; readonly intervalMs: number };
  readonly scheduler: {
    readonly jobs: Readonly<Record<JobName, JobConfig>>;
    /** A failed job is retried this many times, waiting backoffMs, then twice that, ... */
    readonly retry: { readonly attempts: number; readonly backoffMs: number };
  };
  readonly detectors: DetectorsConfig;
  readonly alerts: AlertsConfig;
}

const ROTATE = { maxBytes: 64 * 1024 * 1024, daily: true } as const;

/**
 * audit and security are acknowledged only when durable, and kept one to five years (a legal
 * duty to keep evidence); the rest are buffered and kept 30 to 90 days.
 */
export const DEFAULT_CHANNEL_CONFIG: Readonly<Record<string, ChannelConfig>> = Object.freeze({
  app: {
    durability: 'buffered',
    minLevel: 'INFO',
    rotate: ROTATE,
    retention: { minDays: 30, maxDays: 90 },
    encrypt: false,
  },
  audit: {
    durability: 'durable',
    minLevel: 'DEBUG',
    rotate: ROTATE,
    retention: { minDays: 365, maxDays: 1825 },
    encrypt: false,
  },
  security: {
    durability: 'durable',
    minLevel: 'DEBUG',
    rotate: ROTATE,
    retention: { minDays: 365, maxDays: 1825 },
    encrypt: true,
  },
  scheduler: {
    durability: 'buffered',
    minLevel: 'INFO',
    rotate: ROTATE,
    retention: { minDays: 30, maxDays: 90 },
    encrypt: false,
  },
  api: {
    durability: 'buffered',
    minLevel: 'INFO',
    rotate: ROTATE,
    retention: { minDays: 90, maxDays: 90 },
    encrypt: false,
  },
});

const OTHER_CHANNEL: ChannelConfig = {
  durability: 'buffered',
  minLevel: 'INFO',
  rotate: ROTATE,
  retention: { minDays: 30, maxDays: 90 },
  encrypt: false,
};

/** Built-in jobs and when they run (cron, UTC). */
export const DEFAULT_JOBS: Readonly<Record<JobName, JobConfig>> = Object.freeze({
  rotate: { cron: '0 0 * * *', enabled: true },
  archive: { cron: '*/10 * * * *', enabled: true },
  retention: { cron: '30 3 * * *', enabled: true },
  checkpoint: { cron: '0 * * * *', enabled: true },
  verify: { cron: '0 4 * * *', enabled: true },
  erasure: { cron: '15 5 * * *', enabled: true },
});

/**
 * Validate raw configuration (parsed YAML, or an object from the library caller) and apply
 * defaults. Relative paths resolve against `baseDir` (the configuration file's directory).
 * Errors name the bad key: `channels.app.durability: ...`.
 */
export function resolveConfig(raw: unknown, baseDir: string, source?: string): Config {
  const parsed = configSchema.safeParse(raw ?? {});
  if (!parsed.success) throw configError(parsed.error, source);
  const c: ConfigFile = parsed.data;
  const channels = resolveChannels(c.channels, source);
  const jobs = resolveJobs(c.scheduler?.jobs, source);
  const config: Config = {
    dir: path.resolve(baseDir, c.dir ?? './logs'),
    masterKeyFile:
      c.master_key_file === undefined ? undefined : path.resolve(baseDir, c.master_key_file),
    source,
    integrity: {
      publicKey: c.integrity?.public_key,
      checkpointIntervalMs: c.integrity?.checkpoint_interval_ms ?? 1000,
      logName: c.integrity?.log_name,
      witnesses: (c.integrity?.witnesses ?? []).map((w) => ({ url: w.url, key: w.key })),
      witnessQuorum: witnessQuorum(c.integrity, source),
      witnessIntervalMs: c.integrity?.witness_interval_ms ?? 5000,
    },
    limits: {
      maxRecordBytes: c.limits?.max_record_bytes ?? 64 * 1024,
      maxDepth: c.limits?.max_depth ?? 32,
    },
    writer: {
      flushIntervalMs: c.writer?.flush_interval_ms ?? 100,
      maxPendingBytes: c.writer?.max_pending_bytes ?? 8 * 1024 * 1024,
    },
    idempotency: {
      windowMs: c.idempotency?.window_ms ?? 86_400_000,
      maxKeys: c.idempotency?.max_keys ?? 100_000,
    },
    store: resolveStore(c.store, source),
    classification: {
      subjectFields: c.classification?.subject_fields ?? DEFAULT_CLASSIFICATION.subjectFields,
      personalFields: c.classification?.personal_fields ?? DEFAULT_CLASSIFICATION.personalFields,
      personTypes: c.classification?.person_types ?? DEFAULT_CLASSIFICATION.personTypes,
      ipAddresses: c.classification?.ip_addresses ?? DEFAULT_CLASSIFICATION.ipAddresses,
      keys: c.classification?.keys ?? {},
      patterns: (c.classification?.patterns ?? []).map((p) => ({
        name: p.name,
        pattern: p.pattern,
        mode: p.mode,
        ignoreCase: p.ignore_case ?? false,
      })),
    },
    channels,
    archive: { compression: c.archive?.compression ?? 'gzip', level: c.archive?.level ?? 6 },
    gdpr: { retentionDuty: retentionDuty(c.gdpr?.retention_duty) },
    index: { live: c.index?.live ?? false, intervalMs: c.index?.interval_ms ?? 1000 },
    service: {
      host: c.service?.host ?? '127.0.0.1',
      port: c.service?.port ?? 8080,
      bodyLimit: c.service?.body_limit ?? 1024 * 1024,
      maxEvents: c.service?.max_events ?? 1000,
      requestTimeoutMs: c.service?.request_timeout_ms ?? 10_000,
      trustProxy: c.service?.trust_proxy ?? false,
      minFreeBytes: c.service?.min_free_bytes ?? 64 * 1024 * 1024,
      auth: {
        slowAfter: c.service?.auth?.slow_after ?? 5,
        maxFailures: c.service?.auth?.max_failures ?? 20,
        windowMs: c.service?.auth?.window_ms ?? 60_000,
        lockoutMs: c.service?.auth?.lockout_ms ?? 15 * 60_000,
      },
    },
    scheduler: {
      jobs,
      retry: {
        attempts: c.scheduler?.retry?.attempts ?? 3,
        backoffMs: c.scheduler?.retry?.backoff_ms ?? 30_000,
      },
    },
    detectors: resolveDetectors(c.detectors),
    alerts: resolveAlerts(c.alerts, baseDir),
  };
  for (const name of config.detectors.loggingStopped.channels)
    if (channels[name] === undefined)
      throw new LogsError(
        'CONFIG_INVALID',
        `${source ?? 'configuration'}: detectors.logging_stopped.channels: "${name}" is not a configured channel`,
      );
  compileClassifier(config.classification); // refuse unsafe or invalid patterns now, at start
  return deepFreeze(config);
}

/** The built-in channels' defaults, each configured channel over its default (or OTHER_CHANNEL). */
function resolveChannels(
  configured: ConfigFile['channels'],
  source: string | undefined,
): Record<string, ChannelConfig> {
  const channels: Record<string, ChannelConfig> = {};
  for (const name of DEFAULT_CHANNELS)
    channels[name] = DEFAULT_CHANNEL_CONFIG[name] as ChannelConfig;
  for (const [name, given] of Object.entries(configured ?? {})) {
    const base = channels[name] ?? OTHER_CHANNEL;
    const retention = {
      minDays: given?.retention?.min_days ?? base.retention.minDays,
      maxDays: given?.retention?.max_days ?? base.retention.maxDays,
    };
    if (retention.maxDays < retention.minDays) {
      throw new LogsError(
        'CONFIG_INVALID',
        `${source ?? 'configuration'}: channels.${name}.retention: max_days (${retention.maxDays}) is below min_days (${retention.minDays})`,
      );
    }
    channels[name] = {
      durability: given?.durability ?? base.durability,
      minLevel: given?.min_level === undefined ? base.minLevel : parseLevel(given.min_level),
      rotate: {
        maxBytes: given?.rotate?.max_bytes ?? base.rotate.maxBytes,
        daily: given?.rotate?.daily ?? base.rotate.daily,
      },
      retention,
      encrypt: given?.encrypt ?? base.encrypt,
    };
  }
  return channels;
}

/** Each built-in job's schedule over its default; a cron expression is checked now, at start. */
function resolveJobs(
  configured: NonNullable<ConfigFile['scheduler']>['jobs'],
  source: string | undefined,
): Record<JobName, JobConfig> {
  const jobs = {} as Record<JobName, JobConfig>;
  for (const name of JOB_NAMES) {
    const given = configured?.[name];
    const cron = given?.cron ?? DEFAULT_JOBS[name].cron;
    checkCron(cron, `scheduler.jobs.${name}.cron`, source);
    jobs[name] = { cron, enabled: given?.enabled ?? DEFAULT_JOBS[name].enabled };
  }
  return jobs;
}

function witnessQuorum(
  integrity: { witnesses?: readonly unknown[]; witness_quorum?: number } | undefined,
  source: string | undefined,
): number {
  const count = integrity?.witnesses?.length ?? 0;
  const quorum = integrity?.witness_quorum ?? Math.min(1, count);
  if (quorum > count)
    throw new LogsError(
      'CONFIG_INVALID',
      `${source ?? 'configuration'}: integrity.witness_quorum: ${quorum} is more than the ${count} witness(es) configured`,
    );
  return quorum;
}

function checkCron(expr: string, key: string, source: string | undefined): void {
  try {
    new Cron(expr, { timezone: 'UTC', paused: true }).stop();
  } catch (err) {
    throw new LogsError(
      'CONFIG_INVALID',
      `${source ?? 'configuration'}: ${key}: not a cron expression (${(err as Error).message})`,
    );
  }
}

function configError(error: z.ZodError, source: string | undefined): LogsError {
  const where = source === undefined ? 'configuration' : source;
  const lines = error.issues.map((issue) => {
    const key = issue.path.map(String).join('.');
    return `${key === '' ? '(top level)' : key}: ${issue.message}`;
  });
  return new LogsError('CONFIG_INVALID', `${where}: ${lines.join('; ')}`);
}

export function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}

/** The default retention duties: the security and accountability trail (GDPR Art. 17(3)(b), (e)). */
export const DEFAULT_RETENTION_DUTY: Readonly<Record<string, { readonly basis: string }>> = {
  audit: {
    basis: 'accountability and security of processing (GDPR Art. 5(2), 32); Art. 17(3)(b) and (e)',
  },
  security: {
    basis: 'security of processing and incident evidence (GDPR Art. 32, 33); Art. 17(3)(e)',
  },
};

/** Configured duties over the defaults; `null` removes a default. */
function retentionDuty(
  configured: Record<string, { basis: string } | null> | undefined,
): Record<string, { basis: string }> {
  const out: Record<string, { basis: string }> = { ...DEFAULT_RETENTION_DUTY };
  for (const [channel, duty] of Object.entries(configured ?? {})) {
    if (duty === null) Reflect.deleteProperty(out, channel);
    else out[channel] = { basis: duty.basis };
  }
  return out;
}
