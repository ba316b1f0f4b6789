/**
 * `dihya-logs verify` against a database: no master key, no writer needed. The log's identity
 * and channels are read from the schema; the public key pinned in the configuration (or given)
 * is what the signatures must match, so a database re-signed with another key is damage.
 */
import { LogsError } from '../../errors.js';
import type { VerifyOptions, VerifyReport } from '../verify-report.js';
import { asDatabaseError, connect } from './pool.js';
import { verifyPostgres } from './verify.js';

export interface VerifyDatabaseOptions extends Omit<VerifyOptions, 'dir'> {
  readonly url: string;
  readonly schema: string;
}

export async function verifyDatabase(options: VerifyDatabaseOptions): Promise<VerifyReport> {
  const pool = connect(options.url, options.schema, 2);
  try {
    let meta: { log_id: string; public_key: string } | undefined;
    let channels: string[];
    try {
      const m = await pool.query<{ log_id: string; public_key: string }>(
        'SELECT log_id, public_key FROM dl_meta WHERE id = 1',
      );
      meta = m.rows[0];
      const h = await pool.query<{ channel: string }>(
        'SELECT channel FROM dl_heads ORDER BY channel',
      );
      channels = h.rows.map((r) => r.channel);
    } catch (err) {
      if ((err as { code?: unknown }).code === '42P01')
        throw new LogsError(
          'LOGS_NOT_INITIALIZED',
          `schema ${options.schema} holds no log (no dl_meta table): wrong database or schema`,
        );
      throw asDatabaseError(err);
    }
    if (meta === undefined)
      throw new LogsError('LOGS_NOT_INITIALIZED', `schema ${options.schema} holds no log yet`);
    const { url: _url, schema, ...rest } = options;
    return await verifyPostgres(
      {
        pool,
        name: `postgres:${schema}`,
        logId: meta.log_id,
        publicKey: meta.public_key,
        channels,
      },
      rest,
    );
  } finally {
    await pool.end().catch(() => undefined);
  }
}
