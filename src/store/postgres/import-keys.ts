/**
 * `import`, the subject keystore: the rows of a logs directory's `.keys/subjects.db` (SQLite)
 * copied as they are into `dl_subjects`, `dl_erased` and `dl_channel_keys`. Every wrap is bound
 * to the log id and the row's name, and the imported log keeps its id and is opened with the
 * same master key: the wrapped bytes open unchanged, nothing is unwrapped here. Copying again
 * (a resumed import) adds nothing twice.
 */
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import type pg from 'pg';

const CHUNK = 5000;

/** Rows copied (those an interrupted run had copied are not counted again). */
export interface KeystoreCopy {
  readonly subjects: number;
  readonly erased: number;
  readonly channelKeys: number;
}

interface SubjectRow {
  pseudonym: string;
  lookup: Buffer;
  wrapped: Buffer;
  sealed_id: Buffer;
  created: string;
}

/** Copy the keystore at `file` (absent: nothing to copy) through `client`. */
export async function copyKeystore(client: pg.ClientBase, file: string): Promise<KeystoreCopy> {
  if (!existsSync(file)) return { subjects: 0, erased: 0, channelKeys: 0 };
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const has = (table: string): boolean =>
      db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").get(table) !==
      undefined;
    let subjects = 0;
    if (has('subjects')) {
      const rows = db
        .prepare<[], SubjectRow>(
          'SELECT pseudonym, lookup, wrapped, sealed_id, created FROM subjects ORDER BY created',
        )
        .iterate();
      for (const chunk of chunks(rows)) subjects += await insertSubjects(client, chunk);
    }
    const erased = has('erased')
      ? await insertErased(
          client,
          db
            .prepare<[], { pseudonym: string; at: string }>('SELECT pseudonym, at FROM erased')
            .all(),
        )
      : 0;
    const channelKeys = has('channel_keys')
      ? await insertChannelKeys(
          client,
          db
            .prepare<[], { channel: string; id: number; wrapped: Buffer; created: string }>(
              'SELECT channel, id, wrapped, created FROM channel_keys ORDER BY channel, id',
            )
            .all(),
        )
      : 0;
    return { subjects, erased, channelKeys };
  } finally {
    db.close();
  }
}

function* chunks<T>(rows: Iterable<T>): Generator<T[]> {
  let chunk: T[] = [];
  for (const r of rows) {
    chunk.push(r);
    if (chunk.length === CHUNK) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

async function insertSubjects(client: pg.ClientBase, rows: readonly SubjectRow[]): Promise<number> {
  const r = await client.query(
    `INSERT INTO dl_subjects (pseudonym, lookup, wrapped, sealed_id, created)
       SELECT * FROM unnest($1::text[], $2::bytea[], $3::bytea[], $4::bytea[], $5::timestamptz[])
     ON CONFLICT (pseudonym) DO NOTHING`,
    [
      rows.map((s) => s.pseudonym),
      rows.map((s) => s.lookup),
      rows.map((s) => s.wrapped),
      rows.map((s) => s.sealed_id),
      rows.map((s) => s.created),
    ],
  );
  return r.rowCount ?? 0;
}

/** Erased people: only their pseudonyms (no key, no id), so a rebuilt index leaves them out. */
async function insertErased(
  client: pg.ClientBase,
  rows: ReadonlyArray<{ pseudonym: string; at: string }>,
): Promise<number> {
  let n = 0;
  for (const chunk of chunks(rows)) {
    const r = await client.query(
      `INSERT INTO dl_erased (pseudonym, at)
         SELECT * FROM unnest($1::text[], $2::timestamptz[])
       ON CONFLICT (pseudonym) DO NOTHING`,
      [chunk.map((e) => e.pseudonym), chunk.map((e) => e.at)],
    );
    n += r.rowCount ?? 0;
  }
  return n;
}

async function insertChannelKeys(
  client: pg.ClientBase,
  rows: ReadonlyArray<{ channel: string; id: number; wrapped: Buffer; created: string }>,
): Promise<number> {
  if (rows.length === 0) return 0;
  const r = await client.query(
    `INSERT INTO dl_channel_keys (channel, id, wrapped, created)
       SELECT * FROM unnest($1::text[], $2::integer[], $3::bytea[], $4::timestamptz[])
     ON CONFLICT (channel, id) DO NOTHING`,
    [
      rows.map((k) => k.channel),
      rows.map((k) => k.id),
      rows.map((k) => k.wrapped),
      rows.map((k) => k.created),
    ],
  );
  return r.rowCount ?? 0;
}
