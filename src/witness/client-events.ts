import type { EventInput } from '../event/record.js';

/**
 * The security events of the witness client, and what keeps them quiet: a rollback or a fork is
 * reported once per witness, origin and size; a misbehaving witness once an hour per reason.
 */

const WARN_EVERY_MS = 3_600_000;

/** Who is involved in an event. */
export interface WitnessEventSubject {
  readonly witness: string;
  readonly url: string;
}

/** Why a witness is reported unusable: `data.reason` of log.witness.unreachable. */
export type UnreachableReason = 'unreachable' | 'misconfigured' | 'refused' | 'bad_answer';

/** Emits the client's events, each at most as often as it should be. Never throws. */
export class WitnessReporter {
  private readonly once = new ReportedOnce();
  private readonly warnings = new RateLimit(WARN_EVERY_MS);

  constructor(
    private readonly onEvent: (event: EventInput) => Promise<void>,
    private readonly clock: () => number,
  ) {}

  /** CRITICAL log.integrity.rollback, once per witness, origin and witnessed size. */
  async rollback(
    w: WitnessEventSubject,
    channel: string,
    origin: string,
    witnessed: number,
    local: number,
  ): Promise<void> {
    if (this.once.first(`rollback\n${w.witness}\n${origin}\n${witnessed}`))
      await this.emit(rollbackEvent(w, channel, origin, witnessed, local));
  }

  /** CRITICAL log.integrity.fork, once per witness, origin and size. */
  async fork(
    w: WitnessEventSubject,
    channel: string,
    origin: string,
    size: number,
    old: number,
    why: string,
  ): Promise<void> {
    if (this.once.first(`fork\n${w.witness}\n${origin}\n${size}`))
      await this.emit(forkEvent(w, channel, origin, size, old, why));
  }

  /** WARNING log.witness.unreachable, at most once an hour per witness and reason. */
  async warn(
    w: WitnessEventSubject,
    reason: UnreachableReason,
    why: string,
    origin?: string,
  ): Promise<void> {
    if (this.warnings.allow(`${reason}\n${w.witness}`, this.clock()))
      await this.emit(unreachableEvent(w, reason, why, origin));
  }

  /** The witness stopped answering (the caller reports each change once). */
  async down(w: WitnessEventSubject, why: string): Promise<void> {
    await this.emit(unreachableEvent(w, 'unreachable', why));
  }

  async up(w: WitnessEventSubject): Promise<void> {
    await this.emit(reachableEvent(w));
  }

  private async emit(event: EventInput): Promise<void> {
    try {
      await this.onEvent(event);
    } catch {
      // Reporting must not stop witnessing; the event sink reports its own failures.
    }
  }
}

/** Remembers keys already reported; bounded, the oldest forgotten first. */
class ReportedOnce {
  private readonly seen = new Set<string>();

  constructor(private readonly max = 4096) {}

  /** True the first time a key is given. */
  first(key: string): boolean {
    if (this.seen.has(key)) return false;
    if (this.seen.size >= this.max) {
      const oldest = this.seen.values().next();
      if (oldest.done !== true) this.seen.delete(oldest.value);
    }
    this.seen.add(key);
    return true;
  }
}

/** At most one report per key and window. */
class RateLimit {
  private readonly last = new Map<string, number>();

  constructor(private readonly windowMs: number) {}

  allow(key: string, now: number): boolean {
    const at = this.last.get(key);
    if (at !== undefined && now - at < this.windowMs) return false;
    this.last.set(key, now);
    return true;
  }
}

function rollbackEvent(
  w: WitnessEventSubject,
  channel: string,
  origin: string,
  witnessed: number,
  local: number,
): EventInput {
  return {
    channel: 'security',
    level: 'CRITICAL',
    event: 'log.integrity.rollback',
    outcome: 'failure',
    msg: `witness ${w.witness} has cosigned ${origin} at size ${witnessed}, but the log's latest checkpoint of ${channel} is at size ${local}: the log was rolled back or forked; run: dihya-logs verify`,
    data: {
      channel,
      origin,
      witness: w.witness,
      url: w.url,
      witnessed_size: witnessed,
      size: local,
    },
  };
}

function forkEvent(
  w: WitnessEventSubject,
  channel: string,
  origin: string,
  size: number,
  old: number,
  why: string,
): EventInput {
  return {
    channel: 'security',
    level: 'CRITICAL',
    event: 'log.integrity.fork',
    outcome: 'failure',
    msg: `witness ${w.witness} refused ${origin} at size ${size} as inconsistent with the tree it cosigned (${why}): the log's history was rewritten or forked; run: dihya-logs verify`,
    data: { channel, origin, witness: w.witness, url: w.url, size, old_size: old, reason: why },
  };
}

function unreachableEvent(
  w: WitnessEventSubject,
  reason: UnreachableReason,
  why: string,
  origin?: string,
): EventInput {
  const what: Record<UnreachableReason, string> = {
    unreachable: 'cannot be reached',
    misconfigured: `does not know ${origin ?? 'the log'} or the log's key: check its configuration`,
    refused: 'refuses the log’s requests',
    bad_answer: 'answered without a valid cosignature',
  };
  return {
    channel: 'security',
    level: 'WARNING',
    event: 'log.witness.unreachable',
    outcome: 'failure',
    msg: `witness ${w.witness} (${w.url}) ${what[reason]} (${why}); checkpoints are sent again later`,
    data: {
      witness: w.witness,
      url: w.url,
      reason,
      detail: why,
      ...(origin === undefined ? {} : { origin }),
    },
  };
}

function reachableEvent(w: WitnessEventSubject): EventInput {
  return {
    channel: 'security',
    level: 'INFO',
    event: 'log.witness.reachable',
    outcome: 'success',
    msg: `witness ${w.witness} (${w.url}) answers again`,
    data: { witness: w.witness, url: w.url },
  };
}
