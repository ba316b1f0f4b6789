import { createHmac, hkdfSync } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import type { DetectorsConfig } from '../config/detection.js';
import { openIfSealed, type ChannelKeyring } from '../crypto/body-cipher.js';
import { ALERT_EVENT_PREFIX } from '../event/record.js';
import { asLogsError, type LogsError } from '../errors.js';
import type { EventInput } from '../event/record.js';
import type { LogCore } from '../log/core.js';
import { FileFollower, LogLayout, splitLines, type FollowPosition } from '../store/file/index.js';
import { bytes as byteSize } from '../util/units.js';
import {
  Tampering,
  accessDenied,
  clockSkew,
  failedLogins,
  gdprBurst,
  massDeletion,
  privilegedFirstUse,
  userRule,
  type PrivilegeMemory,
} from './detectors.js';
import { AlertRaiser } from './alerts.js';
import { LineSelector } from './lines.js';
import { FilePrivilegeMemory } from './memory.js';
import { observedRecord } from './observed.js';
import { PositionStore } from './positions.js';
import { Notifier, type AlertPayload, type DeliveryFailure } from './notify.js';
import type { AlertDraft, Detector } from './types.js';
import { StreamWatch, freeBytesOf } from './watch.js';

/** Wall time and a monotonic time, both in ms: a clock jump is one moving without the other. */
export interface DetectionClock {
  now(): number;
  monotonic(): number;
}

export const realDetectionClock: DetectionClock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
};

/** More than this written to a channel while the service was down is not read again. */
const MAX_REPLAY = 1024 * 1024 * 1024;
/** At most this much of one file per poll: a long replay is read in steps. */
const MAX_READ = 64 * 1024 * 1024;
/** How much of a channel is read again at a restart to restore the detectors' counts. */
const WARM_UP_BYTES = 32 * 1024 * 1024;
/** How often the read positions are saved while running (and at close). */
const SAVE_EVERY_MS = 5_000;

export interface DetectionOptions {
  readonly logs: LogCore;
  /** Keys the digests that stand for addresses in alerts (`addr_...`). */
  readonly masterKey: Buffer;
  readonly clock?: DetectionClock;
  /** How often new records are read (ms; default 250). 0: only when `poll()` is called. */
  readonly pollMs?: number;
  /** How often silence, the writer, the disk and the clock are checked (ms; default 10 s). */
  readonly tickMs?: number;
  /** Replaces the notifier built from `alerts` in the configuration (tests). */
  readonly notifier?: Notifier;
  readonly privileges?: PrivilegeMemory;
  /** Why writes fail now, if they do (the service's readiness); default: the writer stopped. */
  readonly writeProblem?: () => LogsError | undefined;
  /** Free bytes of the logs' filesystem (tests); default statfs. */
  readonly freeBytes?: () => number;
  readonly onError: (err: LogsError) => void;
}

/**
 * The detectors on the live stream: follows every channel file from its end (records written
 * by this process or any other), hands each record of interest to the detectors, and turns
 * their detections into `alert.*` records in `security` and notifications. It reads the files
 * on a timer of its own, so detection and notification never slow ingest down.
 */
export class DetectionEngine {
  private readonly detectors: Detector[] = [];
  private readonly tampering: Tampering | undefined;
  private readonly followers = new Map<string, FileFollower>();
  /** Picks the lines worth parsing; undefined when a detector wants every record. */
  private readonly lines: LineSelector | undefined;
  private readonly timers: NodeJS.Timeout[] = [];
  private readonly groupKey: Buffer;
  private readonly clock: DetectionClock;
  private readonly notifier: Notifier;
  private readonly alerts: AlertRaiser;
  /** Silence, the writer, the disk and the clock, checked on each tick. */
  private readonly watch: StreamWatch;
  private readonly positions: PositionStore;
  private lastSaved: number;
  private closed = false;

