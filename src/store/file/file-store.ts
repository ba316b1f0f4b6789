import { LogsError } from '../../errors.js';
import type { ChannelKey } from '../../crypto/body-cipher.js';
import { Keystore } from '../../crypto/keystore.js';
import { exportPrivateKey } from '../../crypto/sign.js';
import type { ChannelConfig, Config } from '../../config/resolve.js';
import type { EventInput } from '../../event/record.js';
import type { Sealable } from '../../pipeline/prepare.js';
import type {
  Ack,
  AppendMode,
  ChannelStats,
  RotationResult,
  SealResult,
  Segment,
  Store,
  StoreChannel,
  StoreNote,
  StoredRecord,
} from '../store.js';
import type { VerifyOptions, VerifyReport } from '../verify-report.js';
import { readCheckpointTail } from './checkpoint-log.js';
import { LogLayout } from './layout.js';
import { acquireLock } from './lock.js';
import { readMeta, readSigningKey, writeMeta } from './meta.js';
import { recoverChannel, type RecoveredChannel } from './recovery.js';
import { recoveryEvents } from './recovery-events.js';
import { readSegmentBook, readSegmentLog, SegmentBook } from './segment-log.js';
import { SequencerClient } from './sequencer/client.js';
import { checkOpenState } from './signed-state.js';
import { channelSources, scanSource } from './sources.js';
import { verifyLogs } from './verify.js';

export interface OpenFileStoreOptions {
  /** The resolved configuration; `config.dir` is the logs directory. */
  readonly config: Config;
  /** The master key (32 bytes): unwraps the signing key and the keystore's keys. */
  readonly masterKey: Buffer;
  /** Failures no caller is waiting for. Must not throw. */
  readonly onError: (err: LogsError) => void;
  /** Who holds the lock, as shown to a second process that tries to open the directory. */
  readonly owner: string;
}

/**
 * Open a logs directory as a store: take its lock, recover from a crash (a torn last line is
 * quarantined), check that what is on disk is what was last signed, and start the sequencer
 * thread that writes, syncs and signs. What the open found is in `findings`, to be recorded.
 */
export async function openFileStore(options: OpenFileStoreOptions): Promise<Store> {
  const { config, masterKey, onError } = options;
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
  const release = acquireLock(layout, options.owner);
  let keystore: Keystore | undefined;
  try {
    const privateKey = readSigningKey(layout, meta, masterKey);
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
    const keys = Keystore.open(layout.subjectsFile, masterKey, meta.log_id);
    keystore = keys;
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
            ...(c.encrypt ? { bodyKey: keys.channelKey(name) } : {}),
            checkpointed: tail.latest.get(name)?.size ?? 0,
            ...(findings.adopt.has(name) ? { adopt: findings.adopt.get(name) } : {}),
          };
        }),
        checkpointIntervalMs: config.integrity.checkpointIntervalMs,
        flushIntervalMs: config.writer.flushIntervalMs,
        maxPendingBytes: config.writer.maxPendingBytes,
        keysWal: keys.walFile,
        idempotency: config.idempotency,
        // After `channels` (which makes the first key of a new encrypted channel): the thread
        // opens the records of the window to read their idempotency keys back.
        channelKeys: keys.channelKeys(),
      },
      onError,
      () => commitKeys(keys), // new people's keys, before the records that need them
    );
    return new FileStore({
      layout,
      logId: meta.log_id,
      publicKey: meta.public_key,
      client,
      keys,
      channels: names.map((name) => {
        const r = recovered.get(name) as RecoveredChannel;
        return { name, seq: r.state.seq, lastTsMs: r.lastTsMs };
      }),
      findings: recoveryEvents(recovered, [tail.quarantined, segments.quarantined], findings),
      release,
    });
  } catch (err) {
    keystore?.close();
    release();
    throw err;
  }
}

interface FileStoreParts {
  readonly layout: LogLayout;
  readonly logId: string;
  readonly publicKey: string;
  readonly client: SequencerClient;
  readonly keys: Keystore;
  readonly channels: readonly StoreChannel[];
  readonly findings: readonly EventInput[];
  readonly release: () => void;
}

/**
 * The file backend: one append-only file per channel, cut into gzip segments, a signed
 * checkpoint log and segment log beside them (docs/integrity.md). A sequencer thread owns the
 * files while the store is open; this object is the application thread's handle on it.
 */
class FileStore implements Store {
  readonly kind = 'file';
  readonly dir: string;
  readonly logId: string;
  readonly publicKey: string;
  readonly channels: readonly StoreChannel[];
  readonly keys: Keystore;
  readonly findings: readonly EventInput[];
  private readonly layout: LogLayout;
  private readonly client: SequencerClient;
  private readonly release: () => void;
  private released = false;

