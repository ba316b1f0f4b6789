import { LogsError, asLogsError } from '../errors.js';
import type { Config } from '../config/resolve.js';
import { levelAtLeast } from '../event/levels.js';
import { prepareEvent, prepareFields, type PreparedEvent } from '../event/prepare.js';
import type { EventInput } from '../event/record.js';
import {
  ChannelWriter,
  type Ack,
  type ChannelState,
  type ChannelStats,
} from '../store/file/channel-writer.js';
import type { MerkleState } from '../integrity/merkle.js';
import type { CheckpointLog } from '../store/file/checkpoint-log.js';
import type { LogLayout } from '../store/file/layout.js';
import type { LogMeta } from '../store/file/meta.js';
import { saveState, type RecoveredChannel } from '../store/file/recovery.js';
import { eventHelpers, type EventHelpers } from './events.js';
import { registerExit, unregisterExit, type ExitTarget } from './exit.js';
import { Logger, type LogSink } from './logger.js';

export interface LogsHooks {
  readonly release: () => void;
  readonly onError: (err: LogsError) => void;
  readonly clock: () => number;
}

export interface WriteOptions {
  /** `durable`: resolve after fdatasync. `accepted`: once sequenced. Default: the channel's durability. */
  readonly wait?: 'durable' | 'accepted';
}

/**
 * An open logs directory: one sequencer per channel, signed checkpoints every second, and the
 * loggers and helpers producers call. Create it with `openLogs()`; `close()` it when done.
 */
export class Logs implements LogSink, ExitTarget {
  readonly dir: string;
  readonly logId: string;
  /** `ed25519:<base64>`: what verify checks signatures with. */
  readonly publicKey: string;
  readonly config: Config;
  /** Routes by level: AUDIT to `audit`, SECURITY to `security`, everything else to `app`. */
  readonly log: Logger;
  readonly app: Logger;
  readonly api: Logger;
  readonly scheduler: Logger;
  /** Typed helpers for the catalogued event types (login, project generation, ...). */
  readonly events: EventHelpers;

  private readonly writers = new Map<string, ChannelWriter>();
  private readonly checkpointed = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  private checkpointing: Promise<void> | undefined;
  private closed = false;
  // Set as soon as close() starts: no periodic checkpoint may interleave with the final ones.
  private closing = false;

  constructor(
    config: Config,
    private readonly layout: LogLayout,
    meta: LogMeta,
    private readonly checkpoints: CheckpointLog,
    recovered: ReadonlyMap<string, RecoveredChannel>,
    private readonly hooks: LogsHooks,
    handleExit: boolean,
  ) {
    this.config = config;
    this.dir = layout.dir;
    this.logId = meta.log_id;
    this.publicKey = meta.public_key;
    for (const [channel, r] of recovered) {
      const settings = config.channels[channel];
      if (settings === undefined) continue;
      this.writers.set(
        channel,
        new ChannelWriter({
          channel,
          file: layout.channelFile(channel),
          durability: settings.durability,
          state: r.state,
          merkle: r.merkle,
          lastTsMs: r.lastTsMs,
          clock: hooks.clock,
          flushIntervalMs: config.writer.flushIntervalMs,
          maxPendingBytes: config.writer.maxPendingBytes,
          onError: hooks.onError,
          onClockSkew: (ms) =>
            hooks.onError(
              new LogsError(
                'CLOCK_BACKWARDS',
                `${channel}: the clock went back ${ms} ms; records keep their order by seq and carry ts_skew_ms`,
              ),
            ),
        }),
      );
      this.checkpointed.set(channel, checkpoints.last(channel)?.size ?? 0);
      // Reopening after a clean close: say so first, so verify does not take the records that
      // follow for records added behind the writer's back.
      if (checkpoints.last(channel)?.final === true)
        this.sign(channel, r.state, r.merkle, 'reopen');
    }
    this.log = new Logger(this, undefined);
    this.app = new Logger(this, 'app');
    this.api = new Logger(this, 'api');
    this.scheduler = new Logger(this, 'scheduler');
    this.events = eventHelpers((e) => this.write(e) as Promise<Ack>);
    this.timer = setInterval(
      () => void this.checkpoint().catch(() => undefined),
      config.integrity.checkpointIntervalMs,
    );
    this.timer.unref();
    if (handleExit) registerExit(this);
    this.reportRecovery(recovered);
  }

