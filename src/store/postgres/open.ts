/**
 * Opening the PostgreSQL store: migrate the schema, make or read the log's identity, load the
 * keystore, sign what the last instances left unsigned, and hand back the store.
 */
import { mkdirSync } from 'node:fs';
import type pg from 'pg';
import { LogsError } from '../../errors.js';
import { SubjectCrypto } from '../../crypto/subject-crypto.js';
import type { Config } from '../../config/resolve.js';
import type { EventInput } from '../../event/record.js';
import type { Store } from '../store.js';
import { checkpointRound } from './checkpointer.js';
import { PgKeystore } from './keystore.js';
import { readBook } from './lifecycle.js';
import { ensureLog } from './meta.js';
import { PostgresStore } from './pg-store.js';
import { asDatabaseError, connect } from './pool.js';
import { migrate } from './schema.js';

export interface OpenPostgresStoreOptions {
  readonly config: Config;
  readonly masterKey: Buffer;
  readonly onError: (err: LogsError) => void;
}

/**
 * Open the PostgreSQL store: migrate the schema, make or read the log's identity, load the
 * keystore, sign what the last instances left unsigned, and start this instance's checkpoint
 * leader (it signs only while it holds the lock).
 */
export async function openPostgresStore(options: OpenPostgresStoreOptions): Promise<Store> {
  const { config, masterKey, onError } = options;
  if (config.store.kind !== 'postgres') throw new LogsError('INTERNAL', 'not a postgres store');
  const { url, schema, poolSize } = config.store;
  mkdirSync(config.dir, { recursive: true, mode: 0o700 }); // local state (index, tokens)
  const pool = connect(url, schema, poolSize);
  try {
    const names = Object.keys(config.channels);
    const { identity, keys, heads } = await withClient(pool, async (client) => {
      await migrate(client, schema);
      const identity = await ensureLog(client, masterKey, names);
      const encrypted = names.filter((n) => config.channels[n]?.encrypt === true);
      const keys = await PgKeystore.load(
        client,
        new SubjectCrypto(masterKey, identity.logId),
        identity.logId,
        encrypted,
      );
      const heads = await client.query<{ channel: string; seq: string; last_ts: string }>(
        'SELECT channel, seq, last_ts FROM dl_heads',
      );
      return { identity, keys, heads: heads.rows };
    });
    const findings: EventInput[] = [];
    await checkpointRound(pool, identity, names, (err) => {
      onError(err);
      findings.push(damageEvent(err));
    });
    const channels = names.map((name) => {
      const h = heads.find((r) => r.channel === name);
      const lastTs = h?.last_ts ?? '';
      return { name, seq: Number(h?.seq ?? 0), lastTsMs: lastTs === '' ? 0 : Date.parse(lastTs) };
    });
    const store = new PostgresStore({
      config,
      pool,
      identity,
      keys,
      channels,
      findings,
      book: await readBook(pool),
      onError,
      name: `postgres:${schema}`,
    });
    return store;
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw asDatabaseError(err);
  }
}

async function withClient<T>(pool: pg.Pool, fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    return await fn(client);
  } finally {
    client.release();
  }
}

/** A record changed behind the writers' back, found by a checkpoint round: a security event. */
function damageEvent(err: LogsError): EventInput {
  return {
    channel: 'security',
    level: 'CRITICAL',
    event: 'log.integrity.unsigned_damage',
    outcome: 'failure',
    msg: err.message,
  };
}
