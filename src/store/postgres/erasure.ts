/**
 * GDPR erasure on the PostgreSQL store: the person's rows leave `dl_subjects` (their wrapped
 * key, lookup and sealed id) and their pseudonyms enter `dl_erased`, in one transaction whose
 * cost does not depend on how much was logged about them. Every instance keeps people in
 * memory: the same transaction notifies them (LISTEN/NOTIFY), and each forgets the erased
 * people's keys, so none goes on encrypting for, or revealing, someone who was erased.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inTransaction } from './pool.js';
import { quoteSchema } from './schema.js';

/** The notification channel, one per database: the payload names the schema first. */
export const ERASED_CHANNEL = 'dihya_logs_erased';
// A NOTIFY payload is at most 8000 bytes: pseudonyms (28 characters) go in chunks.
const PER_NOTICE = 200;
const RETRY_MS = 1000;
// A barrier's notice (never a pseudonym: those start with `sub_`), and how long it may take.
const BARRIER = '!barrier-';
const BARRIER_MS = 2000;

/**
 * Delete these people's key rows and list them as erased; returns the pseudonyms that had a
 * row. The table lock waits for the commits writing new people's rows that are under way (a
 * row of an erased person committed after the delete would bring the key back), and makes the
 * later ones see `dl_erased` (batch.ts leaves an erased person's row out).
 */
export async function deleteSubjects(
  pool: pg.Pool,
  schema: string,
  pseudonyms: readonly string[],
): Promise<string[]> {
  if (pseudonyms.length === 0) return [];
  return inTransaction(pool, async (client) => {
    await client.query('LOCK TABLE dl_subjects IN SHARE ROW EXCLUSIVE MODE');
    const { rows } = await client.query<{ pseudonym: string }>(
      'DELETE FROM dl_subjects WHERE pseudonym = ANY($1::text[]) RETURNING pseudonym',
      [pseudonyms],
    );
    const gone = [...new Set(rows.map((r) => r.pseudonym))];
    await client.query(
      `INSERT INTO dl_erased (pseudonym) SELECT unnest($1::text[]) ON CONFLICT DO NOTHING`,
      [gone],
    );
    // Sent at COMMIT, to every instance listening (this one too, harmlessly).
    for (let i = 0; i < pseudonyms.length; i += PER_NOTICE)
      await client.query('SELECT pg_notify($1, $2)', [
        ERASED_CHANNEL,
        [schema, ...pseudonyms.slice(i, i + PER_NOTICE)].join(' '),
      ]);
    return gone;
  });
}

/**
 * Reclaim the deleted rows of `dl_subjects` now rather than when autovacuum comes: the dead
 * tuple (the wrapped key, the sealed id) leaves the table's pages. Outside a transaction, as
 * VACUUM must be; it cannot remove a row that a transaction older than the delete may still
 * see. Only the table's owner may run it: for another role PostgreSQL skips it with a warning,
 * and this answers false.
 */
export async function vacuumSubjects(pool: pg.Pool): Promise<boolean> {
  const client = await pool.connect();
  let skipped = false;
  const onNotice = (n: { message?: string }): void => {
    if (n.message?.startsWith('skipping') === true) skipped = true;
  };
  client.on('notice', onNotice);
  try {
    await client.query('VACUUM dl_subjects');
    return !skipped;
  } finally {
    client.off('notice', onNotice);
    client.release();
  }
}

/** This instance's view of erasures: its listener, and a barrier for reads that reveal. */
export interface ErasureListener {
  /**
   * Resolves once every erasure committed before the call has reached `forget`: a read that
   * puts personal values back waits for it, so no instance reveals a person another instance
   * has answered as erased. A notice of our own sent through the listening connection comes
   * back after every notice committed before it (PostgreSQL delivers them in commit order);
   * without that connection, `dl_erased` is read again.
   */
  settled(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Listen for erasures made by any instance on this schema and hand their pseudonyms to
 * `forget`. Each (re)connection first forgets everyone already in `dl_erased`: notifications
 * sent while it was away are not lost.
 */
export function listenErasures(
  url: string,
  schema: string,
  forget: (pseudonyms: readonly string[]) => void,
  pool: pg.Pool,
): ErasureListener {
  let client: pg.Client | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  const waiting = new Map<string, () => void>();
  const reload = async (): Promise<void> => {
    const { rows } = await pool.query<{ pseudonym: string }>('SELECT pseudonym FROM dl_erased');
    forget(rows.map((r) => r.pseudonym));
  };
  const again = (): void => {
    client = undefined;
    if (!stopped) timer = setTimeout(() => void start(), RETRY_MS).unref();
  };
  const start = async (): Promise<void> => {
    const c = new pg.Client({
      connectionString: url,
      application_name: 'dihya-logs erasures',
      connectionTimeoutMillis: 5000,
      options: `-c search_path=${quoteSchema(schema)}`,
    });
    c.on('error', () => undefined);
    c.on('notification', (n) => {
      const [from, ...words] = (n.payload ?? '').split(' ');
      if (n.channel !== ERASED_CHANNEL || from !== schema) return;
      const barrier = words[0]?.startsWith(BARRIER) === true ? words[0] : undefined;
      if (barrier === undefined) forget(words);
      else waiting.get(barrier)?.();
    });
    try {
      await c.connect();
      await c.query(`LISTEN ${ERASED_CHANNEL}`);
      const { rows } = await c.query<{ pseudonym: string }>('SELECT pseudonym FROM dl_erased');
      forget(rows.map((r) => r.pseudonym));
    } catch {
      await c.end().catch(() => undefined);
      again();
      return;
    }
    if (stopped) {
      await c.end().catch(() => undefined);
      return;
    }
    client = c;
    c.on('end', () => {
      if (client === c) again();
    });
  };
  void start();
  return {
    async settled() {
      const c = client;
      if (c === undefined) return reload();
      const nonce = `${BARRIER}${randomBytes(8).toString('hex')}`;
      const back = new Promise<boolean>((resolve) => {
        const t = setTimeout(() => resolve(false), BARRIER_MS);
        waiting.set(nonce, () => {
          clearTimeout(t);
          resolve(true);
        });
      });
      try {
        await c.query('SELECT pg_notify($1, $2)', [ERASED_CHANNEL, `${schema} ${nonce}`]);
        if (!(await back)) await reload();
      } catch {
        await reload();
      } finally {
        waiting.delete(nonce);
      }
    },
    async stop() {
      stopped = true;
      clearTimeout(timer);
      const c = client;
      client = undefined;
      await c?.end().catch(() => undefined);
    },
  };
}