  constructor(private readonly options: DetectionOptions) {
    const { logs } = options;
    this.clock = options.clock ?? realDetectionClock;
    this.groupKey = Buffer.from(
      hkdfSync('sha256', options.masterKey, logs.logId, 'dihya-logs alert groups v1', 32),
    );
    const layout = new LogLayout(logs.dir);
    this.notifier =
      options.notifier ??
      new Notifier({
        config: logs.config.alerts,
        outboxFile: layout.serviceStateFile('outbox'),
        onFailure: (f) => this.deliveryFailed(f),
      });
    this.alerts = new AlertRaiser(
      logs,
      this.notifier,
      () => this.clock.now(),
      (err) => this.options.onError(err),
    );
    const c: DetectorsConfig = logs.config.detectors;
    const token = (kind: string, value: string): string => this.token(kind, value);
    if (c.failedLogins.enabled) this.detectors.push(failedLogins(c.failedLogins, token));
    if (c.accessDenied.enabled)
      this.detectors.push(accessDenied(c.accessDenied, c.failedLogins.events, token));
    if (c.privileged.enabled)
      this.detectors.push(
        privilegedFirstUse(
          c.privileged,
          options.privileges ?? new FilePrivilegeMemory(layout.serviceStateFile('privileges')),
        ),
      );
    if (c.gdprBurst.enabled) this.detectors.push(gdprBurst(c.gdprBurst));
    if (c.massDeletion.enabled) this.detectors.push(massDeletion(c.massDeletion));
    if (c.tampering.enabled) {
      this.tampering = new Tampering();
      this.detectors.push(this.tampering);
    }
    if (c.clockJump.enabled) this.detectors.push(clockSkew(c.clockJump));
    for (const rule of c.rules) this.detectors.push(userRule(rule, token));
    this.lines = this.detectors.some((d) => d.interest.all)
      ? undefined
      : new LineSelector(
          this.detectors.map((d) => d.interest),
          c.clockJump.enabled,
        );
    // Continue where the run before stopped: what was written while the service was down is
    // read now (its alerts come late, but come). Without a saved place (a first start), at the
    // end of each file: the records before were there before detection was.
    const mono = this.clock.monotonic();
    this.positions = new PositionStore(layout.serviceStateFile('positions'));
    const saved = this.positions.load();
    for (const channel of logs.channels) {
      const file = layout.channelFile(channel);
      const place = saved.get(channel);
      if (place === undefined) {
        this.followers.set(channel, FileFollower.fromTail(file, 0).follower);
        continue;
      }
      const r = FileFollower.resume(file, place, { maxReplay: MAX_REPLAY, maxRead: MAX_READ });
      this.followers.set(channel, r.follower);
      if (r.gap !== undefined) this.gap(channel, r.gap, r.behind);
      if (r.gap !== 'rotated') this.warmUp(channel, file, place.offset);
    }
    this.lastSaved = mono;
    this.watch = new StreamWatch(
      c,
      logs.channels,
      {
        writeProblem: options.writeProblem ?? (() => logs.failed),
        freeBytes: options.freeBytes ?? (() => freeBytesOf(logs.dir)),
      },
      mono,
      this.clock.now(),
    );
    const pollMs = options.pollMs ?? 250;
    if (pollMs > 0) this.timers.push(setInterval(() => this.poll(), pollMs).unref());
    const tickMs = options.tickMs ?? 10_000;
    if (tickMs > 0) this.timers.push(setInterval(() => this.tick(), tickMs).unref());
  }

  /** Called with every alert raised (once its record is written, or failed to be). */
  onAlert(listener: (a: AlertPayload) => void): () => void {
    return this.alerts.onAlert(listener);
  }

  /** Read what was appended to the channel files since the last call, and detect. */
  poll(): void {
    if (this.closed) return;
    const ring = this.options.logs.keys.channelKeyring();
    const mono = this.clock.monotonic();
    for (const [channel, follower] of this.followers) {
      let chunk: Buffer;
      try {
        chunk = follower.pollChunk();
      } catch (err) {
        this.options.onError(asLogsError(err));
        continue;
      }
      if (chunk.length === 0) continue;
      this.watch.seen(channel, mono);
      this.read(channel, chunk, ring, true);
    }
    if (mono - this.lastSaved >= SAVE_EVERY_MS) this.savePositions(false);
  }

  /** Hand the records of interest in `chunk` to the detectors; `raise` false: state only. */
  private read(channel: string, chunk: Buffer, ring: ChannelKeyring, raise: boolean): void {
    for (const line of this.linesOfInterest(channel, chunk)) {
      let rec: Record<string, unknown>;
      try {
        rec = JSON.parse(line.toString('utf8')) as Record<string, unknown>;
        rec = openIfSealed(rec, ring).record;
      } catch {
        continue; // not a record: verify reports it
      }
      this.observe(channel, rec, raise);
    }
  }

