import { LogsError } from '../errors.js';
import { LEVEL_RANK, type Level } from '../event/levels.js';
import type { EventPattern, RecordFields } from '../store/store.js';
import type { IndexDb } from './index-db.js';
import { recordId, SEQ_LIMIT, splitRecordId } from './schema.js';

/**
 * Which rows of the index a read is about: clauses on `records r` and their parameters. Made
 * only in this folder (filterRows, subjectRows): the SQL of the index never leaves it.
 */
export interface RowSelection {
  readonly sql: readonly string[];
  readonly params: readonly unknown[];
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

export type { EventPattern } from '../store/store.js';

/**
 * What the index can filter on, in the stored form. Every field is optional and they combine
 * (AND); a list matches any of its values (OR). The query layer makes one from a QueryFilter.
 */
export interface IndexFilter extends RecordFields {
  /** This level and above. */
  readonly level?: Level;
  /** An FTS5 query on the stored message, already made safe (see ftsQuery). */
  readonly match?: string;
}

interface HitRow {
  id: number;
  ts_ms: number;
  line_offset: number;
  hash: Buffer;
  prev: Buffer | null;
}

/**
 * Rows selected, ordered by time then (channel, seq), with what reading them back needs.
 * `after` continues after a record (keyset pagination).
 */
export function selectHits(
  db: IndexDb,
  rows: RowSelection,
  order: 'asc' | 'desc',
  limit: number,
  after?: { readonly tsMs: number; readonly channel: string; readonly seq: number },
): Hit[] {
  const states = db.states();
  const names = new Map(states.map((s) => [s.channelNo, s.channel]));
  const clauses = [...rows.sql];
  const values = [...rows.params];
  if (after !== undefined) {
    const state = states.find((s) => s.channel === after.channel);
    if (state === undefined) throw new LogsError('INTERNAL', `no channel ${after.channel}`);
    clauses.push(`(r.ts_ms, r.id) ${order === 'desc' ? '<' : '>'} (?, ?)`);
    values.push(after.tsMs, recordId(state.channelNo, after.seq));
  }
  if (clauses.length === 0) clauses.push('1');
  const found = db.connection
    .prepare<unknown[], HitRow>(
      `SELECT r.id, r.ts_ms, r.line_offset, r.hash, p.hash AS prev
       FROM (SELECT id, ts_ms, line_offset, hash FROM records r WHERE ${clauses.join(' AND ')}
             ORDER BY ts_ms ${order}, id ${order} LIMIT ?) r
       LEFT JOIN records p ON p.id = r.id - 1
       ORDER BY r.ts_ms ${order}, r.id ${order}`,
    )
    .all(...values, limit);
  return found.map((r): Hit => {
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

/**
 * Record `seq` of `channel`, when the index holds its row. Undefined for a seq that is not a
 * whole number the index can hold, or a record never written, removed by retention, or an
 * erased person's.
 */
export function hitAt(db: IndexDb, channel: string, seq: number): Hit | undefined {
  const state = db.states().find((s) => s.channel === channel);
  if (state === undefined || !Number.isSafeInteger(seq) || seq < 1 || seq >= SEQ_LIMIT)
    return undefined;
  const [hit] = selectHits(
    db,
    { sql: ['r.id = ?'], params: [recordId(state.channelNo, seq)] },
    'asc',
    1,
  );
  return hit;
}

/** The rows a filter selects, or undefined when nothing can match (an unknown event type). */
export function filterRows(db: IndexDb, filter: IndexFilter): RowSelection | undefined {
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
  if (filter.match !== undefined) {
    where.push('r.id IN (SELECT rowid FROM msg_fts WHERE msg_fts MATCH ?)');
    params.push(filter.match);
  }
  return { sql: where, params };
}

/** The refs ids of the event types a list of names and globs matches. */
function eventIds(db: IndexDb, events: readonly EventPattern[]): number[] {
  const ids = new Set<number>();
  const exact = db.connection.prepare<[string], { id: number }>(
    'SELECT id FROM refs WHERE text = ?',
  );
  const glob = db.connection.prepare<[string], { id: number }>(
    'SELECT id FROM refs WHERE text GLOB ? AND id IN (SELECT event FROM event_types)',
  );
  for (const e of events) {
    const rows = e.glob ? glob.all(globForSqlite(e.text)) : exact.all(e.text);
    for (const r of rows) ids.add(r.id);
  }
  return [...ids];
}

/** The refs ids of strings (pseudonyms, stored ids, `type:id` targets) the index interned. */
export function refIds(db: IndexDb, texts: readonly string[]): number[] {
  const stmt = db.connection.prepare<[string], { id: number }>(
    'SELECT id FROM refs WHERE text = ?',
  );
  return texts.flatMap((t) => stmt.all(t).map((r) => r.id));
}

/** Our globs know only `*` and `?`: SQLite's `[` classes are taken literally. */
function globForSqlite(pattern: string): string {
  return pattern.replace(/\[/g, '[[]');
}
