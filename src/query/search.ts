import { LogsError } from '../errors.js';
import { LEVEL_RANK } from '../event/levels.js';
import type { IndexDb } from '../search/index-db.js';
import { recordId, splitRecordId } from '../search/schema.js';
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

/** One record the index found: where it lives and the hash it had when it was indexed. */
export interface Hit {
  readonly channel: string;
  readonly seq: number;
  readonly tsMs: number;
  /** The chain hash of the record, as indexed (hex). */
  readonly hash: string;
  /** The chain hash of the record before it, when the index has it (hex). */
  readonly prevHash: string | undefined;
  /** Where its line starts in its segment's (uncompressed) bytes. */
  readonly offset: number;
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

interface HitRow {
  id: number;
  ts_ms: number;
  line_offset: number;
  hash: Buffer;
  prev: Buffer | null;
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
  const sql = buildSql(db, filter);
  if (sql === undefined) return { hits: [], next: undefined };
  const after =
    cursor === undefined
      ? undefined
      : { tsMs: cursor.ts, channel: cursor.channel, seq: cursor.seq };
  const rows = selectHits(db, sql.where, sql.params, order, limit + 1, after);
  const more = rows.length > limit;
  const hits = rows.slice(0, limit);
  const last = hits[hits.length - 1];
  return {
    hits,
    next:
      more && last !== undefined
        ? encodeCursor({ ts: last.tsMs, channel: last.channel, seq: last.seq, order })
        : undefined,
  };
}

/**
 * Records matching a WHERE clause (on `records r`), ordered by time then (channel, seq), with
 * what reading them back needs. `after` continues after a record (keyset pagination).
 */
export function selectHits(
  db: IndexDb,
  where: readonly string[],
  params: readonly unknown[],
  order: Order,
  limit: number,
  after?: { readonly tsMs: number; readonly channel: string; readonly seq: number },
): Hit[] {
  const states = db.states();
  const names = new Map(states.map((s) => [s.channelNo, s.channel]));
  const clauses = [...where];
  const values = [...params];
  if (after !== undefined) {
    const state = states.find((s) => s.channel === after.channel);
    if (state === undefined) throw new LogsError('INTERNAL', `no channel ${after.channel}`);
    clauses.push(`(r.ts_ms, r.id) ${order === 'desc' ? '<' : '>'} (?, ?)`);
    values.push(after.tsMs, recordId(state.channelNo, after.seq));
  }
  if (clauses.length === 0) clauses.push('1');
  const rows = db.connection
    .prepare<unknown[], HitRow>(
      `SELECT r.id, r.ts_ms, r.line_offset, r.hash, p.hash AS prev
       FROM (SELECT id, ts_ms, line_offset, hash FROM records r WHERE ${clauses.join(' AND ')}
             ORDER BY ts_ms ${order}, id ${order} LIMIT ?) r
       LEFT JOIN records p ON p.id = r.id - 1
       ORDER BY r.ts_ms ${order}, r.id ${order}`,
    )
    .all(...values, limit);
  return rows.map((r): Hit => {
    const { channelNo, seq } = splitRecordId(r.id);
    return {
      channel: names.get(channelNo) ?? `#${channelNo}`,
      seq,
      tsMs: r.ts_ms,
      hash: r.hash.toString('hex'),
      prevHash: r.prev?.toString('hex'),
      offset: r.line_offset,
    };
  });
}

/** The WHERE clause of a filter, or undefined when nothing can match (an unknown event type). */
function buildSql(
  db: IndexDb,
  filter: QueryFilter,
): { where: string[]; params: unknown[] } | undefined {
  const where: string[] = [];
  const params: unknown[] = [];
  const inList = (column: string, values: readonly unknown[]): void => {
    where.push(`${column} IN (${values.map(() => '?').join(', ')})`);
    params.push(...values);
  };
  const states = db.states();
  if (filter.channels !== undefined) {
    const nos = states.filter((s) => filter.channels?.includes(s.channel)).map((s) => s.channelNo);
    if (nos.length === 0) return undefined;
    inList('r.channel', nos);
  }
  if (filter.level !== undefined) {
    where.push('r.level_rank >= ?');
    params.push(LEVEL_RANK[filter.level]);
  }
  if (filter.events !== undefined) {
    const ids = eventIds(db, filter.events);
    if (ids.length === 0) return undefined;
    inList('r.event', ids);
  }
  if (filter.outcomes !== undefined) inList('r.outcome', filter.outcomes);
  if (filter.actors !== undefined) {
    const ids = refIds(db, filter.actors);
    if (ids.length === 0) return undefined;
    inList('r.actor_ref', ids);
  }
  if (filter.subjects !== undefined) {
    const ids = refIds(db, filter.subjects);
    if (ids.length === 0) return undefined;
    inList('r.sub', ids);
  }
  if (filter.requestIds !== undefined) inList('r.request_id', filter.requestIds);
  if (filter.sinceMs !== undefined) {
    where.push('r.ts_ms >= ?');
    params.push(filter.sinceMs);
  }
  if (filter.untilMs !== undefined) {
    where.push('r.ts_ms < ?');
    params.push(filter.untilMs);
  }
  if (filter.text !== undefined) {
    const match = ftsQuery(filter.text);
    if (match === undefined) return undefined;
    where.push('r.id IN (SELECT rowid FROM msg_fts WHERE msg_fts MATCH ?)');
    params.push(match);
  }
  return { where, params };
}

/** The refs ids of the event types a list of names and globs matches. */
function eventIds(db: IndexDb, events: readonly string[]): number[] {
  const ids = new Set<number>();
  const exact = db.connection.prepare<[string], { id: number }>(
    'SELECT id FROM refs WHERE text = ?',
  );
  const glob = db.connection.prepare<[string], { id: number }>(
    'SELECT id FROM refs WHERE text GLOB ? AND id IN (SELECT event FROM event_types)',
  );
  for (const e of events) {
    const rows = isGlob(e) ? glob.all(globForSqlite(e)) : exact.all(e);
    for (const r of rows) ids.add(r.id);
  }
  return [...ids];
}

function refIds(db: IndexDb, texts: readonly string[]): number[] {
  const stmt = db.connection.prepare<[string], { id: number }>(
    'SELECT id FROM refs WHERE text = ?',
  );
  return texts.flatMap((t) => stmt.all(t).map((r) => r.id));
}

/** Our globs know only `*` and `?`: SQLite's `[` classes are taken literally. */
function globForSqlite(pattern: string): string {
  return pattern.replace(/\[/g, '[[]');
}