  /** A logger bound to any configured channel. */
  logger(channel: string): Logger {
    this.writerFor(channel);
    return new Logger(this, channel);
  }

  /** Counters per channel: records, bytes, write batches and fdatasync calls since open. */
  stats(): Record<string, ChannelStats> {
    return Object.fromEntries([...this.writers].map(([c, w]) => [c, w.stats]));
  }

  /** The channels this Logs writes to. */
  get channels(): string[] {
    return [...this.writers.keys()];
  }

  /**
   * Validate and store one event. Resolves with its channel, seq and hash once stored as asked
   * (by default as its channel promises: after fdatasync for durable channels), or with null when
   * its level is below the channel's minimum. Rejects with a LogsError for invalid input, and
   * for a failed durable write (fail closed).
   */
  write(input: unknown, options: WriteOptions = {}): Promise<Ack | null> {
    try {
      const p = prepareEvent(input, this.config.limits);
      return this.submit(p, options.wait);
    } catch (err) {
      return Promise.reject(asLogsError(err));
    }
  }

  /** Store an audit event (channel `audit`, level AUDIT unless given); resolves once durable. */
  audit(event: EventInput): Promise<Ack> {
    return this.submitRequired({ channel: 'audit', level: 'AUDIT', ...event });
  }

  /** Store a security event (channel `security`, level SECURITY unless given); resolves once durable. */
  security(event: EventInput): Promise<Ack> {
    return this.submitRequired({ channel: 'security', level: 'SECURITY', ...event });
  }

  private submitRequired(input: EventInput): Promise<Ack> {
    return this.write(input, { wait: 'durable' }).then((ack) => {
      if (ack === null)
        throw new LogsError(
          'EVENT_INVALID',
          `${input.channel ?? ''}: the level is below the channel's minimum`,
        );
      return ack;
    });
  }

  private submit(p: PreparedEvent, wait: WriteOptions['wait']): Promise<Ack | null> {
    const writer = this.writerFor(p.channel);
    const minLevel = this.config.channels[p.channel]?.minLevel ?? 'DEBUG';
    if (!levelAtLeast(p.level, minLevel)) return Promise.resolve(null);
    if ((wait ?? (writer.durability === 'durable' ? 'durable' : 'accepted')) === 'durable')
      return writer.appendDurable(p);
    const seq = writer.append(p);
    return Promise.resolve({ channel: p.channel, seq, hash: writer.head });
  }

  /** LogSink: the loggers' fire-and-forget path. Never throws. */
  emit(input: EventInput): void {
    try {
      const p = prepareFields(input, this.config.limits);
      const minLevel = this.config.channels[p.channel]?.minLevel;
      if (minLevel !== undefined && !levelAtLeast(p.level, minLevel)) return;
      this.writerFor(p.channel).append(p);
    } catch (err) {
      this.hooks.onError(asLogsError(err));
    }
  }

  private writerFor(channel: string): ChannelWriter {
    const writer = this.writers.get(channel);
    if (writer === undefined) {
      throw new LogsError(
        'EVENT_CHANNEL_UNKNOWN',
        `channel "${channel}" is not configured (configured: ${[...this.writers.keys()].join(', ')})`,
      );
    }
    return writer;
  }

  /** Write and sync every channel, then sign a checkpoint for each that changed. */
  async flush(): Promise<void> {
    await this.checkpoint();
  }

  /**
   * Sign a checkpoint for every channel with records newer than its last checkpoint, once those
   * records are synced (a checkpoint never names a record a crash could still take away).
   */
  checkpoint(): Promise<void> {
    if (this.closing) return Promise.resolve();
    this.checkpointing ??= this.runCheckpoint().finally(() => {
      this.checkpointing = undefined;
    });
    return this.checkpointing;
  }

  private async runCheckpoint(): Promise<void> {
    const due = [...this.writers.values()].filter(
      (w) => w.seq > (this.checkpointed.get(w.channel) ?? 0),
    );
    if (due.length === 0) return;
    const signed = await Promise.allSettled(
      due.map(async (w) => {
        const state = await w.sync();
        return { w, state, merkle: await w.merkleAt(state.seq) };
      }),
    );
    if (this.closed) return;
    for (const s of signed) {
      if (s.status === 'fulfilled') this.sign(s.value.w.channel, s.value.state, s.value.merkle);
    }
    this.checkpoints.syncSoon();
  }

