import { rmSync, statSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { LogLayout } from '../store/file/index.js';
import { EXPECTED_TABLES, SCHEMA_VERSION, TABLES } from './schema.js';
import type { RecreateReason } from './types.js';

/** `.index/index.db` of a logs directory. */
export function indexFile(layout: LogLayout): string {
  return path.join(layout.indexDir, 'index.db');
}

/** Delete the index files (the database, its WAL and shared-memory files). */
export function removeIndexFiles(layout: LogLayout): void {
  const file = indexFile(layout);
  for (const suffix of ['', '-wal', '-shm', '-journal'])
    rmSync(`${file}${suffix}`, { force: true });
}

/**
 * Open an index file, creating the schema in an empty one, and check it can be used: returns
 * the connection and the file's inode, or why the file must be recreated. Never trusts what it
 * finds: another schema version, missing tables, another log, or a file SQLite cannot read.
 */
export function openChecked(
  file: string,
  logId: string,
  busyTimeoutMs: number,
): { conn: Database.Database; inode: number } | RecreateReason {
  let conn: Database.Database | undefined;
  try {
    conn = new Database(file, { fileMustExist: true });
    const inode = statSync(file).ino;
    conn.pragma(`busy_timeout = ${busyTimeoutMs}`);
    conn.pragma('journal_mode = WAL');
    // The index is rebuilt from the files when lost: no sync per commit (WAL with NORMAL still
    // never corrupts on a crash; it may lose the last commits, which the next catch-up redoes).
    conn.pragma('synchronous = NORMAL');
    conn.pragma('cache_size = -65536');
    conn.pragma('cell_size_check = ON');
    const problem = checkSchema(conn, logId);
    if (problem !== undefined) {
      conn.close();
      return problem;
    }
    return { conn, inode };
  } catch (err) {
    if (conn?.open === true) conn.close();
    if (isCorruption(err)) return 'corrupt';
    throw err;
  }
}

function checkSchema(conn: Database.Database, logId: string): RecreateReason | undefined {
  const names = conn.prepare<[], { name: string }>(
    "SELECT name FROM sqlite_schema WHERE type IN ('table', 'view')",
  );
  const tables = (): Set<string> => new Set(names.all().map((r) => r.name));
  const version = (): number => conn.pragma('user_version', { simple: true }) as number;
  if (version() === 0 && tables().size === 0) {
    conn
      .transaction(() => {
        // Two processes may both find an empty file: the second sees the first's schema.
        if (version() !== 0 || tables().size > 0) return;
        conn.exec(TABLES);
        conn.prepare('INSERT INTO meta (key, value) VALUES (?, ?)').run('log_id', logId);
        conn.pragma(`user_version = ${SCHEMA_VERSION}`);
      })
      .immediate();
  }
  if (version() !== SCHEMA_VERSION) return 'version';
  const have = tables();
  if (!EXPECTED_TABLES.every((t) => have.has(t))) return 'corrupt';
  const row = conn
    .prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'log_id'")
    .get();
  return row?.value === logId ? undefined : 'other_log';
}

/** Whether an error says the database file was deleted or replaced under the connection. */
export function isMoved(err: unknown): boolean {
  return (
    err instanceof Database.SqliteError &&
    (err.code === 'SQLITE_READONLY_DBMOVED' || err.code === 'SQLITE_IOERR_VNODE')
  );
}

/** Whether an error says the database file is not a (sound) SQLite database. */
export function isCorruption(err: unknown): boolean {
  return (
    err instanceof Database.SqliteError &&
    (err.code === 'SQLITE_NOTADB' || err.code.startsWith('SQLITE_CORRUPT'))
  );
}
