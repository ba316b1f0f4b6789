/**
 * What no record says, checked on a timer: a watched channel gone silent, the writer failing,
 * the logs' filesystem nearly full, and the wall clock jumping against the monotonic one.
 */
import { statfsSync } from 'node:fs';
import type { DetectorsConfig } from '../config/detection.js';
import type { LogsError } from '../errors.js';
import { roughDuration } from '../util/units.js';
import type { AlertDraft } from './types.js';

export interface WatchProbes {
  /** Why writes fail now, if they do. */
  readonly writeProblem: () => LogsError | undefined;
  /** Free bytes of the logs' filesystem, undefined when unknown. */
  readonly freeBytes: () => number | undefined;
}

/** The state of the checks between ticks: each condition is alerted once, until it clears. */
export class StreamWatch {
  /** Monotonic time of each channel's last record (for a watched channel, the start until then). */
  private readonly lastSeen = new Map<string, number>();
  private readonly silent = new Set<string>();
  /** Watched channels with no record since the start. */
  private readonly sinceStart = new Set<string>();
  private writerAlerted = false;
  private diskAlerted = false;
  private lastWall: number;
  private lastMono: number;

  /** `mono` and `wall`: the clocks at the start. */
  constructor(
    private readonly config: DetectorsConfig,
    channels: readonly string[],
    private readonly probes: WatchProbes,
    mono: number,
    wall: number,
  ) {
    // A watched channel's silence counts from the start until its first record: a producer
    // that never reconnects after a restart is the silence that matters most.
    for (const channel of config.loggingStopped.channels) {
      if (!channels.includes(channel)) continue;
      this.lastSeen.set(channel, mono);
      this.sinceStart.add(channel);
    }
    this.lastWall = wall;
    this.lastMono = mono;
  }

  /** A record was read on `channel` at monotonic time `mono`. */
  seen(channel: string, mono: number): void {
    this.lastSeen.set(channel, mono);
    this.silent.delete(channel);
    this.sinceStart.delete(channel);
  }

  /** Check everything at these clock readings; each detection goes to `raise`. */
  check(wall: number, mono: number, raise: (draft: AlertDraft) => void): void {
    const stopped = this.config.loggingStopped;
    if (stopped.enabled) {
      for (const channel of stopped.channels) {
        const last = this.lastSeen.get(channel);
        if (last === undefined || this.silent.has(channel)) continue;
        if (mono - last < stopped.silenceMs) continue;
        this.silent.add(channel);
        raise({
          detector: 'logging_stopped',
          type: 'logging_stopped',
          message: this.sinceStart.has(channel)
            ? `no record on ${channel} since the detectors started ${roughDuration(mono - last)} ago`
            : `no record on ${channel} for ${roughDuration(mono - last)}`,
          group: { by: 'channel', value: channel },
          evidence: [],
          details: { channel, silent_ms: Math.round(mono - last) },
        });
      }
      const failed = this.probes.writeProblem();
      if (failed === undefined) this.writerAlerted = false;
      else if (!this.writerAlerted) {
        this.writerAlerted = true;
        raise({
          detector: 'logging_stopped',
          type: 'writer_failed',
          message: `writing the logs failed (${failed.code}): events are refused`,
          evidence: [],
          details: { code: failed.code },
        });
      }
      const free = this.probes.freeBytes();
      if (free !== undefined) {
        if (free < stopped.minFreeBytes && !this.diskAlerted) {
          this.diskAlerted = true;
          raise({
            detector: 'logging_stopped',
            type: 'disk_low',
            message: `${free} bytes free on the logs' filesystem (minimum ${stopped.minFreeBytes})`,
            evidence: [],
            details: { free_bytes: free, min_free_bytes: stopped.minFreeBytes },
          });
        } else if (free >= stopped.minFreeBytes * 1.1) this.diskAlerted = false;
      }
    }
    const jump = wall - this.lastWall - (mono - this.lastMono);
    this.lastWall = wall;
    this.lastMono = mono;
    if (this.config.clockJump.enabled && Math.abs(jump) > this.config.clockJump.toleranceMs) {
      raise({
        detector: 'clock_jump',
        type: 'clock_jump',
        message: `the wall clock jumped ${jump > 0 ? 'forward' : 'back'} ${Math.abs(Math.round(jump))} ms`,
        group: { by: 'host', value: 'this' },
        evidence: [],
        details: { jump_ms: Math.round(jump) },
      });
    }
  }
}

/** Free bytes of the filesystem holding `dir` (statfs), undefined when it cannot be read. */
export function freeBytesOf(dir: string): number | undefined {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return undefined;
  }
}
