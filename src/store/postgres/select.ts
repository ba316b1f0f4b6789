/**
 * A query's selection as one SQL statement on `dl_records`. Every value travels as a parameter:
 * channel names, event types, pseudonyms and words are the caller's input, never SQL text. The
 * order (time, then channel, then seq) is the one `dl_records_ts` keeps, so an unfiltered page
 * reads only its own rows; words are looked up in the GIN index first (byWords); each row's
 * chain predecessor comes in the same round trip.
 */
import { LogsError } from '../../errors.js';
import type { EventPattern, RecordSelection } from '../store.js';

/** A statement and its parameters, for `pool.query`. */
export interface SqlQuery {
  readonly text: string;
  readonly values: unknown[];
}

/** A row of `selectQuery` and `oneQuery`: bigints come as text. */
export interface SelectedRow {
  channel: string;
  seq: string;
  ts_ms: string;
  line: string;
  hash: string;
  prev: string | null;
}

// What timestamptz can hold (from 4714 BC) and a Date can: no stored time is beyond them.
const MIN_MS = -210_866_803_200_000;
const MAX_MS = 8_640_000_000_000_000;

/** A time bound PostgreSQL can take; one beyond what it holds selects what one at its end does. */
export function clampMs(ms: number): number {
  return Math.min(Math.max(ms, MIN_MS), MAX_MS);
}

/** Parameters in the order they are added; each call answers its placeholder. */
class Params {
  readonly values: unknown[] = [];

  add(value: unknown): string {
    this.values.push(value);
    return `$${this.values.length}`;
  }

  /** A time in epoch milliseconds, as timestamptz (exact: microseconds are rounded, not cut). */
  time(ms: number): string {
    return `to_timestamp(${this.add(clampMs(ms))}::bigint / 1000.0)`;
  }
}

/**
 * The rows `inner` selects (channel, seq, ts, line, hash), each with the hash of the record
 * before it in its channel: from its row when retention left it, null otherwise.
 */
function withPrev(inner: string, order: 'ASC' | 'DESC'): string {
  return `SELECT r.channel, r.seq, floor(extract(epoch FROM r.ts) * 1000)::bigint AS ts_ms,
            r.line, r.hash, p.hash AS prev
       FROM (${inner}) r
       LEFT JOIN LATERAL (
         SELECT b.hash FROM dl_records b
          WHERE b.channel = r.channel AND b.seq = r.seq - 1 LIMIT 1) p ON true
      ORDER BY r.ts ${order}, r.channel ${order}, r.seq ${order}`;
}

/** Record `seq` of `channel`, or no row. */
export function oneQuery(channel: string, seq: number): SqlQuery {
  return {
    text: withPrev(
      'SELECT channel, seq, ts, line, hash FROM dl_records WHERE channel = $1 AND seq = $2 LIMIT 1',
      'ASC',
    ),
    values: [channel, seq],
  };
}

/** The statement of a selection: its filters, its order and cursor, its limit. */
export function selectQuery(s: RecordSelection): SqlQuery {
  if (!Number.isSafeInteger(s.limit) || s.limit < 0)
    throw new LogsError('USAGE', 'limit: expected a whole number, 0 or more');
  const p = new Params();
  const words = s.text === undefined ? undefined : tsQuery(s.text);
  const where = filters(s, words, p);
  if (s.after !== undefined) where.push(afterClause(s.after, s.order, p));
  const order = s.order === 'desc' ? 'DESC' : 'ASC';
  const cond = where.length === 0 ? 'true' : where.join(' AND ');
  const keys = `ts ${order}, channel ${order}, seq ${order}`;
  const limit = p.add(s.limit);
  const inner =
    words !== undefined
      ? byWords(cond, keys, limit, p)
      : `SELECT channel, seq, ts, line, hash FROM dl_records WHERE ${cond}
          ORDER BY ${keys} LIMIT ${limit}`;
  return { text: withPrev(inner, order), values: p.values };
}

// Matches of a text search sorted in memory at most; beyond, they are found in time order.
const FEW = 5000;

/**
 * The rows of a selection with words. PostgreSQL guesses a word its statistics do not list
 * (most words of a log: ids, names, numbers) to be common, and so walks the time index checking
 * every message: the whole table for a word that is in fact rare. Here the GIN index is asked
 * first, for at most FEW + 1 rows; when that is all of them, they are sorted; only when there
 * are more (a common word: its matches are close together in time) is the time index walked.
 */
function byWords(cond: string, keys: string, limit: string, p: Params): string {
  const cap = p.add(FEW + 1);
  return `WITH few AS MATERIALIZED (
        SELECT channel, seq, ts FROM dl_records WHERE ${cond} LIMIT ${cap}),
      pick AS (
        (SELECT channel, seq, ts FROM few WHERE (SELECT count(*) FROM few) < ${cap}
          ORDER BY ${keys} LIMIT ${limit})
        UNION ALL
        (SELECT channel, seq, ts FROM dl_records
          WHERE ${cond} AND (SELECT count(*) FROM few) >= ${cap}
          ORDER BY ${keys} LIMIT ${limit}))
      SELECT d.channel, d.seq, d.ts, d.line, d.hash
        FROM pick JOIN dl_records d USING (channel, seq, ts)`;
}

