import { escapeTerminal } from '../util/escape.js';
import type { LogRecord } from '../event/record.js';

export { escapeTerminal } from '../util/escape.js';

const COLORS: Record<string, string> = {
  DEBUG: '\u001b[90m',
  INFO: '\u001b[36m',
  WARNING: '\u001b[33m',
  ERROR: '\u001b[31m',
  CRITICAL: '\u001b[1;31m',
  AUDIT: '\u001b[35m',
  SECURITY: '\u001b[1;35m',
};
const RESET = '\u001b[0m';

/** A field of a record read from a file: whatever its type, as text. */
function text(value: unknown): string {
  if (typeof value === 'string') return value;
  const json = JSON.stringify(value) as string | undefined; // undefined for undefined
  return json ?? 'undefined';
}

/** One record as one readable line. All record content is escaped; colour only for the level. */
export function formatRecord(
  rec: Partial<Record<keyof LogRecord, unknown>>,
  color: boolean,
): string {
  // The record comes from a file: coerce every field, a tampered line must not crash the reader.
  const level = escapeTerminal(text(rec.level).padEnd(8));
  const parts = [text(rec.ts), `${text(rec.channel)}#${text(rec.seq)}`, text(rec.event)];
  if (rec.outcome !== undefined) parts.push(`[${text(rec.outcome)}]`);
  if (rec.msg !== undefined) parts.push(JSON.stringify(rec.msg));
  if (rec.actor !== undefined) parts.push(`actor=${JSON.stringify(rec.actor)}`);
  if (rec.target !== undefined) parts.push(`target=${JSON.stringify(rec.target)}`);
  if (rec.request_id !== undefined) parts.push(`req=${text(rec.request_id)}`);
  if (rec.data !== undefined) parts.push(JSON.stringify(rec.data));
  if (rec.ts_skew_ms !== undefined) parts.push(`(clock went back ${text(rec.ts_skew_ms)} ms)`);
  // Escape the content first, colour after: the only escape codes on the line are ours.
  const shownLevel = color ? `${COLORS[text(rec.level)] ?? ''}${level}${RESET}` : level;
  const [ts = '', ...rest] = parts.map(escapeTerminal);
  return [ts, shownLevel, ...rest].join('  ');
}
