/**
 * The service's tokens on the PostgreSQL store (`dl_tokens`): every instance on the schema
 * sees the same tokens, so a token made or revoked through one is known to all at once. The
 * rules are the file store's (access/tokens.ts): the secret is shown once, only its digest is
 * kept, checks are constant-time, and a change is committed before it is answered.
 */
import type pg from 'pg';
import {
  mintToken,
  tokenIdOf,
  tokenInfo,
  tokenMatches,
  TokenTouches,
  type Role,
  type TokenBook,
  type TokenInfo,
  type TokenRow,
} from '../../access/tokens.js';
import { asDatabaseError, commitConfirmed, inTransaction } from './pool.js';

// Dates are ISO strings (text); compared and ordered byte-wise, as SQLite does, whatever the
// database's collation.
const C = 'COLLATE "C"';
const FIRST_LOCK = 0x646c_746b; // 'dltk'

export class PgTokens implements TokenBook {
  private readonly touched = new TokenTouches();

  /** Over the store's pool: the store ends it, close() here does not. */
  constructor(private readonly pool: pg.Pool) {}

  create(
    role: Role,
    name: string,
    expiresAt?: Date,
    now = new Date(),
  ): Promise<{ token: string; info: TokenInfo }> {
    return this.insert(role, name, expiresAt, now, false) as Promise<{
      token: string;
      info: TokenInfo;
    }>;
  }

  /**
   * Instances starting together on an empty schema take turns here (a transaction-level
   * advisory lock): one makes the first token of the role, the others find it.
   */
  createFirst(
    role: Role,
    name: string,
    expiresAt?: Date,
  ): Promise<{ token: string; info: TokenInfo } | undefined> {
    return this.insert(role, name, expiresAt, new Date(), true);
  }

  private async insert(
    role: Role,
    name: string,
    expiresAt: Date | undefined,
    now: Date,
    onlyFirst: boolean,
  ): Promise<{ token: string; info: TokenInfo } | undefined> {
    const minted = mintToken(role, name);
    const row = await this.change(async (client) => {
      if (onlyFirst) {
        await client.query('SELECT pg_advisory_xact_lock(hashtext(current_schema()), $1)', [
          FIRST_LOCK,
        ]);
        const active = await client.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM dl_tokens
             WHERE revoked IS NULL AND (expires IS NULL OR expires ${C} > $1) AND role = $2`,
          [now.toISOString(), role],
        );
        if ((active.rows[0]?.n ?? 0) > 0) return undefined;
      }
      const { rows } = await client.query<TokenRow>(
        `INSERT INTO dl_tokens (id, name, role, hash, created, expires)
           VALUES ($1, $2, $3, $4, $5, $6) RETURNING *`,
        [
          minted.id,
          minted.name,
          role,
          minted.hash,
          now.toISOString(),
          expiresAt?.toISOString() ?? null,
        ],
      );
      return rows[0];
    });
    return row === undefined ? undefined : { token: minted.token, info: tokenInfo(row) };
  }

  async check(text: string, now = Date.now()): Promise<TokenInfo | undefined> {
    const id = tokenIdOf(text);
    const row = id === undefined ? undefined : await this.row(id);
    if (!tokenMatches(text, row?.hash, row?.revoked ?? null, row?.expires ?? null, now))
      return undefined;
    if (row === undefined) return undefined;
    // Not a change anyone is answered about: a plain statement, no wait for a standby's word.
    if (this.touched.due(row.id, now))
      await this.query('UPDATE dl_tokens SET last_used = $1 WHERE id = $2', [
        new Date(now).toISOString(),
        row.id,
      ]);
    return tokenInfo(row);
  }

  async get(id: string): Promise<TokenInfo | undefined> {
    const row = await this.row(id);
    return row === undefined ? undefined : tokenInfo(row);
  }

  async list(): Promise<TokenInfo[]> {
    const rows = await this.query<TokenRow>(
      `SELECT * FROM dl_tokens ORDER BY created ${C}, id ${C}`,
    );
    return rows.map(tokenInfo);
  }

  async revoke(id: string, now = new Date()): Promise<boolean> {
    return this.change(async (client) => {
      const done = await client.query(
        'UPDATE dl_tokens SET revoked = $1 WHERE id = $2 AND revoked IS NULL',
        [now.toISOString(), id],
      );
      if ((done.rowCount ?? 0) > 0) return true;
      const { rows } = await client.query('SELECT 1 FROM dl_tokens WHERE id = $1', [id]);
      return rows.length > 0;
    });
  }

  async activeCount(role?: Role): Promise<number> {
    const rows = await this.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM dl_tokens
         WHERE revoked IS NULL AND (expires IS NULL OR expires ${C} > $1)
           AND ($2::text IS NULL OR role = $2)`,
      [new Date().toISOString(), role ?? null],
    );
    return rows[0]?.n ?? 0;
  }

  close(): void {
    // The pool is the store's: its close() ends it.
  }

  private async row(id: string): Promise<TokenRow | undefined> {
    const rows = await this.query<TokenRow>('SELECT * FROM dl_tokens WHERE id = $1', [id]);
    return rows[0];
  }

  private async query<R extends pg.QueryResultRow>(text: string, values: unknown[] = []) {
    try {
      return (await this.pool.query<R>(text, values)).rows;
    } catch (err) {
      throw asDatabaseError(err);
    }
  }

  /**
   * A change, answered once committed: with a synchronous standby, once it confirmed the commit
   * too (a commit it did not confirm throws, as for records).
   */
  private async change<T>(fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    try {
      return await inTransaction(this.pool, fn, commitConfirmed);
    } catch (err) {
      throw asDatabaseError(err);
    }
  }
}
