import { randomUUID } from 'node:crypto';

/** The object half of a `logger.info(obj, msg)` call, as both loggers receive it. */
export type BenchFields = Record<string, unknown>;

/** The message half: one constant string, as most call sites have. */
export const BENCH_MSG = 'project generated from template';

const TEMPLATES = ['react-admin', 'vue-shop', 'express-api', 'django-blog', 'flutter-app'];
const REGIONS = ['eu-west-1', 'eu-central-1', 'us-east-1', 'af-north-1'];

/**
 * A realistic audit-like event (about 350 bytes once written by pino, a little more by
 * dihya-logs, which adds seq and the chain hash). Varied ids and a fresh uuid per event, so
 * neither logger gets to serialize the same strings over and over.
 */
function makeEvent(i: number): BenchFields {
  return {
    event: 'project.generate',
    actor: { id: `user-${String(100_000 + (i % 50_000))}`, type: 'user' },
    target: { type: 'project', id: `proj-${String(i % 9_973).padStart(6, '0')}` },
    outcome: 'success',
    request_id: randomUUID(),
    template: TEMPLATES[i % TEMPLATES.length],
    files: 20 + (i % 180),
    duration_ms: 150 + ((i * 7919) % 4_000),
    region: REGIONS[i % REGIONS.length],
  };
}

/**
 * A pool of distinct events built before the clock starts and cycled through, so the measured
 * time is the logger's, not the benchmark's object building. Both loggers get the same pool.
 */
export function eventPool(size = 4096): BenchFields[] {
  return Array.from({ length: size }, (_, i) => makeEvent(i));
}

/** The pool's logger-style fields as a dihya-logs event: the extra fields go under `data`. */
export function asEvent(fields: BenchFields): Record<string, unknown> {
  const { event, actor, target, outcome, request_id, ...data } = fields;
  return { event, actor, target, outcome, request_id, data, msg: BENCH_MSG };
}
