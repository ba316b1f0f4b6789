/**
 * The commented configuration `dihya-logs init` writes. Every key is shown with its default so
 * the file documents itself; `docs/configuration.md` says the same at more length. It is built
 * from sections in the order of the file, separated by a blank line.
 */
export function configTemplate(opts: {
  dir: string;
  masterKeyFile: string | undefined;
  publicKey: string;
}): string {
  return [
    header(opts.dir, opts.masterKeyFile),
    integrity(opts.publicKey),
    STORAGE,
    SERVICE,
    DETECTION,
  ].join('\n');
}

/** Where the logs are, and the master key that wraps every other key. */
function header(dir: string, masterKeyFile: string | undefined): string {
  const keyLine =
    masterKeyFile === undefined
      ? '# master_key_file: /path/outside/the/logs/dihya-logs.key   # or set DIHYA_LOGS_MASTER_KEY'
      : `master_key_file: ${JSON.stringify(masterKeyFile)}`;
  return `# dihya-logs configuration. Validated at start; a bad key stops the program with its path.
# Environment variables and command-line flags override it (see docs/configuration.md).

# The logs directory (files, index, integrity data, wrapped keys).
dir: ${JSON.stringify(dir)}

# The master key wraps every other key. Keep it OUTSIDE the logs directory and apart from
# the logs' backups: whoever holds both can sign checkpoints and (later) read personal data.
# DIHYA_LOGS_MASTER_KEY (base64 of 32 bytes) or --key-file take precedence over this line.
${keyLine}
`;
}

/** The pinned public key, checkpoints and witnesses. */
function integrity(publicKey: string): string {
  return `integrity:
  # The log's public key, pinned here by init: verify refuses a log signed by another key.
  public_key: ${JSON.stringify(publicKey)}
  # Signed checkpoints are written at least this often while records are written (50-1000).
  checkpoint_interval_ms: 1000
  # Checkpoints are also C2SP signed notes of origin <log_name>/<channel> (default
  # dihya-logs/<log id>). Witnesses (dihya-logs witness, or any c2sp.org/tlog-witness) cosign
  # them, which is what detects a rollback of the whole directory (docs/witness.md):
  # log_name: example.com/dihya-logs
  # witnesses:
  #   - url: http://witness.example.org:7380
  #     key: "witness.example.org/w1+1a2b3c4d+BA..."
  # witness_quorum: 1
  # witness_interval_ms: 5000
`;
}

/** How records are written, kept, erased and indexed. */
const STORAGE = `limits:
  max_record_bytes: 65536   # a larger record is refused (EVENT_TOO_LARGE)
  max_depth: 32             # deeper nesting is refused (EVENT_TOO_DEEP)

writer:
  flush_interval_ms: 100    # buffered channels reach the disk within this time
  max_pending_bytes: 8388608  # beyond this much waiting in memory, writes happen at once

# An event sent again with the idempotency key (or HTTP Idempotency-Key) of one its channel
# stored within window_ms is answered with the first one's seq and hash, and not stored twice.
# At most max_keys keys are remembered (about 300 bytes each); the oldest go first.
idempotency:
  window_ms: 86400000       # 1 s - 7 days (24 h); also what is read back when the logs open
  max_keys: 100000

# Per channel: durability (durable: acknowledged after fsync, fail closed; buffered: written
# within flush_interval_ms, errors reported, never thrown), the minimum level kept, rotation
# (at max_bytes, and at the first record of each UTC day when daily) and retention of the
# archives in days (deleted after max_days, never before min_days; see docs/lifecycle.md), and
# encrypt: each record's body stored as AES-256-GCM ciphertext under the channel's key, only
# seq, ts, level, channel and hash readable (verify needs no key; see docs/format.md).
channels:
  app:
    { durability: buffered, min_level: INFO,
      rotate: { max_bytes: 67108864, daily: true }, retention: { min_days: 30, max_days: 90 } }
  audit:
    { durability: durable, min_level: DEBUG,
      rotate: { max_bytes: 67108864, daily: true }, retention: { min_days: 365, max_days: 1825 } }
  security:
    { durability: durable, min_level: DEBUG, encrypt: true,
      rotate: { max_bytes: 67108864, daily: true }, retention: { min_days: 365, max_days: 1825 } }
  scheduler:
    { durability: buffered, min_level: INFO,
      rotate: { max_bytes: 67108864, daily: true }, retention: { min_days: 30, max_days: 90 } }
  api:
    { durability: buffered, min_level: INFO,
      rotate: { max_bytes: 67108864, daily: true }, retention: { min_days: 90, max_days: 90 } }

# Rotated segments are compressed with gzip at this level (1 fastest - 9 smallest).
archive:
  compression: gzip
  level: 6

# GDPR: channels whose records are kept for their minimum retention whatever a person asks, and
# why. Erasing a person with records there destroys their key when the duty ends (scheduled).
gdpr:
  retention_duty:
    audit: { basis: 'accountability and security of processing (GDPR Art. 5(2), 32); Art. 17(3)(b) and (e)' }
    security: { basis: 'security of processing and incident evidence (GDPR Art. 32, 33); Art. 17(3)(e)' }

# The query index (.index/, rebuilt from the files when missing). \`query\` and \`reindex\` catch it
# up when they run. With live, the process that writes the logs also indexes new records in a
# background thread every interval_ms: queries then have less to do, but that thread competes
# with the application for CPU (on 2 cores it cut buffered throughput by three quarters).
index:
  live: false
  interval_ms: 1000
`;

