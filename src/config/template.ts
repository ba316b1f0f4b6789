/**
 * The commented configuration `dihya-logs init` writes. Every key is shown with its default so
 * the file documents itself; `docs/configuration.md` says the same at more length.
 */
export function configTemplate(opts: {
  dir: string;
  masterKeyFile: string | undefined;
  publicKey: string;
}): string {
  const keyLine =
    opts.masterKeyFile === undefined
      ? '# master_key_file: /path/outside/the/logs/dihya-logs.key   # or set DIHYA_LOGS_MASTER_KEY'
      : `master_key_file: ${JSON.stringify(opts.masterKeyFile)}`;
  return `# dihya-logs configuration. Validated at start; a bad key stops the program with its path.
# Environment variables and command-line flags override it (see docs/configuration.md).

# The logs directory (files, index, integrity data, wrapped keys).
dir: ${JSON.stringify(opts.dir)}

# The master key wraps every other key. Keep it OUTSIDE the logs directory and apart from
# the logs' backups: whoever holds both can sign checkpoints and (later) read personal data.
# DIHYA_LOGS_MASTER_KEY (base64 of 32 bytes) or --key-file take precedence over this line.
${keyLine}

integrity:
  # The log's public key, pinned here by init: verify refuses a log signed by another key.
  public_key: ${JSON.stringify(opts.publicKey)}
  # Signed checkpoints are written at least this often while records are written (50-1000).
  checkpoint_interval_ms: 1000

limits:
  max_record_bytes: 65536   # a larger record is refused (EVENT_TOO_LARGE)
  max_depth: 32             # deeper nesting is refused (EVENT_TOO_DEEP)

writer:
  flush_interval_ms: 100    # buffered channels reach the disk within this time
  max_pending_bytes: 8388608  # beyond this much waiting in memory, writes happen at once

# Per channel: durability (durable: acknowledged after fsync, fail closed; buffered: written
# within flush_interval_ms, errors reported, never thrown) and the minimum level kept.
channels:
  app:       { durability: buffered, min_level: INFO }
  audit:     { durability: durable,  min_level: DEBUG }
  security:  { durability: durable,  min_level: DEBUG }
  scheduler: { durability: buffered, min_level: INFO }
  api:       { durability: buffered, min_level: INFO }
`;
}
