import { LogsError } from '../errors.js';
import { LEVEL_RANK, parseLevel, type Level } from '../event/levels.js';
import type { IndexFilter } from '../search/index.js';

/**
 * What a query or a filtered tail asks for. Every field is optional and they combine (AND);
 * a list field matches any of its values (OR). Values are in the stored form: actors and
 * subjects are pseudonyms (a real id is resolved through the keystore before it gets here).
 * The index's own filter (search/select.ts), with event globs and text as a person writes them.
 */
export type QueryFilter = Omit<IndexFilter, 'events' | 'match'> & {
  /** Event types or globs (`auth.*`, `*.denied`, `auth.login.?ailure`). */
  readonly events?: readonly string[];
  /**
   * Event types or globs left out (`log.read`: the service's own audit record of each read,
   * which would otherwise fill a reader's screen with their own reads).
   */
  readonly excludeEvents?: readonly string[];
  /** Full-text query on the stored message (words, "a phrase", prefix*). */
  readonly text?: string;
};

// Bounds on what a filter may hold: it may come from an HTTP query string.
export const FILTER_LIMITS = Object.freeze({ values: 50, valueLength: 256, textLength: 512 });

const DURATION_UNITS: Readonly<Record<string, number>> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
const DURATION = /^(?:\d{1,9}(?:ms|[smhdw]))+$/;
const DURATION_PART = /(\d{1,9})(ms|[smhdw])/g;
// ISO 8601 as people type it: a date, or a date and time with optional seconds, fraction and zone.
const ISO =
  /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * A point in time from `--since`/`--until`: an ISO 8601 time (a date alone is midnight UTC; a
 * time without zone is UTC), `now`, or a duration before now (`15m`, `2d`, `1h30m`).
 */
export function parseTime(text: string, nowMs: number, flag: string): number {
  const t = text.trim();
  if (t === 'now') return nowMs;
  if (DURATION.test(t)) {
    let ms = 0;
    for (const m of t.matchAll(DURATION_PART)) {
      ms += Number(m[1]) * (DURATION_UNITS[m[2] as string] ?? 0);
    }
    return nowMs - ms;
  }
  if (ISO.test(t)) {
    const zoned = /(?:Z|[+-]\d{2}:?\d{2})$/i.test(t) || t.length === 10 ? t : `${t}Z`;
    const ms = Date.parse(zoned.replace(' ', 'T'));
    if (Number.isFinite(ms)) return ms;
  }
  throw new LogsError(
    'USAGE',
    // The value is not repeated: it comes from a query string and may be anything.
    `${flag}: expected an ISO time (2026-11-24, 2026-11-24T08:00:00Z) or a duration before now (15m, 2d, 1h30m)`,
  );
}

/** A glob on event types: `*` any run of characters, `?` one character. */
export function isGlob(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}

