import type { Config } from '../config/resolve.js';
import type { LogsError } from '../errors.js';
import type { EventInput } from '../event/record.js';
import type { Ack, ChannelStats } from '../store/store.js';
import type { EventHelpers } from './events.js';
import type { Logger } from './logger.js';

export interface WriteOptions {
  /** `durable`: resolve after fdatasync. `accepted`: once sequenced. Default: the channel's durability. */
  readonly wait?: 'durable' | 'accepted';
}

/** What the public face passes through to: the producer half of the open logs (log/core.ts). */
export interface ProducerCore {
  readonly dir: string;
  readonly logId: string;
  readonly publicKey: string;
  readonly config: Config;
  readonly log: Logger;
  readonly app: Logger;
  readonly api: Logger;
  readonly scheduler: Logger;
  readonly events: EventHelpers;
  readonly channels: string[];
  readonly failed: LogsError | undefined;
  logger(channel: string): Logger;
  stats(): Record<string, ChannelStats>;
  write(input: unknown, options?: WriteOptions): Promise<Ack | null>;
  writeAll(inputs: readonly unknown[]): Promise<Array<Ack | null>>;
  audit(event: EventInput): Promise<Ack>;
  security(event: EventInput): Promise<Ack>;
  emit(input: EventInput): void;
  flush(): Promise<void>;
  reportError(err: LogsError): void;
  close(): Promise<void>;
}

/**
 * An open logs directory, as an application holds it: the loggers and helpers producers call,
 * and nothing else. Administration (rotation, holds, deletion, keys) and GDPR erasure are done
 * by dihya-logs' own modules, the CLI and the service, which record each as an audit event; an
 * application cannot reach them through this object. Create it with `openLogs()`; `close()` it.
 */
export class Logs {
  readonly #core: ProducerCore;

  /** Made by `openLogs()`; not meant to be constructed by applications. */
  constructor(core: ProducerCore) {
    this.#core = core;
  }

  /** The logs directory. */
  get dir(): string {
    return this.#core.dir;
  }

  get logId(): string {
    return this.#core.logId;
  }

  /** `ed25519:<base64>`: what verify checks signatures with. */
  get publicKey(): string {
    return this.#core.publicKey;
  }

  get config(): Config {
    return this.#core.config;
  }

  /** Routes by level: AUDIT to `audit`, SECURITY to `security`, everything else to `app`. */
  get log(): Logger {
    return this.#core.log;
  }

  get app(): Logger {
    return this.#core.app;
  }

  get api(): Logger {
    return this.#core.api;
  }

  get scheduler(): Logger {
    return this.#core.scheduler;
  }

  /** Typed helpers for the catalogued event types (login, project generation, ...). */
  get events(): EventHelpers {
    return this.#core.events;
  }

  /** The channels this Logs writes to. */
  get channels(): string[] {
    return this.#core.channels;
  }

  /** Whether the writer has failed (a write or sync refused): the service is then not ready. */
  get failed(): LogsError | undefined {
    return this.#core.failed;
  }

  /** A logger bound to any configured channel. */
  logger(channel: string): Logger {
    return this.#core.logger(channel);
  }

  /** Counters per channel: records, bytes, write batches and fdatasync calls since open. */
  stats(): Record<string, ChannelStats> {
    return this.#core.stats();
  }

  /**
   * Validate and store one event. Resolves with its channel, seq and hash once stored as asked
   * (by default as its channel promises: after fdatasync for durable channels), or with null when
   * its level is below the channel's minimum. Rejects with a LogsError for invalid input, and
   * for a failed durable write (fail closed).
   */
  write(input: unknown, options: WriteOptions = {}): Promise<Ack | null> {
    return this.#core.write(input, options);
  }

  /**
   * Store a batch all or nothing: every event is validated and classified first; one that is
   * not valid rejects the call with its code, its message prefixed `event N:` and `details.index`
   * N, and nothing is stored. Resolves with one ack per event (null for one below its channel's
   * minimum level) once each is stored as its channel promises.
   */
  writeAll(inputs: readonly unknown[]): Promise<Array<Ack | null>> {
    return this.#core.writeAll(inputs);
  }

  /** Store an audit event (channel `audit`, level AUDIT unless given); resolves once durable. */
  audit(event: EventInput): Promise<Ack> {
    return this.#core.audit(event);
  }

  /** Store a security event (channel `security`, level SECURITY unless given); resolves once durable. */
  security(event: EventInput): Promise<Ack> {
    return this.#core.security(event);
  }

  /** Fire-and-forget: failures go to `onError`, never to the caller. */
  emit(input: EventInput): void {
    this.#core.emit(input);
  }

  /** Write and sync every channel, then sign a checkpoint for each that changed. */
  flush(): Promise<void> {
    return this.#core.flush();
  }

  /** Report a failure no caller waits for (to `onError`). */
  reportError(err: LogsError): void {
    this.#core.reportError(err);
  }

  /** Write, sync, sign final checkpoints and release the directory. Further writes are refused. */
  close(): Promise<void> {
    return this.#core.close();
  }
}
