import { DetectionEngine, type DetectionOptions } from '../../src/detect/engine.js';
import type { AlertPayload } from '../../src/detect/notify.js';
import type { LogCore } from '../../src/log/core.js';
import type { EventInput } from '../../src/event/record.js';
import { newLog, type TestLog } from '../helpers.js';

export const START = Date.parse('2026-11-24T10:00:00.000Z');

/**
 * A log and the detectors on it, with a clock the test moves: records get the test's time,
 * and the engine reads new records only when `settle()` says so.
 */
export interface Rig {
  readonly t: TestLog;
  readonly logs: LogCore;
  engine: DetectionEngine;
  readonly alerts: AlertPayload[];
  /** Move both clocks (wall and monotonic) forward. */
  step(ms: number): void;
  /** Move only the wall clock (a clock jump). */
  jumpWall(ms: number): void;
  write(e: EventInput): Promise<{ channel: string; seq: number }>;
  /** Let the engine read what was written, run its checks, and finish its alerts. */
  settle(options?: { tick?: boolean }): Promise<AlertPayload[]>;
  /** A new engine on the same log (a restart of the service). */
  restart(extra?: Partial<DetectionOptions>): Promise<void>;
  close(): Promise<void>;
}

export async function rig(
  settings: Record<string, unknown> = {},
  extra: Partial<DetectionOptions> = {},
): Promise<Rig> {
  const t = newLog();
  let wall = START;
  let mono = 1_000_000;
  const logs = await t.open({ clock: () => wall, settings });
  const alerts: AlertPayload[] = [];
  const errors: Error[] = [];
  const make = (more: Partial<DetectionOptions>): DetectionEngine => {
    const engine = new DetectionEngine({
      logs,
      masterKey: t.masterKey,
      clock: { now: () => wall, monotonic: () => mono },
      pollMs: 0,
      tickMs: 0,
      freeBytes: () => 10 * 1024 ** 3,
      onError: (e) => errors.push(e),
      ...extra,
      ...more,
    });
    engine.onAlert((a) => alerts.push(a));
    return engine;
  };
  const r: Rig = {
    t,
    logs,
    engine: make({}),
    alerts,
    step(ms) {
      wall += ms;
      mono += ms;
    },
    jumpWall(ms) {
      wall += ms;
    },
    async write(e) {
      const ack = await logs.write(e, { wait: 'durable' });
      if (ack === null) throw new Error('below the minimum level');
      return { channel: ack.channel, seq: ack.seq };
    },
    async settle(options = {}) {
      await logs.flush();
      r.engine.poll();
      if (options.tick === true) r.engine.tick();
      await r.engine.settled();
      const [first] = errors;
      if (first !== undefined) throw first;
      return alerts;
    },
    async restart(more = {}) {
      await r.engine.close();
      r.engine = make(more);
    },
    async close() {
      await r.engine.close();
      await logs.close();
    },
  };
  return r;
}

/** A failed sign-in, as an application records it. */
export function failedLogin(account: string, ip: string): EventInput {
  return {
    channel: 'security',
    level: 'SECURITY',
    event: 'auth.login.failure',
    outcome: 'failure',
    actor: { id: account, type: 'user', ip },
    msg: 'wrong password',
  };
}

export function login(account: string, ip: string): EventInput {
  return {
    channel: 'audit',
    level: 'AUDIT',
    event: 'auth.login.success',
    outcome: 'success',
    actor: { id: account, type: 'user', ip },
  };
}
