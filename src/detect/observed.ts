/**
 * A stored record as the detectors see it (`Observed`, types.ts): its fields read on demand,
 * and a personal value revealed only when a detector asks for it.
 */
import type { LogCore } from '../log/core.js';
import { reveal } from '../pipeline/reveal.js';
import type { Observed } from './types.js';

const PLACEHOLDER = /^\[[a-z_]+#\d+\]$/;

/** `rec` (its body opened) of `channel`, for the detectors; `now` stands in for a bad `ts`. */
export function observedRecord(
  channel: string,
  rec: Record<string, unknown>,
  event: string,
  logs: LogCore,
  now: () => number,
): Observed {
  let revealed: Record<string, unknown> | undefined;
  const open = (): Record<string, unknown> => {
    if (revealed !== undefined) return revealed;
    revealed = rec;
    if (rec.pii !== undefined) {
      try {
        revealed = reveal(rec, logs.keys.subjectLookup(), logs.logId).record;
      } catch {
        // kept as stored: its personal values stay placeholders
      }
    }
    return revealed;
  };
  const read = (from: Record<string, unknown>, path: string): unknown => {
    let v: unknown = from;
    for (const part of path.split('.')) {
      if (typeof v !== 'object' || v === null) return undefined;
      v = (v as Record<string, unknown>)[part];
    }
    return v;
  };
  const field = (path: string): string | undefined => {
    let v = read(rec, path);
    if (typeof v === 'string' && PLACEHOLDER.test(v)) v = read(open(), path);
    if (typeof v === 'string') return PLACEHOLDER.test(v) ? undefined : v;
    return typeof v === 'number' || typeof v === 'boolean' ? String(v) : undefined;
  };
  const actor: unknown = rec.actor;
  const actorId =
    typeof actor === 'object' && actor !== null ? (actor as Record<string, unknown>).id : undefined;
  const account =
    typeof actorId === 'string' ? actorId : typeof rec.sub === 'string' ? rec.sub : undefined;
  const ts = Date.parse(String(rec.ts));
  return {
    channel,
    seq: rec.seq as number,
    ts: Number.isFinite(ts) ? ts : now(),
    event,
    level: typeof rec.level === 'string' ? rec.level : 'INFO',
    outcome: typeof rec.outcome === 'string' ? rec.outcome : undefined,
    account,
    skewMs: typeof rec.ts_skew_ms === 'number' ? rec.ts_skew_ms : 0,
    record: rec,
    field,
    address: () =>
      field('actor.ip') ?? field('data.ip') ?? field('data.address') ?? field('data.client_ip'),
  };
}
