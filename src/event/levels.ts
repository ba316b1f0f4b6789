import { LogsError } from '../errors.js';

/** The seven levels, lowest first. AUDIT and SECURITY rank above CRITICAL so that a minimum level
 * of, say, WARNING never filters them out. */
export const LEVELS = [
  'DEBUG',
  'INFO',
  'WARNING',
  'ERROR',
  'CRITICAL',
  'AUDIT',
  'SECURITY',
] as const;
export type Level = (typeof LEVELS)[number];

export const LEVEL_RANK: Readonly<Record<Level, number>> = Object.freeze({
  DEBUG: 10,
  INFO: 20,
  WARNING: 30,
  ERROR: 40,
  CRITICAL: 50,
  AUDIT: 60,
  SECURITY: 70,
});

// Spellings people type from habit (pino, syslog, Python logging) map onto our seven.
const ALIASES: Readonly<Record<string, Level>> = Object.freeze({
  WARN: 'WARNING',
  FATAL: 'CRITICAL',
  CRIT: 'CRITICAL',
  ERR: 'ERROR',
  TRACE: 'DEBUG',
});

export function isLevel(value: unknown): value is Level {
  return typeof value === 'string' && Object.hasOwn(LEVEL_RANK, value);
}

/** Parse a level case-insensitively; unknown input gets EVENT_LEVEL_UNKNOWN. */
export function parseLevel(value: unknown): Level {
  if (isLevel(value)) return value;
  if (typeof value === 'string' && value.length <= 16) {
    const upper = value.toUpperCase();
    if (isLevel(upper)) return upper;
    const alias = ALIASES[upper];
    if (alias !== undefined) return alias;
  }
  // Repeat the value only if it is a plain word (a mistyped level), never anything else.
  const shown =
    typeof value === 'string' && /^[a-z]{1,16}$/i.test(value)
      ? JSON.stringify(value)
      : `(a ${typeof value})`;
  throw new LogsError(
    'EVENT_LEVEL_UNKNOWN',
    `unknown level ${shown}; expected one of ${LEVELS.join(', ')}`,
  );
}

/**
 * A severity name from another logging system (pino's labels, OTLP's severityText, syslog's)
 * as one of our levels, any case; undefined for anything else. AUDIT and SECURITY are not
 * severities: a foreign record never becomes one by its name.
 */
export function severityLevel(text: unknown): Level | undefined {
  if (typeof text !== 'string' || text.length > 16) return undefined;
  const upper = text.toUpperCase();
  if (upper === 'AUDIT' || upper === 'SECURITY') return undefined;
  if (isLevel(upper)) return upper;
  return Object.hasOwn(ALIASES, upper) ? ALIASES[upper] : undefined;
}

export function levelAtLeast(level: Level, minimum: Level): boolean {
  return LEVEL_RANK[level] >= LEVEL_RANK[minimum];
}