/**
 * The WHERE clauses of the selection's filters (none for a field it leaves out); `words`: its
 * text as a tsquery.
 */
function filters(s: RecordSelection, words: string | undefined, p: Params): string[] {
  const where: string[] = [];
  // An empty list matches nothing, as a list of no values would (the file index does the same).
  const anyOf = (column: string, values: readonly string[] | undefined): void => {
    if (values !== undefined) where.push(`${column} = ANY(${p.add(values)}::text[])`);
  };
  anyOf('channel', s.channels);
  anyOf('level', s.levels);
  if (s.events !== undefined) where.push(eventsClause(s.events, p));
  // The event column is never null; coalesce keeps a null from excluding a record anyway.
  if (s.excludeEvents !== undefined && s.excludeEvents.length > 0)
    where.push(`NOT coalesce(${eventsClause(s.excludeEvents, p)}, false)`);
  anyOf('outcome', s.outcomes);
  anyOf('actor', s.actors);
  anyOf('sub', s.subjects);
  anyOf('request_id', s.requestIds);
  if (s.sinceMs !== undefined) where.push(`ts >= ${p.time(wholeMs(s.sinceMs, 'sinceMs'))}`);
  if (s.untilMs !== undefined) where.push(`ts < ${p.time(wholeMs(s.untilMs, 'untilMs'))}`);
  // The expression of the GIN index dl_records_msg, exactly: the index answers it.
  if (words !== undefined)
    where.push(`to_tsvector('simple', coalesce(msg, '')) @@ to_tsquery('simple', ${p.add(words)})`);
  return where;
}

/** Event types matching any of the patterns: exact ones by equality, globs with LIKE. */
function eventsClause(patterns: readonly EventPattern[], p: Params): string {
  const exact = patterns.filter((e) => !e.glob).map((e) => e.text);
  const globs = patterns.filter((e) => e.glob).map((e) => likePattern(e.text));
  const parts: string[] = [];
  if (exact.length > 0) parts.push(`event = ANY(${p.add(exact)}::text[])`);
  if (globs.length > 0) parts.push(`event LIKE ANY(${p.add(globs)}::text[])`);
  return parts.length === 0 ? 'false' : `(${parts.join(' OR ')})`;
}

/**
 * A glob (`*` any run of characters, `?` one) as a LIKE pattern: LIKE's own `%` and `_`, and
 * its escape character `\` (the default), stand for themselves.
 */
export function likePattern(glob: string): string {
  let out = '';
  for (const ch of glob) {
    if (ch === '*') out += '%';
    else if (ch === '?') out += '_';
    else if (ch === '%' || ch === '_' || ch === '\\') out += `\\${ch}`;
    else out += ch;
  }
  return out;
}

/**
 * The words and phrases as a to_tsquery string: each word a quoted lexeme (`:*` for a prefix),
 * each phrase its words joined by `<->`, all of them ANDed. The caller's words are letters and
 * digits already; quoting them anyway (quotes doubled, backslashes escaped) means no input can
 * become tsquery syntax. Undefined when there is no word.
 */
export function tsQuery(text: NonNullable<RecordSelection['text']>): string | undefined {
  const lexeme = (w: string): string => `'${w.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
  const terms = [
    ...text.words.filter((w) => w.word !== '').map((w) => lexeme(w.word) + (w.prefix ? ':*' : '')),
    ...text.phrases
      .map((ph) => ph.filter((w) => w !== ''))
      .filter((ph) => ph.length > 0)
      .map((ph) => `(${ph.map(lexeme).join(' <-> ')})`),
  ];
  return terms.length === 0 ? undefined : terms.join(' & ');
}

/**
 * Rows after the cursor's record in the order. The cursor carries milliseconds; the record's
 * own time is looked up by its (channel, seq) so that a time stored with microseconds (a line
 * imported from another writer) still pages exactly; if the record is gone, its milliseconds
 * stand in for it.
 */
function afterClause(
  after: NonNullable<RecordSelection['after']>,
  order: 'asc' | 'desc',
  p: Params,
): string {
  if (!Number.isSafeInteger(after.seq) || after.seq < 0 || typeof after.channel !== 'string')
    throw new LogsError('QUERY_CURSOR_INVALID', 'the cursor does not name a record');
  const ms = wholeMs(after.tsMs, 'cursor', 'QUERY_CURSOR_INVALID');
  const t = p.time(ms);
  const channel = p.add(after.channel);
  const seq = p.add(after.seq);
  const exact = `(SELECT c.ts FROM dl_records c WHERE c.channel = ${channel} AND c.seq = ${seq}
       AND c.ts >= ${t} AND c.ts < ${t} + interval '1 millisecond' LIMIT 1)`;
  return `(ts, channel, seq) ${order === 'desc' ? '<' : '>'} (coalesce(${exact}, ${t}), ${channel}, ${seq})`;
}

/** A time bound as a whole number of milliseconds; anything else is refused. */
function wholeMs(
  ms: number,
  name: string,
  code: 'USAGE' | 'QUERY_CURSOR_INVALID' = 'USAGE',
): number {
  if (!Number.isSafeInteger(ms))
    throw new LogsError(code, `${name}: expected a time in whole milliseconds`);
  return ms;
}
