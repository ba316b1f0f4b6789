import path from 'node:path';
import { LogsError } from '../errors.js';
import { loadMasterKey, masterKeySource, parseMasterKey } from '../crypto/masterkey.js';
import { loadConfig } from '../config/load.js';
import { resolveConfig, type Config } from '../config/resolve.js';
import { LogLayout, openFileStore } from '../store/file/index.js';
import { openPostgresStore } from '../store/postgres/index.js';
import { LogCore } from './core.js';
import type { Logs } from './logs.js';
import { classificationSettings, compileClassifier } from '../redact/compile.js';
import { stderrReporter } from './report.js';
import { syncPolicy } from '../policy/sync.js';

export interface OpenLogsOptions {
  /** The logs directory; overrides `config.dir`. Default `./logs`. */
  readonly dir?: string;
  /**
   * A configuration from `loadConfig()`; or give `settings`, the same keys as the YAML file.
   * Neither: found as the CLI finds it (`DIHYA_LOGS_CONFIG`, else `dihya-logs.yaml` in the
   * working directory, else the defaults), so the key file `init` configured is used.
   */
  readonly config?: Config;
  readonly settings?: Record<string, unknown>;
  /** The master key: 32 bytes, or their base64. Default: DIHYA_LOGS_MASTER_KEY, then a key file. */
  readonly masterKey?: Uint8Array | string;
  /** A master key file (mode 0600, outside the logs directory). */
  readonly keyFile?: string;
  /** Milliseconds since the epoch; injectable for tests. */
  readonly clock?: () => number;
  /** Failures no caller is waiting for. Default: one line on stderr. Must not throw. */
  readonly onError?: (err: LogsError) => void;
  /** Write, sync and checkpoint on process exit and on SIGINT/SIGTERM/SIGHUP. Default true. */
  readonly handleExit?: boolean;
  /** Who holds the lock, as shown to a second process that tries to open the directory. */
  readonly owner?: string;
}

/**
 * Open a logs directory for writing. Takes the directory's lock, recovers from a crash (a torn
 * last line is quarantined and reported as a `log.recovery` event) and resumes every channel's
 * chain. The returned Logs owns the directory until `close()`.
 */
export async function openLogs(options: OpenLogsOptions = {}): Promise<Logs> {
  return (await openLogCore(options)).logs;
}

/**
 * As openLogs(), for dihya-logs' own modules (the CLI, the service): the open logs with the
 * capabilities an application is not handed (lifecycle, keys, GDPR erasure, reserved events).
 */
export async function openLogCore(options: OpenLogsOptions = {}): Promise<LogCore> {
  const base = options.config ?? configFrom(options);
  const config = options.dir === undefined ? base : { ...base, dir: path.resolve(options.dir) };
  const masterKey =
    options.masterKey !== undefined
      ? toKey(options.masterKey)
      : loadMasterKey(masterKeySource(options.keyFile, config.masterKeyFile), config.dir);
  const onError = options.onError ?? stderrReporter();
  const store =
    config.store.kind === 'postgres'
      ? await openPostgresStore({ config, masterKey, onError })
      : await openFileStore({
          config,
          masterKey,
          onError,
          owner: options.owner ?? `pid ${process.pid}: ${process.argv.slice(1, 3).join(' ')}`,
        });
  const core = new LogCore({
    config,
    store,
    classification: classificationSettings(
      config.classification,
      compileClassifier(config.classification),
      store.keys,
    ),
    onError,
    clock: options.clock ?? Date.now,
    handleExit: options.handleExit ?? true,
  });
  // A change of what the policy says (retention, classification, detectors...) is itself an
  // audit event (README.md, the policy for people, is the CLI's and the service's to write).
  try {
    await syncPolicy({
      layout: new LogLayout(store.dir),
      config,
      fresh: store.channels.every((c) => c.seq === 0),
      write: (event) => core.recorders.recordPolicyChange(event),
      onError,
    });
  } catch (err) {
    // The audit trail refused the change: fail closed, as a durable write does.
    await core.close().catch(() => undefined);
    throw err;
  }
  return core;
}

/**
 * The configuration when none is given, found as the CLI finds it: `settings` if given, else
 * `DIHYA_LOGS_CONFIG` or `dihya-logs.yaml` in the working directory (what `init` writes, with
 * its `master_key_file`), else the defaults.
 */
function configFrom(options: OpenLogsOptions): Config {
  if (options.settings !== undefined) return resolveConfig(options.settings, process.cwd());
  return loadConfig(options.dir === undefined ? {} : { dir: options.dir });
}

function toKey(key: Uint8Array | string): Buffer {
  if (typeof key === 'string') return parseMasterKey(key, 'the masterKey option');
  if (key.length !== 32)
    throw new LogsError('MASTER_KEY_INVALID', 'the masterKey option must be 32 bytes');
  return Buffer.from(key);
}
