/**
 * The `Idempotency-Key` header of the ingest routes: a retry of a request whose answer was lost
 * stores nothing again and gets the same answer. The header only gives each event its
 * `idempotency_key`; the store does the rest (it answers a key it stored with the first ack).
 */
import type { IncomingHttpHeaders } from 'node:http';
import { LogsError, asLogsError } from '../errors.js';

const MAX = 128;
// 1-128 characters from `!` to `~`: what a record's idempotency_key may hold.
const KEY = /^[\x21-\x7e]{1,128}$/;

/**
 * The request's key, or undefined without the header. Refused when malformed: a header sent
 * twice arrives joined by `, `, which is not a key. The message never repeats the value.
 */
export function idempotencyHeader(headers: IncomingHttpHeaders): string | undefined {
  const v = headers['idempotency-key'];
  if (v === undefined) return undefined;
  if (typeof v !== 'string' || !KEY.test(v))
    throw new LogsError(
      'IDEMPOTENCY_KEY_INVALID',
      `Idempotency-Key: expected one header of 1-${MAX} visible ASCII characters`,
    );
  return v;
}

/**
 * The events with their keys: a single event (`single`: the body was one object) gets the
 * header's key, event i of a batch `<key>:<i>`; an event with an `idempotency_key` of its own
 * keeps it. Events that are not objects are left for validation to refuse.
 */
export function withIdempotencyKeys(
  events: readonly unknown[],
  key: string,
  single: boolean,
): { events: unknown[]; fromHeader: ReadonlySet<number> } {
  if (!single && key.length + 1 + String(events.length - 1).length > MAX)
    throw new LogsError(
      'IDEMPOTENCY_KEY_INVALID',
      `Idempotency-Key: too long for a batch of ${events.length} events (event i gets <key>:<i>, at most ${MAX} characters): at most ${MAX - 1 - String(events.length - 1).length} characters`,
    );
  const fromHeader = new Set<number>();
  const out = events.map((e, i) => {
    if (typeof e !== 'object' || e === null || Array.isArray(e)) return e;
    const own = (e as { idempotency_key?: unknown }).idempotency_key;
    if (own !== undefined && own !== null) return e;
    fromHeader.add(i);
    return { ...e, idempotency_key: single ? key : `${key}:${i}` };
  });
  return { events: out, fromHeader };
}

/**
 * An event refused for the key the header gave it is the header's fault: say so, under the
 * header's own code (classification refuses a key holding what looks like a secret or
 * personal data, which the message names without repeating it).
 */
export function headerKeyError(err: unknown, fromHeader: ReadonlySet<number>): LogsError {
  const e = asLogsError(err);
  const index = e.details?.index;
  if (
    e.code === 'EVENT_INVALID' &&
    typeof index === 'number' &&
    fromHeader.has(index) &&
    e.message.startsWith(`event ${index}: idempotency_key: `)
  ) {
    // The header is at fault, not one event: no index (a client would drop that event alone).
    const why = e.message.slice(`event ${index}: idempotency_key: `.length);
    return new LogsError('IDEMPOTENCY_KEY_INVALID', `Idempotency-Key: ${why}`);
  }
  return e;
}
