import { initLogs, openLogs } from '../src/index.js';
import { feed } from './feed.js';

/**
 * A realistic log for the index and GDPR benchmarks: events spread over 30 days (injected
 * clock) into app, api and audit, from 10,000 actors, 21 event types, messages from a small
 * vocabulary (one in 500 says "zanzibar"). The same log on every run (seeded generator).
 */
export const DAYS = 30;
export const DAY_MS = 86_400_000;
export const START = Date.UTC(2026, 9, 1);
export const ACTORS = 10_000;

export const APP_EVENTS = [
  'project.generate',
  'project.update',
  'project.delete',
  'template.export',
  'template.import',
  'job.run',
  'job.done',
  'cache.miss',
  'mail.sent',
  'search.run',
  'upload.done',
  'billing.invoice',
];
export const API_EVENTS = ['api.request', 'api.slow', 'api.error'];
export const AUDIT_EVENTS = [
  'auth.login.success',
  'auth.login.failure',
  'auth.logout',
  'access.denied',
  'role.granted',
  'data.export',
];
export const WORDS = [
  'generated',
  'project',
  'template',
  'from',
  'user',
  'request',
  'quota',
  'almost',
  'used',
  'export',
  'invoice',
  'paid',
  'cache',
  'warm',
  'cold',
  'student',
  'course',
  'lesson',
  'review',
  'deploy',
  'build',
  'failed',
  'passed',
  'retry',
  'timeout',
];

/** A small fast generator: the same log on every run. */
export function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Write `n` events into a new logs directory; returns its log id and the writing time. */
export async function writeVariedLog(
  dir: string,
  masterKey: Buffer,
  n: number,
): Promise<{ logId: string; writeMs: number }> {
  initLogs({ dir, masterKey });
  let now = START;
  const logs = await openLogs({
    dir,
    masterKey,
    handleExit: false,
    clock: () => now,
    settings: {
      index: { live: false },
      channels: { audit: { durability: 'buffered' }, security: { durability: 'buffered' } },
    },
  });
  const rnd = lcg(42);
  const step = (DAYS * DAY_MS) / n;
  const writeStarted = performance.now();
  await feed(n, 100, (i) => {
    now = START + Math.floor(i * step);
    const actor = { id: `user-${Math.floor(rnd() * ACTORS)}`, type: 'user' };
    const word = (): string => WORDS[Math.floor(rnd() * WORDS.length)] ?? '';
    const rare = rnd() < 0.002 ? ' zanzibar' : '';
    const msg = `${word()} ${word()} ${word()} ${Math.floor(rnd() * 100_000)}${rare}`;
    const r = rnd();
    if (r < 0.08) {
      const event = AUDIT_EVENTS[Math.floor(rnd() * AUDIT_EVENTS.length)] ?? '';
      logs
        .audit({ event, actor, msg, outcome: event.endsWith('failure') ? 'failure' : 'success' })
        .catch(() => undefined);
    } else if (r < 0.3) {
      const event = API_EVENTS[Math.floor(rnd() * API_EVENTS.length)] ?? '';
      logs.api.info({ event, actor, request_id: `req-${i}`, status: 200 }, msg);
    } else {
      const event = APP_EVENTS[Math.floor(rnd() * APP_EVENTS.length)] ?? '';
      logs.app.info({ event, actor, target: { type: 'project', id: `p-${i % 5000}` } }, msg);
    }
  });
  await logs.close();
  return { logId: logs.logId, writeMs: performance.now() - writeStarted };
}
