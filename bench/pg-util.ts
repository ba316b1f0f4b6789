/**
 * The PostgreSQL server of the `11 postgres` bench: reaching it (or saying clearly that it is not
 * there), fresh schemas `bench_<random>`, and dropping them again, also after a failure.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The tests' database unless told otherwise (`--pg-url`). */
export const DEFAULT_PG_URL =
  process.env.DIHYA_LOGS_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

/** A connection that gives up after 5 s instead of waiting for a server that is not there. */
const CONNECT_TIMEOUT_MS = 5000;

/** A fresh schema name: `bench_` and 12 hex digits (a plain SQL name, nothing to quote). */
export function freshSchema(): string {
  return `bench_${randomBytes(6).toString('hex')}`;
}

/** `url` with `application_name` set, so the bench can pick its own connections out. */
export function withAppName(url: string, name: string): string {
  const u = new URL(url);
  u.searchParams.set('application_name', name);
  return u.toString();
}

/** The URL without its password, for messages. */
export function shownUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/** Run `fn` on one connection of its own, closed afterwards. */
export async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: CONNECT_TIMEOUT_MS,
    application_name: 'dihya-bench',
  });
  client.on('error', () => undefined); // a dropped connection fails the query under way
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Check that a server answers at `url` and lets us create a schema. Resolves with the leftover
 * `bench_*` schemas of earlier runs (killed before they could drop theirs); rejects with a
 * message that says what to do.
 */
export async function probeServer(url: string): Promise<string[]> {
  try {
    return await withClient(url, async (c) => {
      const { rows } = await c.query<{ ok: boolean; version: string }>(
        `SELECT has_database_privilege(current_database(), 'CREATE') AS ok,
                current_setting('server_version') AS version`,
      );
      if (rows[0]?.ok !== true) throw new Error(`the role may not create schemas in this database`);
      const left = await c.query<{ nspname: string }>(
        `SELECT nspname FROM pg_namespace WHERE nspname ~ '^bench_[0-9a-f]{12}$' ORDER BY 1`,
      );
      return left.rows.map((r) => r.nspname);
    });
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown };
    const why = [e.code, e.message].filter((x) => typeof x === 'string').join(': ');
    throw new Error(
      `no usable PostgreSQL server at ${shownUrl(url)} (${why || String(err)}): start one, ` +
        `give another with --pg-url, or leave the postgres group out (--only ...)`,
      { cause: err },
    );
  }
}

/**
 * Drop these schemas, with everything in them. Waits at most 30 s for each lock (an instance
 * killed mid-transaction may hold one until its connection is noticed gone); failures are
 * returned, not thrown, so that one schema left behind does not keep the others.
 */
export async function dropSchemas(url: string, schemas: readonly string[]): Promise<string[]> {
  if (schemas.length === 0) return [];
  const failed: string[] = [];
  try {
    await withClient(url, async (c) => {
      await c.query(`SET lock_timeout = '30s'`);
      for (const s of schemas) {
        if (!/^bench_[0-9a-f]{12}$/.test(s)) throw new Error(`not a bench schema: ${s}`);
        await c.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`).catch((err: unknown) => {
          failed.push(`${s} (${String(err)})`);
        });
      }
    });
  } catch (err) {
    return schemas.map((s) => `${s} (${String(err)})`);
  }
  return failed;
}

/** p-th quantile (0..1) of ascending samples: the value at floor(n * p), as the index bench. */
export function pct(sorted: ArrayLike<number>, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? 0;
}
