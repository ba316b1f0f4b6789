import { IndexFeeder } from '../search/index.js';
import { ALERT_EVENT_PREFIX, POLICY_CHANGE_EVENT } from '../event/record.js';
import { RESERVED_EVENT_PREFIX, isReservedEvent } from '../event/record.js';
import { LogsError, asLogsError } from '../errors.js';
import type { Config } from '../config/resolve.js';
import { levelAtLeast } from '../event/levels.js';
import {
  prepareEvent,
  prepareFields,
  type PreparedEvent,
  type PrepareOptions,
} from '../pipeline/prepare.js';
import type { EventInput } from '../event/record.js';
import type { ClassificationSettings } from '../redact/settings.js';
import { TimeStamper } from '../event/timestamp.js';
import type { TokenBook } from '../access/tokens.js';
import type { Ack, AppendMode, ChannelStats, Store } from '../store/store.js';
import type { StorePeople, StoreRecords } from '../store/store.js';
import { eventHelpers, type EventHelpers } from './events.js';
import { registerExit, unregisterExit, type ExitTarget } from './exit.js';
import { Logger, type LogSink } from './logger.js';
import { Logs, type ProducerCore, type WriteOptions } from './logs.js';
import type { CoreAccess } from './core-access.js';
import { KeyAdmin } from './key-admin.js';
import { LifecycleOps } from './lifecycle-ops.js';
import { Recorders } from './recorders.js';

export interface LogsParts {
  readonly config: Config;
  /** The open store: it sequences, writes, signs; its channels are in the order it numbers them. */
  readonly store: Store;
  /** Classification of every event (secrets removed, personal data encrypted). */
  readonly classification: ClassificationSettings;
  readonly onError: (err: LogsError) => void;
  readonly clock: () => number;
  readonly handleExit: boolean;
}

// Each public face's core: how dihya-logs' own modules (GDPR requests, queries) reach the
// capabilities behind a `Logs` an application hands them. Not exported from the package.
const cores = new WeakMap<Logs, LogCore>();

/** The core behind open logs (a `Logs` from `openLogs()`, or the core itself). */
export function coreOf(logs: Logs | LogCore): LogCore {
  if (logs instanceof LogCore) return logs;
  const core = cores.get(logs);
  if (core === undefined) throw new LogsError('USAGE', 'not open logs (use openLogs())');
  return core;
}

interface Channel {
  readonly index: number;
  readonly stamper: TimeStamper;
  readonly durable: boolean;
}

/**
 * The open logs as dihya-logs itself holds them: the producer API (which `Logs`, the public
 * face, passes through) and the internal capabilities the library's own modules are handed:
 * lifecycle (rotate, seal, hold, delete a segment), key administration, GDPR erasure and the
 * recorders of reserved events. Events are validated and serialized on the calling thread (so
 * an invalid one is refused at once); the store assigns seq, chains, writes, syncs and signs.
 * Create it with `openLogCore()`; `close()` it.
 */
export class LogCore implements LogSink, ExitTarget, ProducerCore {
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

  private readonly byName = new Map<string, Channel>();
  /** The public face: the producer API only, what `openLogs()` returns. */
  readonly logs: Logs;
  /** Rotation, sealing, legal holds, deletion of sealed segments. */
  readonly lifecycle: LifecycleOps;
  /** Channel keys, the keystore as a lookup, GDPR key destruction. */
  readonly keys: KeyAdmin;
  /** The writers of reserved event types (GDPR requests, alerts, integrity, policy). */
  readonly recorders: Recorders;
  private readonly store: Store;
  private readonly parts: LogsParts;
  private readonly prepare: PrepareOptions;
  private closing = false;
  private closed = false;

  /** Indexes appended records in a thread of its own (config `index.live`). */
  private readonly feeder: IndexFeeder | undefined;

  constructor(parts: LogsParts) {
    this.parts = parts;
    this.config = parts.config;
    this.store = parts.store;
    this.dir = parts.store.dir;
    this.logId = parts.store.logId;
    this.publicKey = parts.store.publicKey;
    this.prepare = { ...parts.config.limits, classification: parts.classification };
    if (parts.config.index.live)
      this.feeder = IndexFeeder.start({
        dir: this.dir,
        logId: this.logId,
        intervalMs: parts.config.index.intervalMs,
        keys: parts.store.keys.channelKeys(),
        onError: parts.onError,
      });
    parts.store.channels.forEach((c, index) => {
      const settings = parts.config.channels[c.name];
      this.byName.set(c.name, {
        index,
        stamper: new TimeStamper(parts.clock, c.lastTsMs),
        durable: settings?.durability === 'durable',
      });
    });
    this.log = new Logger(this, undefined);
    this.app = new Logger(this, 'app');
    this.api = new Logger(this, 'api');
    this.scheduler = new Logger(this, 'scheduler');
    this.events = eventHelpers((e) => this.write(e) as Promise<Ack>);
    const access = this.access();
    this.lifecycle = new LifecycleOps(access);
    this.keys = new KeyAdmin(access);
    this.recorders = new Recorders(access, this.keys);
    this.store.onNote = (note) => this.lifecycle.recordNote(note);
    this.logs = new Logs(this);
    cores.set(this.logs, this);
    if (parts.handleExit) registerExit(this);
    for (const e of parts.store.findings) this.force(e);
  }

