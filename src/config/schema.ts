import { z } from 'zod';
import { LEVELS } from '../event/levels.js';

/**
 * The shape of `dihya-logs.yaml`. Only types and ranges live here; defaults are applied by
 * `resolve.ts`, so the file a user writes can stay short.
 */
const level = z.enum([...LEVELS, ...LEVELS.map((l) => l.toLowerCase())] as [string, ...string[]]);

const days = z.number().int().min(1).max(36500);

const channel = z.strictObject({
  durability: z.enum(['durable', 'buffered']).optional(),
  min_level: level.optional(),
  rotate: z
    .strictObject({
      max_bytes: z
        .number()
        .int()
        .min(64 * 1024)
        .max(16 * 1024 * 1024 * 1024)
        .optional(),
      daily: z.boolean().optional(),
    })
    .optional(),
  retention: z.strictObject({ min_days: days.optional(), max_days: days.optional() }).optional(),
  encrypt: z.boolean().optional(),
});

const job = z.strictObject({
  cron: z.string().min(9).max(128).optional(),
  enabled: z.boolean().optional(),
});

const mode = z.enum(['remove', 'mask', 'encrypt', 'identifier', 'keep']);

const classification = z.strictObject({
  subject_fields: z
    .array(
      z
        .string()
        .regex(
          /^(?:subject|actor\.\w+|target\.\w+)$/,
          'expected subject, actor.<field> or target.<field>',
        ),
    )
    .optional(),
  personal_fields: z
    .array(z.string().regex(/^(?:actor|target)\.\w+$/, 'expected actor.<field> or target.<field>'))
    .optional(),
  person_types: z.array(z.string().min(1).max(64)).optional(),
  ip_addresses: z.enum(['encrypt', 'truncate']).optional(),
  keys: z.record(z.string().min(1).max(128), mode).optional(),
  patterns: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[a-z][\d_a-z]{0,31}$/, 'a rule name is 1-32 of a-z, 0-9 and _'),
        pattern: z.string().min(1).max(256),
        mode: z.enum(['remove', 'mask', 'encrypt', 'keep']),
        ignore_case: z.boolean().optional(),
      }),
    )
    .optional(),
});

const windowMs = z
  .number()
  .int()
  .min(1000)
  .max(7 * 86_400_000);
const threshold = z.number().int().min(1).max(1_000_000);
const eventGlob = z
  .string()
  .regex(/^[\w*.-]{1,128}$/, 'an event type or a glob of one (letters, digits, _, -, ., *)');
const counted = z.strictObject({
  enabled: z.boolean().optional(),
  threshold: threshold.optional(),
  window_ms: windowMs.optional(),
});

const detectors = z.strictObject({
  enabled: z.boolean().optional(),
  failed_logins: z
    .strictObject({
      enabled: z.boolean().optional(),
      events: z.array(eventGlob).min(1).max(50).optional(),
      per_account: threshold.optional(),
      per_address: threshold.optional(),
      stuffing_accounts: z.number().int().min(2).max(100_000).optional(),
      window_ms: windowMs.optional(),
    })
    .optional(),
  access_denied: counted.optional(),
  privileged: z
    .strictObject({
      enabled: z.boolean().optional(),
      events: z.array(eventGlob).min(1).max(100).optional(),
    })
    .optional(),
  gdpr_burst: counted.optional(),
  mass_deletion: counted
    .extend({ events: z.array(eventGlob).min(1).max(50).optional() })
    .optional(),
  tampering: z.strictObject({ enabled: z.boolean().optional() }).optional(),
  logging_stopped: z
    .strictObject({
      enabled: z.boolean().optional(),
      channels: z.array(z.string().min(1).max(32)).max(64).optional(),
      silence_ms: z
        .number()
        .int()
        .min(10_000)
        .max(7 * 86_400_000)
        .optional(),
      min_free_bytes: z.number().int().min(0).optional(),
    })
    .optional(),
  clock_jump: z
    .strictObject({
      enabled: z.boolean().optional(),
      tolerance_ms: z.number().int().min(1000).max(86_400_000).optional(),
    })
    .optional(),
  rules: z
    .array(
      z.strictObject({
        name: z.string().regex(/^[a-z][\d_a-z]{0,31}$/, 'a rule name is 1-32 of a-z, 0-9 and _'),
        description: z.string().max(500).optional(),
        filter: z.strictObject({
          channel: z.string().min(1).max(32).optional(),
          event: eventGlob.optional(),
          level: level.optional(),
          outcome: z
            .enum(['success', 'failure', 'denied', 'error', 'pending', 'unknown'])
            .optional(),
        }),
        threshold,
        window_ms: windowMs,
        group_by: z
          .string()
          .regex(
            /^(?:actor|address|event|channel|request_id|data\.\w{1,64})$/,
            'expected actor, address, event, channel, request_id or data.<field>',
          )
          .optional(),
      }),
    )
    .max(100)
    .optional(),
});

