import { IndexFeeder } from '../search/feeder.js';
import {
  ALERT_EVENT_PREFIX,
  POLICY_CHANGE_EVENT,
  RESERVED_EVENT_PREFIX,
  isIntegrityEvent,
  isReservedEvent,
} from '../event/record.js';
import type { Keystore } from '../crypto/keystore.js';
import type { ChannelKeyring } from '../crypto/body-cipher.js';
import type { SubjectLookup } from '../crypto/subjects.js';
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
import type { Ack, ChannelStats } from '../store/file/channel-types.js';
import type { SequencerClient } from '../store/file/sequencer/client.js';
import type { LifecycleNote, Mode } from '../store/file/sequencer/protocol.js';
import type { SealResult } from '../store/file/sealer.js';
import { LogLayout } from '../store/file/layout.js';
import { readSegmentBook } from '../store/file/segment-log.js';
import { eventHelpers, type EventHelpers } from './events.js';
import { registerExit, unregisterExit, type ExitTarget } from './exit.js';
import { Logger, type LogSink } from './logger.js';

export interface LogsParts {
  readonly config: Config;
  readonly dir: string;
  readonly logId: string;
  readonly publicKey: string;
  readonly client: SequencerClient;
  /** Channel names in the sequencer's order, with the time of each one's last record. */
  readonly channels: ReadonlyArray<{ readonly name: string; readonly lastTsMs: number }>;
  readonly release: () => void;
  /** Classification of every event (secrets removed, personal data encrypted). */
  readonly classification: ClassificationSettings;
  readonly onError: (err: LogsError) => void;
  readonly clock: () => number;
  readonly handleExit: boolean;
  /** The subject keystore the classification writes to (GDPR erasure goes through it). */
  readonly keystore: Keystore;
}

export interface WriteOptions {
  /** `durable`: resolve after fdatasync. `accepted`: once sequenced. Default: the channel's durability. */
  readonly wait?: 'durable' | 'accepted';
}

/** What `rotate()` did for one channel. */
export interface RotationResult {
  readonly channel: string;
  /** False when the active file was empty: nothing to rotate. */
  readonly rotated: boolean;
  readonly first?: number;
  readonly last?: number;
  /** The sealed archive; absent if sealing failed (it is retried on the next open). */
  readonly seal?: SealResult;
}

const DAY_MS = 24 * 60 * 60 * 1000;

interface Channel {
  readonly index: number;
  readonly stamper: TimeStamper;
  readonly durable: boolean;
}

