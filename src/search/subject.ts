import type { IndexDb } from './index-db.js';
import { refIds, type RowSelection } from './select.js';

/**
 * A person's rows in the index, for GDPR export and erasure. The rows are chosen once
 * (subjectRows) and the same choice is then read, counted or deleted: records indexed in
 * between by another process are judged by the same ids.
 */

/** Which of a person's rows stay when they are counted or deleted. */
export interface KeptRows {
  /** Rows of the event types this glob matches stay (the GDPR request register). */
  readonly events: string;
  /** Rows of these channels stay (a retention duty holds them). */
  readonly channels: readonly string[];
}

/**
 * Records of a person: their `sub`, their `actor.id`, or a target of a person type with their
 * pseudonym. Undefined when the index knows none of these.
 */
export function subjectRows(
  db: IndexDb,
  pseudonyms: readonly string[],
  personTypes: readonly string[],
): RowSelection | undefined {
  const people = refIds(db, [...pseudonyms]);
  const targets = refIds(
    db,
    pseudonyms.flatMap((p) => [p, ...personTypes.map((t) => `${t}:${p}`)]),
  );
  if (people.length === 0 && targets.length === 0) return undefined;
  const list = (xs: number[]): string => (xs.length === 0 ? 'NULL' : xs.join(', '));
  return {
    sql: [
      `(r.sub IN (${list(people)}) OR r.actor_ref IN (${list(people)}) OR r.target_ref IN (${list(targets)}))`,
    ],
    params: [],
  };
}

/**
 * How many of the rows are in `channel`, leaving out events the glob `exceptEvents` matches,
 * and the time of the newest (null when none). Undefined when the index has no such channel.
 */
export function subjectRowsIn(
  db: IndexDb,
  rows: RowSelection,
  channel: string,
  exceptEvents: string,
): { readonly records: number; readonly newestMs: number | null } | undefined {
  const state = db.state(channel);
  if (state === undefined) return undefined;
  const row = db.connection
    .prepare<unknown[], { n: number; newest: number | null }>(
      `SELECT count(*) AS n, max(r.ts_ms) AS newest FROM records r WHERE r.channel = ? AND ${rows.sql.join(' AND ')}
         AND ${NOT_EVENTS}`,
    )
    .get(state.channelNo, ...rows.params, exceptEvents);
  return row === undefined ? undefined : { records: row.n, newestMs: row.newest };
}

/** How many of the rows deleteSubjectRows would delete (none when `rows` is undefined). */
export function countSubjectRows(
  db: IndexDb,
  rows: RowSelection | undefined,
  kept: KeptRows,
): number {
  const where = deletable(db, rows, kept);
  if (where === undefined) return 0;
  return (
    db.connection
      .prepare<unknown[], { n: number }>(`SELECT count(*) AS n FROM records r WHERE ${where.sql}`)
      .get(...where.params)?.n ?? 0
  );
}

/**
 * Remove the rows (and their full-text entries) from the index, but the kept ones, in one
 * transaction. Returns how many were removed. Their Merkle leaves stay: proofs need them all,
 * and a chain hash is not personal data.
 */
export function deleteSubjectRows(
  db: IndexDb,
  rows: RowSelection | undefined,
  kept: KeptRows,
): number {
  const where = deletable(db, rows, kept);
  if (where === undefined) return 0;
  const ids = db.connection
    .prepare<unknown[], { id: number }>(`SELECT r.id FROM records r WHERE ${where.sql}`)
    .all(...where.params)
    .map((r) => r.id);
  const text = db.connection.prepare<[number]>('DELETE FROM msg_fts WHERE rowid = ?');
  const row = db.connection.prepare<[number]>('DELETE FROM records WHERE id = ?');
  db.connection
    .transaction(() => {
      for (const id of ids) {
        text.run(id);
        row.run(id);
      }
    })
    .immediate();
  return ids.length;
}

/** Rows whose event type the bound glob does not match. */
const NOT_EVENTS = 'r.event NOT IN (SELECT id FROM refs WHERE text GLOB ?)';

function deletable(
  db: IndexDb,
  rows: RowSelection | undefined,
  kept: KeptRows,
): { sql: string; params: unknown[] } | undefined {
  if (rows === undefined) return undefined;
  const channels = kept.channels
    .map((c) => db.state(c)?.channelNo)
    .filter((n): n is number => n !== undefined);
  return {
    sql: `${rows.sql.join(' AND ')} AND ${NOT_EVENTS}${channels.length > 0 ? ` AND r.channel NOT IN (${channels.join(', ')})` : ''}`,
    params: [...rows.params, kept.events],
  };
}
