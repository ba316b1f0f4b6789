import type { LogsError } from '../errors.js';

/**
 * The default meta logger: failures no caller waits for (a buffered write that failed, a clock
 * going backwards) are reported as one line on stderr, at most one line per code every 5 s.
 */
export function stderrReporter(prefix = 'dihya-logs'): (err: LogsError) => void {
  const last = new Map<string, { at: number; suppressed: number }>();
  return (err) => {
    const now = Date.now();
    const seen = last.get(err.code);
    if (seen !== undefined && now - seen.at < 5000) {
      seen.suppressed += 1;
      return;
    }
    const more =
      seen !== undefined && seen.suppressed > 0
        ? ` (${seen.suppressed} similar report(s) suppressed)`
        : '';
    last.set(err.code, { at: now, suppressed: 0 });
    process.stderr.write(`${prefix}: ${err.code}: ${err.message}${more}\n`);
  };
}