/**
 * An open logs directory: the loggers and helpers producers call. Events are validated and
 * serialized on the calling thread (so an invalid one is refused at once); a sequencer thread
 * assigns seq, chains, writes, syncs and signs. Create it with `openLogs()`; `close()` it.
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

  private readonly byName = new Map<string, Channel>();
  private readonly client: SequencerClient;
  private readonly parts: LogsParts;
  private readonly prepare: PrepareOptions;
  private closing = false;
  private closed = false;

  /** Indexes appended records in a thread of its own (config `index.live`). */
  private readonly feeder: IndexFeeder | undefined;
  private keyring: ChannelKeyring | undefined;

  constructor(parts: LogsParts, recovery: readonly EventInput[]) {
    this.parts = parts;
    this.config = parts.config;
    this.dir = parts.dir;
    this.logId = parts.logId;
    this.publicKey = parts.publicKey;
    this.client = parts.client;
    this.prepare = { ...parts.config.limits, classification: parts.classification };
    if (parts.config.index.live)
      this.feeder = IndexFeeder.start({
        dir: parts.dir,
        logId: parts.logId,
        intervalMs: parts.config.index.intervalMs,
        keys: parts.keystore.channelKeys(),
        onError: parts.onError,
      });
    parts.channels.forEach((c, index) => {
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
    this.client.onNote = (note) => this.lifecycleEvent(note);
    if (parts.handleExit) registerExit(this);
    for (const e of recovery) this.force(e);
  }

  /** A logger bound to any configured channel. */
  logger(channel: string): Logger {
    this.channel(channel);
    return new Logger(this, channel);
  }

  /** Counters per channel: records, bytes, write batches and fdatasync calls since open. */
  stats(): Record<string, ChannelStats> {
    return this.client.channelStats();
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

  /** Whether the writer has failed (a write or sync refused): the service is then not ready. */
  get failed(): LogsError | undefined {
    return this.client.failed;
  }

  /**
   * Record a GDPR request event (`gdpr.*`, in `audit`, durable). Only the GDPR module calls
   * this: producers cannot write `gdpr.*` events, so the request register (and the scheduled
   * erasures it drives) holds only what dihya-logs itself recorded.
   */
  recordRequest(event: EventInput): Promise<Ack> {
    if (!event.event?.startsWith(RESERVED_EVENT_PREFIX))
      return Promise.reject(new LogsError('INTERNAL', 'recordRequest takes gdpr.* events only'));
    return this.writeAs(
      { channel: 'audit', level: 'AUDIT', ...event },
      { wait: 'durable' },
      true,
    ).then((ack) => {
      if (ack === null) throw new LogsError('EVENT_INVALID', 'audit: below the minimum level');
      return ack;
    });
  }

  /**
   * Record an alert (`alert.*`, in `security`, durable). Only the detectors call this:
   * producers cannot write `alert.*` events, so an alert in the log was raised by dihya-logs.
   */
  recordAlert(event: EventInput): Promise<Ack> {
    if (!event.event?.startsWith(ALERT_EVENT_PREFIX))
      return Promise.reject(new LogsError('INTERNAL', 'recordAlert takes alert.* events only'));
    return this.writeAs(
      { channel: 'security', level: 'SECURITY', ...event },
      { wait: 'durable' },
      true,
    ).then((ack) => {
      if (ack === null) throw new LogsError('EVENT_INVALID', 'security: below the minimum level');
      return ack;
    });
  }

  /**
   * The RFC 9162 consistency proof (hex) of a channel's tree from `from` to `to`, when the
   * writer still remembers both sizes (sizes it signed or wrote lately); null otherwise. For
   * the witness client: it costs no hashing (the writer kept the subtrees its fold completed).
   */
  async consistencyProof(channel: string, from: number, to: number): Promise<string[] | null> {
    return (await this.client.lifecycle({ kind: 'consistency', channel, from, to })) as
      string[] | null;
  }

  /**
   * Record an event about the log's own integrity (`log.integrity.*`, `log.witness.*`, in
   * `security`, durable): what the witnesses answered. Only dihya-logs calls this; producers
   * cannot write these event types.
   */
  recordIntegrity(event: EventInput): Promise<Ack | null> {
    if (event.event === undefined || !isIntegrityEvent(event.event))
      return Promise.reject(
        new LogsError('INTERNAL', 'recordIntegrity takes log.integrity.* and log.witness.* events'),
      );
    return this.writeAs({ channel: 'security', ...event }, { wait: 'durable' }, true);
  }

  /**
   * Record a change of the policy the configuration states (`config.policy.changed`, in
   * `audit`, durable): written when the logs are opened, never by producers. Null when the
   * audit channel's minimum level drops it.
   */
  recordPolicyChange(event: EventInput): Promise<Ack | null> {
    if (event.event !== POLICY_CHANGE_EVENT)
      return Promise.reject(
        new LogsError('INTERNAL', `recordPolicyChange takes ${POLICY_CHANGE_EVENT} events only`),
      );
    return this.writeAs({ channel: 'audit', ...event }, { wait: 'durable' }, true);
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

  private send(c: Channel, p: PreparedEvent, mode: Mode): Promise<Ack> | undefined {
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
    return this.client.send(c.index, p, c.stamper.ts, skew, mode);
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

  /**
   * Rotate a channel (or every channel) now: its active file becomes a segment, sealed and
   * compressed into `archive/`. Resolves once the seals are signed. An empty channel is left as is.
   */
  async rotate(channel?: string): Promise<RotationResult[]> {
    if (channel !== undefined) this.channel(channel);
    return (await this.client.lifecycle({
      kind: 'rotate',
      ...(channel === undefined ? {} : { channel }),
    })) as RotationResult[];
  }

  /**
   * Rotate the channels that are due without a new record to trigger it: an active file begun
   * on an earlier UTC day (a quiet channel at midnight), or at its size limit. The `rotate` job.
   */
  async rotateDue(): Promise<RotationResult[]> {
    const dueAt = new Date(this.parts.clock()).toISOString();
    return (await this.client.lifecycle({ kind: 'rotate', dueAt })) as RotationResult[];
  }

  /** Seal every rotated segment still waiting in staging (the `archive` job). */
  async seal(): Promise<SealResult[]> {
    return (await this.client.lifecycle({ kind: 'seal' })) as SealResult[];
  }

  /**
   * Set or clear a legal hold on a channel: while set, retention deletes nothing in it. Signed
   * into the segment log and recorded as an `audit` event.
   */
  async hold(
    channel: string,
    set: boolean,
    reason: string,
    actor?: EventInput['actor'],
  ): Promise<void> {
    this.channel(channel);
    if (reason.trim() === '')
      throw new LogsError('USAGE', 'a legal hold needs a reason (--reason)');
    // The reason may name people: it is kept, classified, in the audit event; the signed
    // segment log only points to that event.
    const ack = await this.audit({
      event: set ? 'retention.hold.set' : 'retention.hold.cleared',
      outcome: 'success',
      msg: `legal hold ${set ? 'set on' : 'cleared from'} ${channel}: ${reason}`,
      ...(actor === undefined ? {} : { actor }),
      data: { channel, reason },
    });
    await this.client.lifecycle({ kind: 'hold', channel, set, reason: `audit #${ack.seq}` });
  }

  /**
   * Delete a sealed archive, leaving a signed tombstone: the step `applyRetention()` takes
   * after recording the deletion as an audit event. Refused under a legal hold
   * (RETENTION_HOLD) and while the segment's newest record is younger than the channel's
   * minimum retention (RETENTION_MINIMUM). Returns the archive's name and size.
   */
  async deleteSegment(
    channel: string,
    first: number,
    last: number,
    reason: string,
    now: number = this.parts.clock(),
  ): Promise<{ file: string; size: number }> {
    this.channel(channel);
    const seg = readSegmentBook(new LogLayout(this.dir), this.logId)
      .segments(channel)
      .find((s) => s.first === first && s.last === last);
    const minDays = this.config.channels[channel]?.retention.minDays ?? 0;
    if (seg?.state === 'sealed' && now - Date.parse(seg.lastTs) < minDays * DAY_MS) {
      throw new LogsError(
        'RETENTION_MINIMUM',
        `${channel} records ${first} to ${last} are younger than the minimum retention of ${minDays} days`,
      );
    }
    return (await this.client.lifecycle({ kind: 'tombstone', channel, first, last, reason })) as {
      file: string;
      size: number;
    };
  }

  /** Record what the sequencer thread did on its own: rotations and seals. */
  private lifecycleEvent(note: LifecycleNote): void {
    if (this.closing || !this.byName.has('scheduler')) return;
    try {
      switch (note.kind) {
        case 'rotated':
          this.emit({
            channel: 'scheduler',
            level: 'INFO',
            event: 'log.rotated',
            outcome: 'success',
            msg: `${note.channel} rotated (${note.reason}): records ${note.first} to ${note.last}`,
            data: {
              channel: note.channel,
              first: note.first,
              last: note.last,
              reason: note.reason,
              bytes: note.bytes,
            },
          });
          break;
        case 'sealed':
          this.emit({
            channel: 'scheduler',
            level: 'INFO',
            event: 'log.archive.sealed',
            outcome: 'success',
            msg: `${note.seal.channel} records ${note.seal.first} to ${note.seal.last} sealed into ${note.seal.file}`,
            data: {
              channel: note.seal.channel,
              first: note.seal.first,
              last: note.seal.last,
              file: note.seal.file,
              bytes: note.seal.bytes,
              size: note.seal.size,
              duration_ms: Math.round(note.seal.durationMs),
            },
          });
          break;
        case 'seal_failed':
          this.parts.onError(
            new LogsError(
              note.error.code as LogsError['code'],
              `sealing ${note.channel} ${note.first}-${note.last} failed: ${note.error.message}`,
            ),
          );
          this.emit({
            channel: 'scheduler',
            level: 'ERROR',
            event: 'log.archive.sealed',
            outcome: 'failure',
            msg: `sealing ${note.channel} records ${note.first} to ${note.last} failed (${note.error.code}); it is retried by the archive job and on the next open`,
            data: {
              channel: note.channel,
              first: note.first,
              last: note.last,
              code: note.error.code,
            },
          });
          break;
      }
    } catch (err) {
      this.parts.onError(asLogsError(err));
    }
  }

  /** Write and sync every channel, then sign a checkpoint for each that changed. */
  flush(): Promise<void> {
    return this.client.flush();
  }

  /** As flush(); checkpoints are also signed at least every second on their own. */
  checkpoint(): Promise<void> {
    return this.client.flush();
  }

  /** ExitTarget: write, sync and checkpoint synchronously (signal handlers). */
  flushSync(): void {
    if (!this.closing) this.client.flushSync();
  }

  /** ExitTarget: as close(), synchronously (process exit). */
  closeSync(): void {
    if (this.closed) return;
    this.closing = true;
    void this.feeder?.stop();
    this.client.closeSync();
    this.finish();
  }

  /** Report a failure no caller waits for (to `onError`). */
  reportError(err: LogsError): void {
    this.parts.onError(err);
  }

  /**
   * Start a new key for each encrypted channel given (all of them by default): records from now
   * on are encrypted under it, older ones stay readable under theirs. Recorded as an audit
   * event. Returns the channels and their new key ids.
   */
  async rotateChannelKeys(
    channels?: readonly string[],
    actor?: EventInput['actor'],
  ): Promise<Array<{ channel: string; key: number }>> {
    const encrypted = Object.keys(this.config.channels).filter(
      (c) => this.config.channels[c]?.encrypt === true,
    );
    const wanted = channels ?? encrypted;
    for (const c of wanted) {
      this.channel(c);
      if (!encrypted.includes(c)) {
        throw new LogsError(
          'USAGE',
          `channel ${c} is not encrypted (set channels.${c}.encrypt: true in the configuration)`,
        );
      }
    }
    const rotated: Array<{ channel: string; key: number }> = [];
    for (const c of wanted) {
      const key = this.parts.keystore.rotateChannelKey(c);
      this.keyring = undefined;
      this.client.setChannelKey(c, key);
      this.feeder?.addKey(c, key);
      rotated.push({ channel: c, key: key.id });
    }
    if (rotated.length === 0) return rotated;
    await this.audit({
      event: 'keys.rotated',
      outcome: 'success',
      msg: `new channel keys: ${rotated.map((r) => `${r.channel} #${r.key}`).join(', ')}`,
      ...(actor === undefined ? {} : { actor }),
      data: { channels: rotated },
    });
    return rotated;
  }

  /** The writer's keystore as a lookup: pseudonym → id and key (reveal, for allowed readers). */
  subjectLookup(): SubjectLookup {
    return this.parts.keystore;
  }

  /** The keys of the encrypted channels, to read their records (query, export). */
  channelKeyring(): ChannelKeyring {
    // Unwrapped once (a keystore read and an AES-GCM unwrap per key): the service asks on every
    // query and every tail poll. Only rotateChannelKeys() changes them, in this process.
    this.keyring ??= this.parts.keystore.channelKeyring();
    return this.keyring;
  }

  /** A person's pseudonym, if the keystore knows them (never creates one). */
  pseudonymOf(id: string): string | undefined {
    return this.parts.keystore.find(id)?.pseudonym;
  }

  /**
   * Destroy people's keys and id mappings (GDPR erasure, see `gdpr/erase.ts`), then compact the
   * keystore so no copy of a key remains. Returns how many were erased.
   */
  destroySubjectKeys(pseudonyms: readonly string[]): number {
    let n = 0;
    for (const p of pseudonyms) if (this.parts.keystore.erase(p)) n += 1;
    this.parts.keystore.compact();
    return n;
  }

  /** Write, sync, sign final checkpoints and release the directory. Further writes are refused. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    try {
      await this.client.close();
    } finally {
      await this.feeder?.stop();
      this.finish();
    }
  }

  private finish(): void {
    if (this.closed) return;
    this.closed = true;
    unregisterExit(this);
    this.parts.release();
  }
}

function reserved(event: string): void {
  if (isReservedEvent(event))
    throw new LogsError(
      'EVENT_INVALID',
      `event: ${RESERVED_EVENT_PREFIX}*, ${ALERT_EVENT_PREFIX}*, log.integrity.*, log.witness.*, log.recovery* and ${POLICY_CHANGE_EVENT} event types are recorded by dihya-logs itself (GDPR requests, alerts, integrity findings, policy changes)`,
    );
}