/** A glob as an anchored regular expression (every other character literal). */
export function globToRegExp(pattern: string): RegExp {
  const body = pattern
    .split('')
    .map((c) => (c === '*' ? '.*' : c === '?' ? '.' : c.replace(/[\\^$.|+()[\]{}]/, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, 's');
}

/** Raw filter values as a command line or a query string gives them. */
export interface RawFilter {
  readonly channel?: readonly string[] | undefined;
  readonly level?: string | undefined;
  readonly event?: readonly string[] | undefined;
  readonly excludeEvent?: readonly string[] | undefined;
  readonly outcome?: readonly string[] | undefined;
  readonly actor?: readonly string[] | undefined;
  readonly subject?: readonly string[] | undefined;
  readonly requestId?: readonly string[] | undefined;
  readonly since?: string | undefined;
  readonly until?: string | undefined;
  readonly text?: string | undefined;
}

export interface ParseFilterContext {
  readonly nowMs: number;
  /** The channels of the log (an unknown channel is an error, not an empty answer). */
  readonly channels: readonly string[];
  /**
   * A person's id to their pseudonym (or pseudonyms: a database store may hold several for one
   * person), undefined or none when the keystore does not know them.
   */
  readonly pseudonymOf: (id: string) => string | readonly string[] | undefined;
}

const PSEUDONYM = /^sub_[\da-f]{24}$/;

/**
 * Check and normalise raw filter values. Actors and subjects given as real ids become their
 * pseudonyms; a person the keystore does not know cannot match anything, and the returned
 * `unknownPeople` says so (the caller reports it rather than answering "no records" silently).
 */
export function parseFilter(
  raw: RawFilter,
  ctx: ParseFilterContext,
): { filter: QueryFilter; unknownPeople: string[] } {
  const unknownPeople: string[] = [];
  const list = (values: readonly string[] | undefined, flag: string): string[] | undefined => {
    if (values === undefined) return undefined;
    const out = values.flatMap((v) => v.split(',')).map((v) => v.trim());
    if (out.length === 0 || out.some((v) => v === ''))
      throw new LogsError('USAGE', `${flag}: expected a value`);
    if (out.length > FILTER_LIMITS.values)
      throw new LogsError('USAGE', `${flag}: at most ${FILTER_LIMITS.values} values`);
    if (out.some((v) => v.length > FILTER_LIMITS.valueLength))
      throw new LogsError(
        'USAGE',
        `${flag}: values of at most ${FILTER_LIMITS.valueLength} characters`,
      );
    return [...new Set(out)];
  };
  const people = (values: readonly string[] | undefined, flag: string): string[] | undefined =>
    list(values, flag)?.flatMap((id) => {
      if (PSEUDONYM.test(id)) return [id];
      const found = ctx.pseudonymOf(id);
      const pseudonyms = found === undefined ? [] : typeof found === 'string' ? [found] : found;
      if (pseudonyms.length === 0) unknownPeople.push(id);
      return pseudonyms.length === 0 ? [id] : pseudonyms; // a real id is in no record
    });
  const channels = list(raw.channel, '--channel');
  for (const c of channels ?? []) {
    if (!ctx.channels.includes(c))
      throw new LogsError(
        'EVENT_CHANNEL_UNKNOWN',
        `--channel: not a channel of this log (${ctx.channels.join(', ')})`,
      );
  }
  const eventList = (values: readonly string[] | undefined, flag: string): string[] | undefined => {
    const out = list(values, flag);
    for (const e of out ?? []) {
      if (!/^[\w.*?:-]+$/.test(e))
        throw new LogsError(
          'USAGE',
          `${flag}: expected an event type or a glob of letters, digits, . _ - : * and ?`,
        );
    }
    return out;
  };
  const events = eventList(raw.event, '--event');
  const excludeEvents = eventList(raw.excludeEvent, '--exclude-event');
  let text: string | undefined;
  if (raw.text !== undefined) {
    text = raw.text.trim();
    if (textTerms(text).length === 0)
      throw new LogsError('USAGE', '--text: expected words to search for');
    if (text.length > FILTER_LIMITS.textLength)
      throw new LogsError('USAGE', `--text: at most ${FILTER_LIMITS.textLength} characters`);
  }
  const sinceMs = raw.since === undefined ? undefined : parseTime(raw.since, ctx.nowMs, '--since');
  const untilMs = raw.until === undefined ? undefined : parseTime(raw.until, ctx.nowMs, '--until');
  if (sinceMs !== undefined && untilMs !== undefined && untilMs <= sinceMs)
    throw new LogsError('USAGE', '--until must be later than --since');
  const filter: QueryFilter = {
    ...(channels === undefined ? {} : { channels }),
    ...(raw.level === undefined ? {} : { level: parseLevel(raw.level) }),
    ...(events === undefined ? {} : { events }),
    ...(excludeEvents === undefined ? {} : { excludeEvents }),
    ...optional('outcomes', list(raw.outcome, '--outcome')),
    ...optional('actors', people(raw.actor, '--actor')),
    ...optional('subjects', people(raw.subject, '--subject')),
    ...optional('requestIds', list(raw.requestId, '--request-id')),
    ...(sinceMs === undefined ? {} : { sinceMs }),
    ...(untilMs === undefined ? {} : { untilMs }),
    ...(text === undefined ? {} : { text }),
  };
  return { filter, unknownPeople };
}

function optional<K extends string>(
  key: K,
  value: string[] | undefined,
): Partial<Record<K, string[]>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, string[]>);
}

/** Whether an event type is one of these types or globs; undefined when none are given. */
function eventMatcher(
  patterns: readonly string[] | undefined,
): ((event: unknown) => boolean) | undefined {
  if (patterns === undefined) return undefined;
  const compiled = patterns.map((e) => (isGlob(e) ? globToRegExp(e) : e));
  return (event) =>
    typeof event === 'string' &&
    compiled.some((e) => (typeof e === 'string' ? e === event : e.test(event)));
}

