import type { Interest } from './types.js';

/**
 * Picks, in a chunk of record lines, the lines some detector may want, without parsing them:
 * most records are of no interest, and a parse costs several times a search.
 *
 * One regular expression holds every wanted value (`"event":"auth.failure"`, the prefix of a
 * glob `"event":"admin.…"`, `"outcome":"denied"`, `"ts_skew_ms":`), run once over a latin1
 * view of the chunk (one byte, one character: its indexes are byte offsets): one pass whatever
 * the number of wanted event types (one search per `"event":"name"` needle cost a fifth of the
 * service's main thread under load). A hit may be a nested key in `data`: the line is then
 * parsed for nothing, and the detectors, which read the parsed record, decide. Never misses a
 * line holding a wanted value: event types and outcomes are ASCII, exact in the latin1 view.
 */
export class LineSelector {
  private readonly pattern: RegExp | undefined;

  constructor(interests: readonly Interest[], skew: boolean) {
    const events = new Set<string>();
    const outcomes = new Set<string>();
    for (const i of interests) {
      for (const e of i.events) {
        const star = e.indexOf('*');
        events.add(star < 0 ? `${escape(e)}"` : escape(e.slice(0, star)));
      }
      for (const o of i.outcomes) outcomes.add(`${escape(o)}"`);
    }
    const parts: string[] = [];
    if (events.size > 0) parts.push(`"event":"(?:${[...events].join('|')})`);
    if (outcomes.size > 0) parts.push(`"outcome":"(?:${[...outcomes].join('|')})`);
    if (skew) parts.push('"ts_skew_ms":');
    this.pattern = parts.length === 0 ? undefined : new RegExp(parts.join('|'), 'g');
  }

  /** The lines of interest in `chunk` (whole lines, each ending with a newline), in file order. */
  select(chunk: Buffer): Buffer[] {
    const lines: Buffer[] = [];
    const re = this.pattern;
    if (re === undefined) return lines;
    const text = chunk.toString('latin1');
    re.lastIndex = 0;
    for (let m = re.exec(text); m !== null; m = re.exec(text)) {
      const start = text.lastIndexOf('\n', m.index) + 1;
      const end = text.indexOf('\n', m.index);
      lines.push(chunk.subarray(start, end === -1 ? chunk.length : end));
      if (end === -1) break;
      re.lastIndex = end + 1; // the next line: each line once, in order
    }
    return lines;
  }
}

function escape(s: string): string {
  return s.replace(/[$()*+.?[\\\]^{|}]/g, '\\$&');
}