  /**
   * Read again the last records before the place the run before stopped at (at most
   * WARM_UP_BYTES), raising nothing: its alerts were raised then. The windows and quiet
   * periods come back as they were (they follow the records' own time), so 4 failed sign-ins
   * before a restart and 1 after are 5, and an attack alerted just before is not alerted
   * again. The counts themselves, which hold accounts and addresses, are never written down.
   */
  private warmUp(channel: string, file: string, offset: number): void {
    const start = Math.max(0, offset - WARM_UP_BYTES);
    if (offset <= start) return;
    let fd: number | undefined;
    try {
      fd = openSync(file, 'r');
      const buf = Buffer.allocUnsafe(offset - start);
      const data = buf.subarray(0, readSync(fd, buf, 0, buf.length, start));
      // From the first whole line (the read may start inside one) to the end of the last one.
      const from = start === 0 ? 0 : data.indexOf(10) + 1;
      const to = data.lastIndexOf(10) + 1;
      if ((start === 0 || from > 0) && to > from)
        this.read(channel, data.subarray(from, to), this.options.logs.keys.channelKeyring(), false);
    } catch (err) {
      this.options.onError(asLogsError(err));
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  /** Save where each file was read to, for the next start (`durable` on close). */
  private savePositions(durable: boolean): void {
    this.lastSaved = this.clock.monotonic();
    const places = new Map<string, FollowPosition>();
    for (const [channel, f] of this.followers) {
      const p = f.position();
      if (p !== undefined) places.set(channel, p);
    }
    try {
      this.positions.save(places, durable);
    } catch (err) {
      this.options.onError(asLogsError(err));
    }
  }

  /** Records written while the service was down that detection will never read: say so. */
  private gap(channel: string, why: 'rotated' | 'too_far', behind: number): void {
    this.appRecord({
      level: 'WARNING',
      event: 'detection.gap',
      msg:
        why === 'rotated'
          ? `detection resumed on ${channel} after a rotation while the service was down: the end of the rotated file was not read`
          : `detection skipped ${byteSize(behind)} of ${channel} written while the service was down (more than ${byteSize(MAX_REPLAY)} to read again)`,
      data: { channel, reason: why, ...(why === 'too_far' ? { bytes: behind } : {}) },
    });
  }

  /** Check what no record says: silence, a failed writer, a full disk, the clock. */
  tick(): void {
    if (this.closed) return;
    const wall = this.clock.now();
    const mono = this.clock.monotonic();
    this.watch.check(wall, mono, (draft) => this.raise(draft));
  }

  /** A verification run found damage (the service's own runs, scheduled or asked for). */
  verificationFailed(damage: {
    readonly count: number;
    readonly kind?: string;
    readonly channel?: string;
    readonly file?: string;
    readonly line?: number;
  }): void {
    if (this.tampering === undefined || this.closed) return;
    const details: Record<string, string | number> = { source: 'verify', damage: damage.count };
    if (damage.kind !== undefined) details.kind = damage.kind;
    if (damage.channel !== undefined) details.channel = damage.channel;
    if (damage.file !== undefined) details.file = damage.file;
    if (damage.line !== undefined) details.line = damage.line;
    for (const a of this.tampering.tampered(this.clock.now(), [], details)) this.raise(a);
  }

  /** Wait until the alerts raised so far are written and their notifications settled. */
  async settled(): Promise<void> {
    await this.alerts.written();
    await this.notifier.settled();
  }

  /** Stop reading; finish writing the alerts raised; keep undelivered ones for the next start. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearInterval(t);
    this.savePositions(true);
    for (const f of this.followers.values()) f.close();
    await this.alerts.written();
    this.notifier.close();
  }

  /**
   * The lines a detector may want, in file order: an encrypted channel's bodies must be opened
   * to be read, so all of them there; elsewhere only those the line selector picks.
   */
  private linesOfInterest(channel: string, chunk: Buffer): Buffer[] {
    if (this.lines === undefined || this.options.logs.config.channels[channel]?.encrypt === true)
      return splitLines(chunk);
    return this.lines.select(chunk);
  }

  private observe(channel: string, rec: Record<string, unknown>, raise: boolean): void {
    const event = typeof rec.event === 'string' ? rec.event : 'log';
    if (event.startsWith(ALERT_EVENT_PREFIX) || typeof rec.seq !== 'number') return;
    const observed = observedRecord(channel, rec, event, this.options.logs, () => this.clock.now());
    for (const d of this.detectors) {
      let drafts: AlertDraft[];
      try {
        drafts = d.observe(observed);
      } catch (err) {
        this.options.onError(asLogsError(err));
        continue;
      }
      if (raise) for (const a of drafts) this.raise(a);
    }
  }

  private raise(draft: AlertDraft): void {
    if (this.closed) return;
    this.alerts.raise(draft);
  }

  private deliveryFailed(f: DeliveryFailure): void {
    this.appRecord({
      level: f.final ? 'ERROR' : 'WARNING',
      event: 'notification.failed',
      msg: `alert ${f.alertId}: ${f.via} ${f.final ? 'gave up' : 'will retry'} after attempt ${f.attempts} (${f.reason})`,
      data: {
        alert_id: f.alertId,
        via: f.via,
        attempts: f.attempts,
        reason: f.reason,
        final: f.final,
      },
    });
  }

  /** A failure of detection itself, as an `app` record: never waited for, never thrown. */
  private appRecord(e: Omit<EventInput, 'channel' | 'outcome'>): void {
    this.options.logs
      .write({ channel: 'app', outcome: 'failure', ...e }, { wait: 'accepted' })
      .catch((err: unknown) => this.options.onError(asLogsError(err)));
  }

  private token(kind: string, value: string): string {
    const mac = createHmac('sha256', this.groupKey).update(`${kind}\0${value}`).digest('hex');
    return `${kind}_${mac.slice(0, 24)}`;
  }
}