/**
 * Whether a stored record matches a filter, for a live tail (the index answers queries). The
 * text filter follows the index's full-text search: every term must appear in the message,
 * case and accents ignored.
 */
export function recordMatcher(filter: QueryFilter): (rec: Record<string, unknown>) => boolean {
  const events = eventMatcher(filter.events);
  const excluded = eventMatcher(filter.excludeEvents);
  const minRank = filter.level === undefined ? undefined : LEVEL_RANK[filter.level];
  const terms = filter.text === undefined ? undefined : textTerms(filter.text);
  const has = (list: readonly string[] | undefined, v: unknown): boolean =>
    list === undefined || (typeof v === 'string' && list.includes(v));
  return (rec) => {
    if (!has(filter.channels, rec.channel)) return false;
    if (minRank !== undefined) {
      const rank = typeof rec.level === 'string' ? LEVEL_RANK[rec.level as Level] : undefined;
      if (rank === undefined || rank < minRank) return false;
    }
    if (events !== undefined && !events(rec.event)) return false;
    if (excluded?.(rec.event) === true) return false;
    if (!has(filter.outcomes, rec.outcome)) return false;
    if (!has(filter.actors, (rec.actor as { id?: unknown } | undefined)?.id)) return false;
    if (!has(filter.subjects, rec.sub)) return false;
    if (!has(filter.requestIds, rec.request_id)) return false;
    if (filter.sinceMs !== undefined || filter.untilMs !== undefined) {
      const ms = typeof rec.ts === 'string' ? Date.parse(rec.ts) : NaN;
      if (!Number.isFinite(ms)) return false;
      if (filter.sinceMs !== undefined && ms < filter.sinceMs) return false;
      if (filter.untilMs !== undefined && ms >= filter.untilMs) return false;
    }
    if (terms !== undefined) {
      if (typeof rec.msg !== 'string') return false;
      const words = searchWords(rec.msg);
      if (!terms.every((t) => termIn(t, words))) return false;
    }
    return true;
  };
}

/** One term of a text search: a word, a word prefix (`gener*`) or a phrase (`"quota almost"`). */
export interface TextTerm {
  readonly kind: 'word' | 'prefix' | 'phrase';
  readonly words: readonly string[];
}

/**
 * The terms of a text search. Anything else than words, `"phrases"` and a trailing `*` is a
 * separator: the text never reaches FTS5 as query syntax (no operator, column filter or
 * unbalanced quote from user input).
 */
export function textTerms(text: string): TextTerm[] {
  const terms: TextTerm[] = [];
  for (const m of text.matchAll(/"([^"]*)"|([^\s"]+)/g)) {
    if (m[1] !== undefined) {
      const words = searchWords(m[1]);
      if (words.length > 0) terms.push({ kind: words.length === 1 ? 'word' : 'phrase', words });
      continue;
    }
    const raw = m[2] ?? '';
    const words = searchWords(raw);
    const prefix = raw.endsWith('*');
    words.forEach((w, i) => {
      terms.push({ kind: prefix && i === words.length - 1 ? 'prefix' : 'word', words: [w] });
    });
  }
  return terms;
}

/** The FTS5 query of a text search: each term quoted, all required. Undefined when no term. */
export function ftsQuery(text: string): string | undefined {
  const terms = textTerms(text);
  if (terms.length === 0) return undefined;
  return terms.map((t) => `"${t.words.join(' ')}"${t.kind === 'prefix' ? '*' : ''}`).join(' AND ');
}

function termIn(term: TextTerm, words: readonly string[]): boolean {
  const [first = ''] = term.words;
  if (term.kind === 'word') return words.includes(first);
  if (term.kind === 'prefix') return words.some((w) => w.startsWith(first));
  for (let i = 0; i + term.words.length <= words.length; i++) {
    if (term.words.every((w, j) => words[i + j] === w)) return true;
  }
  return false;
}

/** Lower-case words without accents, as FTS5's unicode61 tokenizer (remove_diacritics 2) sees them. */
export function searchWords(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .split(/[^\p{L}\p{N}]+/u)
    .filter((w) => w !== '');
}
