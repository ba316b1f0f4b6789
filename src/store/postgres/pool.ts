import pg from 'pg';
import { LogsError } from '../../errors.js';
import { quoteSchema } from './schema.js';

/** A pool on the configured database and schema (the search path set at connection start). */
export function connect(url: string, schema: string, max: number): pg.Pool {
  const pool = new pg.Pool({
    connectionString: url,
    max,
    application_name: 'dihya-logs',
    // An unreachable server fails a connection in seconds; a query has no client-side limit:
    // a commit waiting for a synchronous standby waits (no ack is given meanwhile).
    connectionTimeoutMillis: 5000,
    options: `-c search_path=${quoteSchema(schema)}`,
  });
  // A connection the server (or the network) closed: idle, the pool drops it; checked out, its
  // query fails and the caller handles that. Neither may crash the process.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => client.on('error', () => undefined));
  return pool;
}

/** A connection failure as DATABASE_UNAVAILABLE; our own errors as they are. */
export function asDatabaseError(err: unknown): LogsError {
  if (err instanceof LogsError) return err as LogsError;
  const e = err as { code?: unknown; message?: unknown };
  const code = typeof e.code === 'string' ? `${e.code}: ` : '';
  const first = typeof e.message === 'string' ? e.message.split('\n')[0] : 'unknown error';
  return new LogsError('DATABASE_UNAVAILABLE', `PostgreSQL: ${code}${first ?? ''}`, { cause: err });
}

/**
 * COMMIT, refusing a commit the synchronous standby did not confirm. PostgreSQL answers a
 * COMMIT whose wait for the standby was cancelled (pg_cancel_backend, a terminating backend)
 * with success and only a WARNING: the transaction is committed on the primary alone, and an
 * answer built on it would not survive the primary's loss. Such a commit throws here; the
 * caller then settles it as a commit whose answer was lost.
 */
export async function commitConfirmed(client: pg.ClientBase): Promise<void> {
  const seen = { unconfirmed: false };
  const onNotice = (n: { message?: string }): void => {
    if (n.message?.includes('synchronous replication') === true) seen.unconfirmed = true;
  };
  client.on('notice', onNotice);
  try {
    await client.query('COMMIT');
  } finally {
    client.off('notice', onNotice);
  }
  if (seen.unconfirmed)
    throw new LogsError(
      'DATABASE_UNAVAILABLE',
      'the commit was not confirmed by the synchronous standby (its wait was cancelled)',
    );
}

/**
 * Run `fn` in a transaction on `client`: `commit` (plain COMMIT by default) once it returns,
 * ROLLBACK when anything throws.
 */
export async function transaction<T>(
  client: pg.ClientBase,
  fn: () => Promise<T>,
  commit: (client: pg.ClientBase) => Promise<unknown> = (c) => c.query('COMMIT'),
): Promise<T> {
  await client.query('BEGIN');
  try {
    const out = await fn();
    await commit(client);
    return out;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** `transaction` on a connection of the pool, released afterwards. */
export async function inTransaction<T>(
  pool: pg.Pool,
  fn: (client: pg.PoolClient) => Promise<T>,
  commit?: (client: pg.ClientBase) => Promise<unknown>,
): Promise<T> {
  const client = await pool.connect();
  try {
    return await transaction(client, () => fn(client), commit);
  } finally {
    client.release();
  }
}