  // What the capabilities see of this core (log/core-access.ts).
  private access(): CoreAccess {
    // eslint-disable-next-line @typescript-eslint/no-this-alias -- read live, not copied
    const core = this;
    return {
      store: this.store,
      config: this.config,
      clock: this.parts.clock,
      onError: this.parts.onError,
      get closing() {
        return core.closing;
      },
      hasChannel: (name) => this.byName.has(name),
      assertChannel: (name) => void this.channel(name),
      audit: (event) => this.audit(event),
      emit: (input) => this.emit(input),
      writeInternal: (input, options) => this.writeAs(input, options, true),
      addIndexKey: (channel, key) => this.feeder?.addKey(channel, key),
    };
  }

  /** A logger bound to any configured channel. */
  logger(channel: string): Logger {
    this.channel(channel);
    return new Logger(this, channel);
  }

  /** Counters per channel: records, bytes, write batches and fdatasync calls since open. */
  stats(): Record<string, ChannelStats> {
    return this.store.stats();
  }

  /** The channels this Logs writes to. */
  get channels(): string[] {
    return [...this.byName.keys()];
  }

  /**
   * Validate and store one event. Resolves with its channel, seq and hash once stored as asked
   * (by default as its channel promises: after fdatasync for durable channels), or with null when
   * its level is below the channel's minimum. Rejects with a LogsError for invalid input, and
   * for a failed durable write (fail closed).
   */
  write(input: unknown, options: WriteOptions = {}): Promise<Ack | null> {
    return this.writeAs(input, options, false);
  }

  /**
   * Store a batch all or nothing: every event is validated and classified first; one that is
   * not valid rejects the call with its code, its message prefixed `event N:` and `details.index`
   * N, and nothing is stored. Then all are handed to the writer together. Resolves with one ack
   * per event (null for one below its channel's minimum level) once each is stored as its
   * channel promises: durable channels after fdatasync, the others once sequenced.
   */
  writeAll(inputs: readonly unknown[]): Promise<Array<Ack | null>> {
    const prepared: Array<{ p: PreparedEvent; c: Channel } | null> = [];
    for (let i = 0; i < inputs.length; i++) {
      try {
        const p = prepareEvent(inputs[i], this.prepare);
        reserved(p.event);
        prepared.push(this.wanted(p) ? { p, c: this.channel(p.channel) } : null);
      } catch (err) {
        const e = asLogsError(err);
        return Promise.reject(
          new LogsError(e.code, `event ${i}: ${e.message}`, { details: { index: i } }),
        );
      }
    }
    try {
      return Promise.all(
        prepared.map((x) =>
          x === null
            ? Promise.resolve(null)
            : (this.send(x.c, x.p, x.c.durable ? 'd' : 'a') as Promise<Ack>),
        ),
      );
    } catch (err) {
      return Promise.reject(asLogsError(err));
    }
  }

  /**
   * A database store's people (PostgreSQL: GDPR export and erasure ask it directly); undefined
   * for the file store, whose query index answers.
   */
  get people(): StorePeople | undefined {
    return this.store.people;
  }

  /** A database store's records (queries, tails, counts); undefined for the file store. */
  get records(): StoreRecords | undefined {
    return this.store.records;
  }
  /** A database store's service tokens; undefined for the file store (its token file). */
  get tokens(): TokenBook | undefined {
    return this.store.tokens;
  }

  /** Whether the writer has failed (a write or sync refused): the service is then not ready. */
  get failed(): LogsError | undefined {
    return this.store.failed;
  }

  /**
   * The RFC 9162 consistency proof (hex) of a channel's tree from `from` to `to`, when the
   * writer still remembers both sizes (sizes it signed or wrote lately); null otherwise. For
   * the witness client: it costs no hashing (the writer kept the subtrees its fold completed).
   */
  async consistencyProof(channel: string, from: number, to: number): Promise<string[] | null> {
    return this.store.consistency(channel, from, to);
  }