const alerts = z.strictObject({
  webhook: z
    .strictObject({
      url: z.url({ protocol: /^https?$/, error: 'an http:// or https:// URL' }).max(2048),
      secret_env: z
        .string()
        .regex(/^[A-Z_][A-Z0-9_]{0,127}$/)
        .optional(),
      secret_file: z.string().min(1).optional(),
      timeout_ms: z.number().int().min(100).max(120_000).optional(),
      attempts: z.number().int().min(1).max(50).optional(),
      backoff_ms: z.number().int().min(10).max(3_600_000).optional(),
    })
    .optional(),
  command: z
    .strictObject({
      argv: z.array(z.string().min(1).max(4096)).min(1).max(64),
      timeout_ms: z.number().int().min(100).max(600_000).optional(),
    })
    .optional(),
});

export const configSchema = z.strictObject({
  dir: z.string().min(1).optional(),
  master_key_file: z.string().min(1).optional(),
  integrity: z
    .strictObject({
      public_key: z.string().optional(),
      checkpoint_interval_ms: z.number().int().min(50).max(1000).optional(),
      log_name: z
        .string()
        .regex(
          /^[\x21-\x2a\x2c-\x7e]{1,200}$/,
          'a log name is printable ASCII without spaces or "+", such as example.com/logs',
        )
        .optional(),
      witnesses: z
        .array(
          z.strictObject({
            url: z.url({ protocol: /^https?$/ }),
            key: z
              .string()
              .regex(
                /^[\x21-\x2a\x2c-\x7e]{1,255}\+[0-9a-f]{8}\+[A-Za-z0-9+/]{44}$/,
                "a witness's verifier key, as `dihya-logs witness key` prints it (name+keyid+base64)",
              ),
          }),
        )
        .max(16)
        .optional(),
      witness_quorum: z.number().int().min(1).max(16).optional(),
      witness_interval_ms: z.number().int().min(1000).max(3_600_000).optional(),
    })
    .optional(),
  limits: z
    .strictObject({
      max_record_bytes: z
        .number()
        .int()
        .min(1024)
        .max(1024 * 1024)
        .optional(),
      max_depth: z.number().int().min(2).max(64).optional(),
    })
    .optional(),
  writer: z
    .strictObject({
      flush_interval_ms: z.number().int().min(1).max(100).optional(),
      max_pending_bytes: z
        .number()
        .int()
        .min(64 * 1024)
        .max(256 * 1024 * 1024)
        .optional(),
    })
    .optional(),
  store: z
    .strictObject({
      kind: z.enum(['file', 'postgres']).optional(),
      url: z.string().min(1).max(2048).optional(),
      schema: z
        .string()
        .regex(/^[a-z_][a-z0-9_]{0,62}$/, 'expected a lower-case SQL name (letters, digits, _)')
        .optional(),
      pool_size: z.number().int().min(2).max(100).optional(),
    })
    .optional(),
  classification: classification.optional(),
  idempotency: z
    .strictObject({
      window_ms: z
        .number()
        .int()
        .min(1000)
        .max(7 * 86_400_000)
        .optional(),
      max_keys: z.number().int().min(1).max(10_000_000).optional(),
    })
    .optional(),
  archive: z
    .strictObject({
      compression: z.enum(['gzip']).optional(),
      level: z.number().int().min(1).max(9).optional(),
    })
    .optional(),
  gdpr: z
    .strictObject({
      retention_duty: z
        .record(
          z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/),
          z.strictObject({ basis: z.string().min(3).max(500) }).nullable(),
        )
        .optional(),
    })
    .optional(),
  index: z
    .strictObject({
      live: z.boolean().optional(),
      interval_ms: z.number().int().min(100).max(60_000).optional(),
    })
    .optional(),
  service: z
    .strictObject({
      host: z.string().min(1).max(255).optional(),
      port: z.number().int().min(0).max(65535).optional(),
      body_limit: z
        .number()
        .int()
        .min(1024)
        .max(64 * 1024 * 1024)
        .optional(),
      max_events: z.number().int().min(1).max(100_000).optional(),
      request_timeout_ms: z.number().int().min(100).max(600_000).optional(),
      trust_proxy: z.boolean().optional(),
      min_free_bytes: z.number().int().min(0).optional(),
      auth: z
        .strictObject({
          slow_after: z.number().int().min(1).max(1000).optional(),
          max_failures: z.number().int().min(1).max(10_000).optional(),
          window_ms: z.number().int().min(1000).max(86_400_000).optional(),
          lockout_ms: z.number().int().min(1000).max(86_400_000).optional(),
        })
        .optional(),
    })
    .optional(),
  scheduler: z
    .strictObject({
      jobs: z
        .strictObject({
          rotate: job.optional(),
          archive: job.optional(),
          retention: job.optional(),
          checkpoint: job.optional(),
          verify: job.optional(),
          erasure: job.optional(),
        })
        .optional(),
      retry: z
        .strictObject({
          attempts: z.number().int().min(0).max(10).optional(),
          backoff_ms: z.number().int().min(100).max(3_600_000).optional(),
        })
        .optional(),
    })
    .optional(),
  detectors: detectors.optional(),
  alerts: alerts.optional(),
  channels: z
    .record(
      z.string().regex(/^[a-z][a-z0-9_-]{0,31}$/, 'a channel name is 1-32 of a-z, 0-9, _ and -'),
      channel.nullable(),
    )
    .optional(),
});

export type ConfigFile = z.infer<typeof configSchema>;
