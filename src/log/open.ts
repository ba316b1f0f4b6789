import { LogsError } from '../errors.js';
import {
  loadMasterKey,
  parseMasterKey,
  MASTER_KEY_ENV,
  KEY_FILE_ENV,
} from '../crypto/masterkey.js';
import { resolveConfig, type Config } from '../config/resolve.js';
import { LogLayout } from '../store/file/layout.js';
import { readMeta, readSigningKey, writeMeta } from '../store/file/meta.js';
import { acquireLock } from '../store/file/lock.js';
import { CheckpointLog } from '../store/file/checkpoint-log.js';
import { recoverChannel, type RecoveredChannel } from '../store/file/recovery.js';
import { Logs, type LogsHooks } from './logs.js';
import { stderrReporter } from './report.js';

export interface OpenLogsOptions {
  /** The logs directory; overrides `config.dir`. Default `./logs`. */
  readonly dir?: string;
  /** A configuration from `loadConfig()`; or give `settings`, the same keys as the YAML file. */
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
  await Promise.resolve(); // always asynchronous, even though today's file store opens synchronously
  const base = options.config ?? resolveConfig(options.settings ?? {}, process.cwd());
  const config =
    options.dir === undefined ? base : { ...base, dir: new LogLayout(options.dir).dir };
  const layout = new LogLayout(config.dir);
  let meta = readMeta(layout);
  if (
    config.integrity.publicKey !== undefined &&
    config.integrity.publicKey.trim() !== meta.public_key
  ) {
    throw new LogsError(
      'INTEGRITY_STATE',
      `${layout.dir} is signed by key ${meta.public_key}, not the pinned ${config.integrity.publicKey}: wrong directory, or its keys were replaced`,
    );
  }
  const masterKey =
    options.masterKey !== undefined
      ? toKey(options.masterKey)
      : loadMasterKey(
          {
            keyFile: options.keyFile,
            keyText: process.env[MASTER_KEY_ENV],
            fallbackKeyFile: process.env[KEY_FILE_ENV] || config.masterKeyFile,
          },
          layout.dir,
        );
  const release = acquireLock(
    layout,
    options.owner ?? `pid ${process.pid}: ${process.argv.slice(1, 3).join(' ')}`,
  );
  try {
    const privateKey = readSigningKey(layout, meta, masterKey);
    const onError = options.onError ?? stderrReporter();
    const newChannels = Object.keys(config.channels).filter((c) => !meta.channels.includes(c));
    if (newChannels.length > 0) {
      meta = { ...meta, channels: [...meta.channels, ...newChannels] };
      writeMeta(layout, meta);
    }
    const checkpoints = new CheckpointLog(layout, meta, privateKey, (err) =>
      onError(asWriteFailed(err)),
    );
    const recovered = new Map<string, RecoveredChannel>();
    for (const channel of Object.keys(config.channels)) {
      recovered.set(
        channel,
        recoverChannel(layout, meta.log_id, channel, checkpoints.last(channel)),
      );
    }
    const hooks: LogsHooks = { release, onError, clock: options.clock ?? Date.now };
    const logs = new Logs(
      config,
      layout,
      meta,
      checkpoints,
      recovered,
      hooks,
      options.handleExit ?? true,
    );
    return logs;
  } catch (err) {
    release();
    throw err;
  }
}

function toKey(key: Uint8Array | string): Buffer {
  if (typeof key === 'string') return parseMasterKey(key, 'the masterKey option');
  if (key.length !== 32)
    throw new LogsError('MASTER_KEY_INVALID', 'the masterKey option must be 32 bytes');
  return Buffer.from(key);
}

function asWriteFailed(err: unknown): LogsError {
  return new LogsError('WRITE_FAILED', `checkpoint log: ${(err as Error).message}`, { cause: err });
}
