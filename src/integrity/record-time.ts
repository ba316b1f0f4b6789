/**
 * How long records may stay unsigned: the writer signs at least every checkpoint interval
 * (at most 1 s), so only a crash leaves records unsigned, and only those of the last interval.
 * The grace covers a writer that fell behind (a slow disk, a long pause of the process).
 */
export const UNSIGNED_GRACE_MS = 30_000;
export const MAX_CHECKPOINT_INTERVAL_MS = 1000;
/** Records unsigned over a longer span than this cannot be explained by a crash. */
export const UNSIGNED_WINDOW_MS = MAX_CHECKPOINT_INTERVAL_MS + UNSIGNED_GRACE_MS;

/**
 * The two things a crash cannot explain of records no checkpoint covers (open and verify apply
 * the same rules): a span longer than the window, since a writer signs every interval...
 */
export function spansPastCrash(firstMs: number, laterMs: number): boolean {
  return laterMs - firstMs > UNSIGNED_WINDOW_MS;
}

/** ...and being older than records another channel got signed, by more than the window. */
export function olderThanSigned(unsignedMs: number, signedMs: number): boolean {
  return unsignedMs < signedMs - UNSIGNED_WINDOW_MS;
}

const TS_KEY = Buffer.from('"ts":"');

/**
 * A record's top-level `ts`. Keys are sorted, and only `ts_skew_ms` and `hash` follow `ts`,
 * so its last occurrence is the record's own (a nested one, in `data` or `target`, comes
 * before; inside a string the quotes would be escaped).
 */
export function recordTs(line: Buffer): { text: string; ms: number } | undefined {
  const at = line.lastIndexOf(TS_KEY);
  if (at === -1) return undefined;
  const from = at + TS_KEY.length;
  const to = line.indexOf(34, from);
  if (to === -1 || to - from > 40) return undefined;
  const text = line.toString('latin1', from, to);
  const ms = Date.parse(text);
  return Number.isNaN(ms) ? undefined : { text, ms };
}