  constructor(parts: FileStoreParts) {
    this.layout = parts.layout;
    this.dir = parts.layout.dir;
    this.logId = parts.logId;
    this.publicKey = parts.publicKey;
    this.channels = parts.channels;
    this.keys = parts.keys;
    this.findings = parts.findings;
    this.client = parts.client;
    this.release = parts.release;
  }

  get failed(): LogsError | undefined {
    return this.client.failed;
  }

  get onNote(): ((note: StoreNote) => void) | undefined {
    return this.client.onNote;
  }

  set onNote(f: ((note: StoreNote) => void) | undefined) {
    this.client.onNote = f;
  }

  append(
    channel: number,
    record: Sealable,
    ts: string,
    skew: number,
    mode: AppendMode,
  ): Promise<Ack> | undefined {
    return this.client.send(channel, record, ts, skew, mode);
  }

  flush(): Promise<void> {
    return this.client.flush();
  }

  flushSync(): void {
    this.client.flushSync();
  }

  stats(): Record<string, ChannelStats> {
    return this.client.channelStats();
  }

  setChannelKey(channel: string, key: ChannelKey): void {
    this.client.setChannelKey(channel, key);
  }

  async consistency(channel: string, from: number, to: number): Promise<string[] | null> {
    return (await this.client.lifecycle({ kind: 'consistency', channel, from, to })) as
      string[] | null;
  }

  async rotate(request: { channel?: string; dueAt?: string }): Promise<RotationResult[]> {
    return (await this.client.lifecycle({ kind: 'rotate', ...request })) as RotationResult[];
  }

  async seal(): Promise<SealResult[]> {
    return (await this.client.lifecycle({ kind: 'seal' })) as SealResult[];
  }

  async hold(channel: string, set: boolean, reason: string): Promise<void> {
    this.known(channel);
    await this.client.lifecycle({ kind: 'hold', channel, set, reason });
  }

  async tombstone(
    channel: string,
    first: number,
    last: number,
    reason: string,
  ): Promise<{ file: string; size: number }> {
    this.known(channel);
    return (await this.client.lifecycle({ kind: 'tombstone', channel, first, last, reason })) as {
      file: string;
      size: number;
    };
  }

  segments(channel: string): readonly Segment[] {
    return readSegmentBook(this.layout, this.logId).segments(channel);
  }

  /**
   * Read back from the files: the sealed archives, staged segments and active file in seq
   * order. Each file is read whole before its records are handed out (archives are at most a
   * rotation's size); a deleted segment is skipped, its tombstone stands in for it.
   */
  async *read(channel: string, fromSeq: number): AsyncIterable<StoredRecord> {
    this.known(channel);
    const book = readSegmentBook(this.layout, this.logId);
    for (const source of channelSources(this.layout, book, channel)) {
      if (source.segment !== undefined && source.segment.last < fromSeq) continue;
      const lines: StoredRecord[] = [];
      await scanSource(source, (bytes, n) => {
        const line = bytes.toString('utf8');
        const seq = seqOf(line);
        if (seq === undefined)
          throw new LogsError(
            'INTEGRITY_STATE',
            `${source.rel} line ${n}: not a record (run dihya-logs verify)`,
          );
        if (seq >= fromSeq) lines.push({ seq, line });
      });
      yield* lines;
    }
  }

  private known(channel: string): void {
    if (!this.channels.some((c) => c.name === channel))
      throw new LogsError('CHANNEL_UNKNOWN', 'no such channel in this store');
  }

  verify(options: Omit<VerifyOptions, 'dir'> = {}): Promise<VerifyReport> {
    return verifyLogs({ publicKey: this.publicKey, ...options, dir: this.dir });
  }

  async close(beforeRelease?: () => Promise<void>): Promise<void> {
    try {
      await this.client.close();
    } finally {
      try {
        await beforeRelease?.();
      } finally {
        this.finish();
      }
    }
  }

  closeSync(): void {
    try {
      this.client.closeSync();
    } finally {
      this.finish();
    }
  }

  private finish(): void {
    if (this.released) return;
    this.released = true;
    this.keys.close();
    this.release();
  }
}

/** The seq of a stored line; undefined when the line is not a record (damage). */
function seqOf(line: string): number | undefined {
  try {
    const seq = (JSON.parse(line) as { seq?: unknown }).seq;
    return typeof seq === 'number' && Number.isSafeInteger(seq) && seq > 0 ? seq : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Write the people created since the last batch, before the records that need them. When
 * they cannot be written (a full disk), they are forgotten and the error thrown: the sequencer
 * client drops the batch that needed them.
 */
function commitKeys(keys: Keystore): number {
  try {
    return keys.commit();
  } catch (err) {
    keys.abandon();
    throw err;
  }
}