  /**
   * Sign a checkpoint of a synced state. `due`: only when it has records the last checkpoint
   * does not cover. `final` (clean close): also without new records, so records found after it
   * on the next open are known to come from elsewhere. `reopen`: the first one after a final
   * one, which ends its claim.
   */
  private sign(
    channel: string,
    state: ChannelState,
    merkle: MerkleState,
    kind: 'due' | 'final' | 'reopen' = 'due',
  ): void {
    const last = this.checkpoints.last(channel);
    if (kind === 'due' && state.seq <= (this.checkpointed.get(channel) ?? 0)) return;
    if (kind === 'final' && (state.seq === 0 || (last?.final === true && last.size === state.seq)))
      return;
    try {
      this.checkpoints.append(
        channel,
        state,
        merkle,
        new Date(this.hooks.clock()),
        kind === 'final',
      );
      this.checkpointed.set(channel, state.seq);
      saveState(this.layout, channel, state, merkle);
    } catch (err) {
      this.hooks.onError(
        new LogsError(
          'WRITE_FAILED',
          `${channel}: checkpoint not written: ${(err as Error).message}`,
          { cause: err },
        ),
      );
    }
  }

  /** ExitTarget: write, sync and checkpoint synchronously (signal handlers). */
  flushSync(): void {
    if (this.closed) return;
    for (const w of this.writers.values()) {
      const state = w.flushSync();
      this.sign(w.channel, state, w.merkleAtSync(state.seq));
    }
  }

  /** ExitTarget: as close(), synchronously (process exit). */
  closeSync(): void {
    if (this.closed) return;
    this.closing = true;
    for (const w of this.writers.values()) {
      const state = w.closeSync();
      this.sign(w.channel, state, w.merkleAtSync(state.seq), 'final');
    }
    this.finish();
  }

  /** Write, sync, checkpoint and release the directory. Further writes are refused. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    await this.checkpointing?.catch(() => undefined);
    const states = await Promise.all(
      [...this.writers.values()].map(async (w) => {
        const state = await w.close();
        return { channel: w.channel, state, merkle: await w.merkleAt(state.seq) };
      }),
    );
    if (this.isClosed()) return; // an exit handler closed everything while we waited
    for (const s of states) this.sign(s.channel, s.state, s.merkle, 'final');
    this.finish();
  }

  private isClosed(): boolean {
    return this.closed;
  }

  private finish(): void {
    this.closed = true;
    clearInterval(this.timer);
    try {
      this.checkpoints.closeSync();
    } catch (err) {
      this.hooks.onError(asLogsError(err));
    }
    unregisterExit(this);
    this.hooks.release();
  }

  private reportRecovery(recovered: ReadonlyMap<string, RecoveredChannel>): void {
    const notes = [...recovered.values()].flatMap((r) => r.quarantined);
    if (this.checkpoints.quarantined !== undefined) notes.push(this.checkpoints.quarantined);
    for (const note of notes) {
      this.force({
        channel: 'security',
        level: 'WARNING',
        event: 'log.recovery',
        outcome: 'success',
        msg: `unfinished write moved aside: ${note.bytes} byte(s) of ${note.file} at offset ${note.offset}`,
        data: { ...note },
      });
    }
    for (const [channel, r] of recovered) {
      const appended = r.appendedAfterClose;
      if (appended !== undefined) {
        this.force({
          channel: 'security',
          level: 'CRITICAL',
          event: 'log.integrity.appended_after_close',
          outcome: 'failure',
          msg: `${channel}.log held records ${appended.checkpoint + 1} to ${appended.records} after its clean close; they were moved to ${appended.quarantine}`,
          data: { channel, ...appended },
        });
      }
      if (r.behindCheckpoint === undefined) continue;
      this.force({
        channel: 'security',
        level: 'CRITICAL',
        event: 'log.integrity.behind_checkpoint',
        outcome: 'failure',
        msg: `${channel}.log holds ${r.behindCheckpoint.records} record(s) but its last checkpoint names ${r.behindCheckpoint.checkpoint}: records were removed`,
        data: { channel, ...r.behindCheckpoint },
      });
    }
  }

  /** Store an internal event regardless of the channel's minimum level. */
  private force(input: EventInput): void {
    try {
      this.writerFor(input.channel ?? 'security').append(prepareFields(input, this.config.limits));
    } catch (err) {
      this.hooks.onError(asLogsError(err));
    }
  }
}
