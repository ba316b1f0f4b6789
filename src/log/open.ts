import { LogsError } from '../errors.js';
import { loadMasterKey, masterKeySource, parseMasterKey } from '../crypto/masterkey.js';
import { resolveConfig, type ChannelConfig, type Config } from '../config/resolve.js';
import { exportPrivateKey } from '../crypto/sign.js';
import { LogLayout } from '../store/file/layout.js';
import { readMeta, readSigningKey, writeMeta } from '../store/file/meta.js';
import { acquireLock } from '../store/file/lock.js';
import { readCheckpointTail } from '../store/file/checkpoint-log.js';
import { recoverChannel, type RecoveredChannel } from '../store/file/recovery.js';
import { readSegmentLog, SegmentBook } from '../store/file/segment-log.js';
import { checkOpenState } from '../store/file/signed-state.js';
import { SequencerClient } from '../store/file/sequencer/client.js';
import { Logs } from './logs.js';
import { Keystore } from '../crypto/keystore.js';
import { classificationSettings, compileClassifier } from '../redact/compile.js';
import { recoveryEvents } from './recovery-events.js';
import { stderrReporter } from './report.js';
import { syncPolicy } from '../policy/sync.js';

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
      : loadMasterKey(masterKeySource(options.keyFile, config.masterKeyFile), layout.dir);
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
    const names = Object.keys(config.channels);
    const tail = readCheckpointTail(layout, meta, names);
    const segments = readSegmentLog(layout, meta.log_id);
    const book = new SegmentBook(segments.entries);
    const recovered = new Map<string, RecoveredChannel>();
    for (const name of names) {
      recovered.set(
        name,
        recoverChannel(layout, meta.log_id, name, tail.latest.get(name), book.lastCut(name)),
      );
    }
    const findings = checkOpenState(layout, tail.bytes, segments.entries, recovered);
    const keystore = Keystore.open(layout.subjectsFile, masterKey, meta.log_id);
    const classifier = compileClassifier(config.classification);
    const classification = classificationSettings(config.classification, classifier, keystore);
    const client = await SequencerClient.start(
      {
        dir: layout.dir,
        logId: meta.log_id,
        kid: meta.kid,
        privateKey: exportPrivateKey(privateKey),
        checkpointPrev: tail.prev,
        ...(config.integrity.logName === undefined ? {} : { logName: config.integrity.logName }),
        witnessed: config.integrity.witnesses.length > 0,
        segments: segments.entries,
        segmentsPrev: segments.prev,
        archiveLevel: config.archive.level,
        latestCheckpoints: [...tail.latest],
        reopen: names.filter((n) => tail.latest.get(n)?.final === true),
        channels: names.map((name) => {
          const r = recovered.get(name) as RecoveredChannel;
          const c = config.channels[name] as ChannelConfig;
          return {
            channel: name,
            file: layout.channelFile(name),
            durability: c.durability,
            state: r.state,
            merkle: r.merkle,
            base: r.base,
            ...(r.firstTs === undefined ? {} : { firstTs: r.firstTs }),
            ...(r.lastTs === undefined ? {} : { lastTs: r.lastTs }),
            rotate: c.rotate,
            ...(c.encrypt ? { bodyKey: keystore.channelKey(name) } : {}),
            checkpointed: tail.latest.get(name)?.size ?? 0,
            ...(findings.adopt.has(name) ? { adopt: findings.adopt.get(name) } : {}),
          };
        }),
        checkpointIntervalMs: config.integrity.checkpointIntervalMs,
        flushIntervalMs: config.writer.flushIntervalMs,
        maxPendingBytes: config.writer.maxPendingBytes,
        keysWal: keystore.walFile,
      },
      onError,
      () => keystore.commit(), // new people's keys are written before the records that need them
    );
    const logs = new Logs(
      {
        config,
        dir: layout.dir,
        logId: meta.log_id,
        publicKey: meta.public_key,
        client,
        channels: names.map((name) => ({ name, lastTsMs: recovered.get(name)?.lastTsMs ?? 0 })),
        release: () => {
          keystore.close();
          release();
        },
        classification,
        onError,
        clock: options.clock ?? Date.now,
        handleExit: options.handleExit ?? true,
        keystore,
      },
      recoveryEvents(recovered, [tail.quarantined, segments.quarantined], findings),
    );
    // A change of what the policy says (retention, classification, detectors...) is itself an
    // audit event (README.md, the policy for people, is the CLI's and the service's to write).
    try {
      await syncPolicy({
        layout,
        config,
        fresh: [...recovered.values()].every((r) => r.state.seq === 0),
        write: (event) => logs.recordPolicyChange(event),
        onError,
      });
    } catch (err) {
      // The audit trail refused the change: fail closed, as a durable write does.
      await logs.close().catch(() => undefined);
      throw err;
    }
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
