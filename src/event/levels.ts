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

// Spellings people type from habit (pino, syslog, Python logging) map onto our seven. Every
// RFC 5424 severity name has one of our levels: emergencies, alerts and critical conditions are
// CRITICAL (we have nothing above it but AUDIT and SECURITY, which are not severities), and a
// notice is an INFO worth noticing. Keys are upper case: parsing is case-insensitive.
const ALIASES: Readonly<Record<string, Level>> = Object.freeze({
  WARN: 'WARNING',
  FATAL: 'CRITICAL',
  CRIT: 'CRITICAL',
  ERR: 'ERROR',
  TRACE: 'DEBUG',
  EMERG: 'CRITICAL',
  EMERGENCY: 'CRITICAL',
  PANIC: 'CRITICAL',
  ALERT: 'CRITICAL',
  NOTICE: 'INFO',
  INFORMATIONAL: 'INFO',
});

/** Syslog's numeric severities (RFC 5424, 0 emergency to 7 debug) as our levels. */
export const SYSLOG_SEVERITY_LEVELS: readonly Level[] = Object.freeze([
  'CRITICAL', // 0 emerg
  'CRITICAL', // 1 alert
  'CRITICAL', // 2 crit
  'ERROR', // 3 err
  'WARNING', // 4 warning
  'INFO', // 5 notice
  'INFO', // 6 info
  'DEBUG', // 7 debug
]);

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
 * A severity name from another logging system (pino's labels, OTLP's severityText, syslog's
 * `emerg` to `debug` with their long spellings) as one of our levels, any case; undefined for
 * anything else. AUDIT and SECURITY are not severities: a foreign record never becomes one by
 * its name.
 */
export function severityLevel(text: unknown): Level | undefined {
  if (typeof text !== 'string' || text.length > 16) return undefined;
  const upper = text.toUpperCase();
  if (upper === 'AUDIT' || upper === 'SECURITY') return undefined;
  if (isLevel(upper)) return upper;
  return Object.hasOwn(ALIASES, upper) ? ALIASES[upper] : undefined;
}

/**
 * A numeric syslog severity (0 to 7, or its decimal string as journald writes `PRIORITY`) as one
 * of our levels; undefined for anything else. Not a syslog PRI (facility × 8 + severity): a
 * number above 7 is not guessed at.
 */
export function syslogSeverityLevel(value: unknown): Level | undefined {
  const n = typeof value === 'string' && /^[0-7]$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 7
    ? SYSLOG_SEVERITY_LEVELS[n]
    : undefined;
}

export function levelAtLeast(level: Level, minimum: Level): boolean {
  return LEVEL_RANK[level] >= LEVEL_RANK[minimum];
}
