import { LogsError } from '../errors.js';
import {
  filterRows,
  selectHits,
  type Hit,
  type IndexDb,
  type IndexFilter,
  type RowSelection,
} from '../search/index.js';
import { ftsQuery, isGlob, type QueryFilter } from './filter.js';

/** Newest first (the default) or oldest first. */
export type Order = 'desc' | 'asc';

export interface SearchOptions {
  /** At most this many hits (default 100, at most MAX_LIMIT). */
  readonly limit?: number;
  /** Continue after this position (a `next` cursor of an earlier page). */
  readonly cursor?: string;
  readonly order?: Order;
}

export interface SearchPage {
  readonly hits: Hit[];
  /** Pass as `cursor` for the next page; undefined when this page is the last. */
  readonly next: string | undefined;
}

export const DEFAULT_LIMIT = 100;
export const MAX_LIMIT = 10_000;

/**
 * A position in a result list: the time, channel and seq of the last record returned, and the
 * order. Records are ordered by time, then by (channel, seq), which no write changes: a page
 * after a cursor never repeats or skips a record of the same query, even while records are
 * added (new ones come after the end of an oldest-first list, or before the start of a
 * newest-first one).
 */
interface Cursor {
  readonly ts: number;
  readonly channel: string;
  readonly seq: number;
  readonly order: Order;
}

export function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([1, c.ts, c.channel, c.seq, c.order])).toString('base64url');
}

export function decodeCursor(text: string): Cursor {
  const bad = (): LogsError =>
    new LogsError('QUERY_CURSOR_INVALID', 'the cursor is not one this log gave out');
  if (text.length > 512 || !/^[\w-]+$/.test(text)) throw bad();
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
  } catch {
    throw bad();
  }
  if (!Array.isArray(v) || v.length !== 5 || v[0] !== 1) throw bad();
  const [, ts, channel, seq, order] = v as unknown[];
  if (
    typeof ts !== 'number' ||
    !Number.isSafeInteger(ts) ||
    typeof channel !== 'string' ||
    typeof seq !== 'number' ||
    !Number.isSafeInteger(seq) ||
    seq < 1 ||
    (order !== 'asc' && order !== 'desc')
  )
    throw bad();
  return { ts, channel, seq, order };
}

/**
 * Find records in the index. Returns their positions only: the caller reads each record from
 * its segment (what is shown is what is chained). Only the stored form is searched.
 */
export function search(db: IndexDb, filter: QueryFilter, options: SearchOptions = {}): SearchPage {
  const limit = options.limit ?? DEFAULT_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT)
    throw new LogsError('USAGE', `--limit: a whole number from 1 to ${MAX_LIMIT}`);
  const cursor = options.cursor === undefined ? undefined : decodeCursor(options.cursor);
  const order = cursor?.order ?? options.order ?? 'desc';
  if (cursor !== undefined && db.state(cursor.channel) === undefined)
    throw new LogsError('QUERY_CURSOR_INVALID', 'the cursor is not one this log gave out');
  const rows = rowsOf(db, filter);
  if (rows === undefined) return { hits: [], next: undefined };
  const after =
    cursor === undefined
      ? undefined
      : { tsMs: cursor.ts, channel: cursor.channel, seq: cursor.seq };
  const found = selectHits(db, rows, order, limit + 1, after);
  const more = found.length > limit;
  const hits = found.slice(0, limit);
  const last = hits[hits.length - 1];
  return {
    hits,
    next:
      more && last !== undefined
        ? encodeCursor({ ts: last.tsMs, channel: last.channel, seq: last.seq, order })
        : undefined,
  };
}

/** The index's rows of a filter, or undefined when nothing can match. */
function rowsOf(db: IndexDb, filter: QueryFilter): RowSelection | undefined {
  // Text with no word to search for matches nothing (FTS5 never sees the raw text).
  const match = filter.text === undefined ? undefined : ftsQuery(filter.text);
  if (filter.text !== undefined && match === undefined) return undefined;
  const { text: _text, events, excludeEvents, ...rest } = filter;
  const index: IndexFilter = {
    ...rest,
    ...(events === undefined ? {} : { events: patterns(events) }),
    ...(match === undefined ? {} : { match }),
  };
  const rows = filterRows(db, index);
  if (rows === undefined || excludeEvents === undefined) return rows;
  // The rows of the excluded event types, negated: the index's own selection of them (its SQL
  // stays in src/search); undefined when the index knows none of them, so none to leave out.
  const excluded = filterRows(db, { events: patterns(excludeEvents) });
  if (excluded === undefined || excluded.sql.length === 0) return rows;
  return {
    sql: [...rows.sql, `NOT (${excluded.sql.join(' AND ')})`],
    params: [...rows.params, ...excluded.params],
  };
}

function patterns(events: readonly string[]): Array<{ text: string; glob: boolean }> {
  return events.map((text) => ({ text, glob: isGlob(text) }));
}