  private writeAs(input: unknown, options: WriteOptions, internal: boolean): Promise<Ack | null> {
    try {
      const p = prepareEvent(input, this.prepare);
      if (!internal) reserved(p.event);
      if (!this.wanted(p)) return Promise.resolve(null);
      const c = this.channel(p.channel);
      const wait = options.wait ?? (c.durable ? 'durable' : 'accepted');
      return this.send(c, p, wait === 'durable' ? 'd' : 'a') as Promise<Ack>;
    } catch (err) {
      return Promise.reject(asLogsError(err));
    }
  }

  /** Store an audit event (channel `audit`, level AUDIT unless given); resolves once durable. */
  audit(event: EventInput): Promise<Ack> {
    return this.writeRequired({ channel: 'audit', level: 'AUDIT', ...event });
  }

  /** Store a security event (channel `security`, level SECURITY unless given); resolves once durable. */
  security(event: EventInput): Promise<Ack> {
    return this.writeRequired({ channel: 'security', level: 'SECURITY', ...event });
  }

  private writeRequired(input: EventInput): Promise<Ack> {
    return this.write(input, { wait: 'durable' }).then((ack) => {
      if (ack === null) {
        throw new LogsError(
          'EVENT_INVALID',
          `${input.channel ?? ''}: the level is below the channel's minimum`,
        );
      }
      return ack;
    });
  }

  /** LogSink: the loggers' fire-and-forget path. Never throws. */
  emit(input: EventInput): void {
    try {
      const p = prepareFields(input, this.prepare);
      reserved(p.event);
      if (this.wanted(p)) void this.send(this.channel(p.channel), p, 'f');
    } catch (err) {
      this.parts.onError(asLogsError(err));
    }
  }

  /** Store an internal event regardless of the channel's minimum level. */
  private force(input: EventInput): void {
    try {
      const p = prepareFields(input, this.prepare);
      void this.send(this.channel(p.channel), p, 'f');
    } catch (err) {
      this.parts.onError(asLogsError(err));
    }
  }

  private wanted(p: PreparedEvent): boolean {
    const minLevel = this.config.channels[p.channel]?.minLevel;
    return minLevel === undefined || levelAtLeast(p.level, minLevel);
  }

  private send(c: Channel, p: PreparedEvent, mode: AppendMode): Promise<Ack> | undefined {
    if (this.closing) throw new LogsError('LOGS_CLOSED', `${p.channel}: the logs are closed`);
    const skew = c.stamper.stamp();
    if (skew > 0) {
      this.parts.onError(
        new LogsError(
          'CLOCK_BACKWARDS',
          `${p.channel}: the clock went back ${skew} ms; records keep their order by seq and carry ts_skew_ms`,
        ),
      );
    }
    return this.store.append(c.index, p, c.stamper.ts, skew, mode);
  }

  private channel(name: string): Channel {
    const c = this.byName.get(name);
    if (c === undefined) {
      // Name the channel only if it is a plain name: it may come from anywhere.
      const plain =
        /^[a-z][\w-]{0,31}$/.test(name) &&
        this.parts.classification.classifier.findings(name).length === 0;
      throw new LogsError(
        'EVENT_CHANNEL_UNKNOWN',
        `channel ${plain ? `"${name}"` : '(a name)'} is not configured (configured: ${this.channels.join(', ')})`,
      );
    }
    return c;
  }

  /** Write and sync every channel, then sign a checkpoint for each that changed. */
  flush(): Promise<void> {
    return this.store.flush();
  }

  /** As flush(); checkpoints are also signed at least every second on their own. */
  checkpoint(): Promise<void> {
    return this.store.flush();
  }

  /** ExitTarget: write, sync and checkpoint synchronously (signal handlers). */
  flushSync(): void {
    if (!this.closing) this.store.flushSync();
  }

  /** ExitTarget: as close(), synchronously (process exit). */
  closeSync(): void {
    if (this.closed) return;
    this.closing = true;
    void this.feeder?.stop();
    this.closed = true;
    unregisterExit(this);
    this.store.closeSync();
  }

  /** Report a failure no caller waits for (to `onError`). */
  reportError(err: LogsError): void {
    this.parts.onError(err);
  }

  /** Write, sync, sign final checkpoints and release the directory. Further writes are refused. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    try {
      await this.store.close(async () => {
        await this.feeder?.stop();
      });
    } finally {
      this.closed = true;
      unregisterExit(this);
    }
  }
}

function reserved(event: string): void {
  if (isReservedEvent(event))
    throw new LogsError(
      'EVENT_INVALID',
      `event: ${RESERVED_EVENT_PREFIX}*, ${ALERT_EVENT_PREFIX}*, log.integrity.*, log.witness.*, log.recovery* and ${POLICY_CHANGE_EVENT} event types are recorded by dihya-logs itself (GDPR requests, alerts, integrity findings, policy changes)`,
    );
}