/** The HTTP service and the scheduled jobs. */
const SERVICE = `# dihya-logs serve: where it listens (127.0.0.1: this machine only; put TLS in front before
# opening it wider), request limits, and failed sign-ins: after slow_after failures from one
# address within window_ms answers slow down, after max_failures the address is refused for
# lockout_ms. /readyz answers 503 below min_free_bytes free on the logs' filesystem. See
# docs/service.md.
service:
  host: 127.0.0.1
  port: 8080
  body_limit: 1048576
  max_events: 1000
  request_timeout_ms: 10000
  trust_proxy: false
  min_free_bytes: 67108864
  auth: { slow_after: 5, max_failures: 20, window_ms: 60000, lockout_ms: 900000 }

# Built-in jobs, run by \`dihya-logs scheduler\` on these cron schedules (UTC). A failed run is
# retried \`attempts\` times, waiting backoff_ms, then twice that, ... A job never overlaps itself.
scheduler:
  jobs:
    rotate:     { cron: '0 0 * * *', enabled: true }    # quiet channels rotate after midnight
    archive:    { cron: '*/10 * * * *', enabled: true } # seal what a failed seal left behind
    retention:  { cron: '30 3 * * *', enabled: true }   # delete archives past max_days
    checkpoint: { cron: '0 * * * *', enabled: true }    # sign checkpoints of idle channels
    verify:     { cron: '0 4 * * *', enabled: true }    # check the whole log
    erasure:    { cron: '15 5 * * *', enabled: true }   # GDPR erasures whose retention duty ended
  retry: { attempts: 3, backoff_ms: 30000 }
`;

/** The detectors on the live stream, and where their alerts go. */
const DETECTION = `# Detectors watch the records as \`dihya-logs serve\` sees them be written. A detection is a
# \`security\` event alert.<name> naming its evidence by channel and seq, and a notification
# (alerts, below). An alert for a group (an account, an address) is not repeated within its
# window. See docs/alerts.md.
detectors:
  enabled: true
  # Failed sign-ins within window_ms: per_account on one account (brute force), per_address from
  # one address, stuffing_accounts distinct accounts from one address (credential stuffing).
  failed_logins:
    enabled: true
    events: [auth.login.failure, auth.failure]
    per_account: 5
    per_address: 10
    stuffing_accounts: 5
    window_ms: 900000
  access_denied: { enabled: true, threshold: 20, window_ms: 300000 }  # per actor or address
  # An account doing one of these for the first time (remembered in .integrity/state/detect.privileges.json).
  privileged:
    enabled: true
    events: [admin.*, role.*, permission.*, token.created, token.revoked, keys.rotated, retention.hold.*, gdpr.erasure]
  gdpr_burst: { enabled: true, threshold: 10, window_ms: 3600000 }  # export/erasure requests
  mass_deletion: { enabled: true, events: [data.sensitive.delete], threshold: 50, window_ms: 600000 }
  tampering: { enabled: true }  # a verification that found damage
  # No record on these channels for silence_ms after they had some; the writer failing; less
  # than min_free_bytes free on the logs' filesystem.
  logging_stopped: { enabled: true, channels: [app, api], silence_ms: 3600000, min_free_bytes: 536870912 }
  clock_jump: { enabled: true, tolerance_ms: 120000 }  # wall clock vs monotonic clock
  # Your own: events matching filter (channel, event glob, level, outcome), threshold of them
  # within window_ms, counted per group_by (actor, address, event, channel, request_id, data.x).
  rules: []
  #  - name: many_exports
  #    filter: { channel: audit, event: template.export }
  #    threshold: 100
  #    window_ms: 600000
  #    group_by: actor

# Where alerts are sent besides the security channel (never blocking ingest). The webhook gets a
# JSON POST signed with HMAC-SHA256 (header X-Dihya-Signature; the secret from secret_env or
# secret_file), retried with backoff; the command gets the alert as JSON on its standard input.
alerts: {}
#  webhook:
#    url: https://alerts.example.org/dihya
#    secret_env: DIHYA_LOGS_WEBHOOK_SECRET
#    attempts: 8
#    backoff_ms: 1000
#  command:
#    argv: [/usr/local/bin/notify-oncall]
`;
