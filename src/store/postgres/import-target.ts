/**
 * `import`, the database side: the log is built in a staging schema of its own
 * (`<schema>_import`), which no service opens, and published into the configured schema in the
 * last transaction, with everything that makes it a log (its signed logs, heads and trees).
 * Until then the configured schema holds nothing of it: a store opened there meanwhile never
 * sees half a log, and an interrupted import is resumed from the staging schema.
 */
import { createReadStream, existsSync } from 'node:fs';
import type { KeyObject } from 'node:crypto';
import type pg from 'pg';
import { LogsError } from '../../errors.js';
import type { Checkpoint } from '../../integrity/checkpoint.js';
import { lineChunks, type ChannelCopy } from './import-records.js';
import { ensureLog, wrapSigningKey, type PgLogIdentity } from './meta.js';
import { migrate, quoteSchema } from './schema.js';
import { appendCheckpoints } from './signed-logs.js';

const CHUNK = 5000;

/** The staging schema of an import into `schema`. */
export function stagingSchema(schema: string): string {
  const name = `${schema}_import`;
  quoteSchema(name); // at most 63 characters
  return name;
}

/** The id of the log a schema holds; undefined when it holds none (or does not exist). */
export async function schemaLog(
  client: pg.ClientBase,
  schema: string,
): Promise<string | undefined> {
  const q = quoteSchema(schema);
  const t = await client.query<{ t: string | null }>('SELECT to_regclass($1)::text AS t', [
    `${q}.dl_meta`,
  ]);
  if (t.rows[0]?.t == null) return undefined;
  const m = await client.query<{ log_id: string }>(`SELECT log_id FROM ${q}.dl_meta WHERE id = 1`);
  return m.rows[0]?.log_id;
}

/** Refuse a schema that already holds a log: an import never writes into a live log. */
export async function refuseOccupied(
  client: pg.ClientBase,
  schema: string,
  logId: string,
): Promise<void> {
  const there = await schemaLog(client, schema);
  if (there === undefined) return;
  throw new LogsError(
    'LOGS_ALREADY_INITIALIZED',
    there === logId
      ? `schema ${schema} already holds log ${logId} (imported before, and perhaps written to since): nothing was imported; to import again, into an empty schema, set store.schema to a new name`
      : `schema ${schema} holds another log (${there}): nothing was imported; import into an empty schema (set store.schema to a new name)`,
  );
}

/** The identity the imported log keeps. */
export interface ImportedIdentity {
  readonly logId: string;
  readonly publicKey: string;
  readonly created: string;
  readonly privateKey: KeyObject;
}

/**
 * Make (or find again) the staging schema, holding the log's identity: its id, its public key,
 * and its signing key wrapped as `dl_meta` keeps it. Returns the signer read back from it (so
 * the master key is known to open it) and whether an interrupted import was found.
 */
export async function openStaging(
  client: pg.ClientBase,
  staging: string,
  id: ImportedIdentity,
  masterKey: Buffer,
): Promise<{ signer: PgLogIdentity; resumed: boolean }> {
  await migrate(client, staging);
  const there = await schemaLog(client, staging);
  if (there !== undefined && there !== id.logId)
    throw new LogsError(
      'LOGS_ALREADY_INITIALIZED',
      `schema ${staging} holds an interrupted import of another log (${there}): drop it (DROP SCHEMA ${staging} CASCADE) to import this one`,
    );
  if (there === undefined)
    await client.query(
      `INSERT INTO dl_meta (id, log_id, created, public_key, signing_key) VALUES (1, $1, $2, $3, $4)`,
      [id.logId, id.created, id.publicKey, wrapSigningKey(masterKey, id.logId, id.privateKey)],
    );
  const rows = await client.query<{ any: boolean }>(
    'SELECT EXISTS (SELECT 1 FROM dl_records) AS any',
  );
  const signer = await ensureLog(client, masterKey, []);
  if (signer.publicKey !== id.publicKey)
    throw new LogsError('INTEGRITY_STATE', `schema ${staging}: dl_meta names another public key`);
  await deferIndexes(client);
  return { signer, resumed: there !== undefined && rows.rows[0]?.any === true };
}

/**
 * While the records are copied, `dl_records` keeps only its primary key: its other indexes (two
 * GIN among them) are built once at the end, in bulk, instead of row by row. Their definitions
 * wait in `import_indexes` (not a `dl_` table: it is never published).
 */
async function deferIndexes(client: pg.ClientBase): Promise<void> {
  await client.query(
    'CREATE TABLE IF NOT EXISTS import_indexes (name text PRIMARY KEY, def text NOT NULL)',
  );
  const { rows } = await client.query<{ name: string; def: string }>(
    `SELECT ic.relname AS name, pg_get_indexdef(ix.indexrelid) AS def
       FROM pg_index ix JOIN pg_class ic ON ic.oid = ix.indexrelid
      WHERE ix.indrelid = 'dl_records'::regclass AND NOT ix.indisunique`,
  );
  for (const r of rows) {
    await client.query(
      'INSERT INTO import_indexes (name, def) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING',
      [r.name, r.def],
    );
    if (PLAIN.test(r.name)) await client.query(`DROP INDEX ${r.name}`);
  }
}

/** Build the indexes deferIndexes set aside (on every partition), in the caller's transaction. */
async function restoreIndexes(client: pg.ClientBase): Promise<void> {
  const { rows } = await client.query<{ def: string }>('SELECT def FROM import_indexes');
  for (const r of rows)
    // A partitioned table's index reads `ON ONLY`: built here on its partitions too.
    await client.query(
      r.def.replace(/^CREATE INDEX /, 'CREATE INDEX IF NOT EXISTS ').replace(' ON ONLY ', ' ON '),
    );
  await client.query('DROP TABLE import_indexes');
}

/** What the last transaction writes besides the records. */
export interface Finish {
  readonly schema: string;
  readonly staging: string;
  readonly signer: PgLogIdentity;
  readonly channels: readonly ChannelCopy[];
  /** Each channel's last signed checkpoint in the logs directory. */
  readonly latest: ReadonlyMap<string, Checkpoint | undefined>;
  readonly checkpointsFile: string;
  readonly segmentsFile: string;
}

/** What the last transaction did. */
export interface Finished {
  readonly checkpoints: number;
  readonly segmentEntries: number;
  /** Channels signed at import: reopened after a clean close, or a crash's unsigned tail. */
  readonly signed: string[];
}

/**
 * The last transaction: the signed logs copied line for line, each channel's head and tree,
 * the checkpoints the import signs, then the tables moved into the configured schema. All or
 * nothing.
 */
export async function finishImport(client: pg.ClientBase, f: Finish): Promise<Finished> {
  await client.query('BEGIN');
  try {
    await restoreIndexes(client);
    for (const t of ['dl_checkpoints', 'dl_segment_log', 'dl_heads', 'dl_trees'])
      await client.query(`DELETE FROM ${t}`);
    const segmentEntries = await copySignedLog(client, 'dl_segment_log', f.segmentsFile);
    const checkpoints = await copySignedLog(client, 'dl_checkpoints', f.checkpointsFile);
    for (const c of f.channels) {
      await client.query(
        'INSERT INTO dl_heads (channel, seq, hash, last_ts, cut) VALUES ($1, $2, $3, $4, $5)',
        [c.channel, c.seq, c.head, c.lastTs, c.cut],
      );
      await client.query(
        'INSERT INTO dl_trees (channel, size, head, peaks) VALUES ($1, $2, $3, $4)',
        [c.channel, c.tree.size, c.head, c.tree.peaks],
      );
    }
    // A clean close's final checkpoint says nothing follows: the file store's reopen signs a
    // checkpoint without it before writing again, and so does the import, so records written
    // on PostgreSQL are not `appended_after_close`. A crash's unsigned tail (verify found it
    // within one interval) is signed as a reopened file store would adopt it.
    const due = f.channels.filter((c) => {
      const last = f.latest.get(c.channel);
      return last?.final === true || c.seq > (last?.size ?? 0);
    });
    const ts = new Date().toISOString();
    await appendCheckpoints(
      client,
      f.signer,
      due.map((c) => ({ channel: c.channel, size: c.seq, head: c.head, root: c.root, ts })),
    );
    await publish(client, f.staging, f.schema, f.signer.logId);
    await client.query('COMMIT');
    return { checkpoints, segmentEntries, signed: due.map((c) => c.channel) };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** A signed log's lines, verbatim, numbered from 1 (the table is empty). */
async function copySignedLog(
  client: pg.ClientBase,
  table: 'dl_checkpoints' | 'dl_segment_log',
  file: string,
): Promise<number> {
  let n = 0;
  let rows: Array<{ channel: string; line: string }> = [];
  const send = async (): Promise<void> => {
    await client.query(
      `INSERT INTO ${table} (n, channel, line)
         SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[])`,
      [
        rows.map((_, i) => n - rows.length + i + 1),
        rows.map((r) => r.channel),
        rows.map((r) => r.line),
      ],
    );
    rows = [];
  };
  if (!existsSync(file)) return 0; // a directory from before segments existed
  for await (const lines of lineChunks(createReadStream(file))) {
    for (const bytes of lines) {
      const line = bytes.toString('utf8');
      const channel = (JSON.parse(line) as { channel?: unknown }).channel;
      if (typeof channel !== 'string')
        throw new LogsError('INTEGRITY_STATE', `${file}: line ${n + 1} names no channel`);
      n += 1;
      rows.push({ channel, line });
    }
    if (rows.length >= CHUNK) await send();
  }
  if (rows.length > 0) await send();
  return n;
}

/**
 * Move the staging schema's objects (tables with their partitions and indexes, functions) into
 * the configured schema. A log made there while the import ran stops it; the empty objects of a
 * store that never held a log are dropped first.
 */
async function publish(
  client: pg.ClientBase,
  staging: string,
  schema: string,
  logId: string,
): Promise<void> {
  const t = quoteSchema(schema);
  const s = quoteSchema(staging);
  await client.query(`CREATE SCHEMA IF NOT EXISTS ${t}`);
  await refuseOccupied(client, schema, logId);
  const left = await objects(client, schema);
  if (left.tables.includes('dl_records')) {
    const r = await client.query<{ any: boolean }>(
      `SELECT EXISTS (SELECT 1 FROM ${t}.dl_records) AS any`,
    );
    if (r.rows[0]?.any === true)
      throw new LogsError(
        'LOGS_ALREADY_INITIALIZED',
        `schema ${schema} holds records but no log identity: nothing was imported; import into an empty schema`,
      );
  }
  for (const name of left.parents) await client.query(`DROP TABLE IF EXISTS ${t}.${name} CASCADE`);
  for (const f of left.functions) await client.query(`DROP FUNCTION ${t}.${f.name}(${f.args})`);
  const moving = await objects(client, staging);
  for (const name of moving.tables) await client.query(`ALTER TABLE ${s}.${name} SET SCHEMA ${t}`);
  for (const f of moving.functions) {
    await client.query(`ALTER FUNCTION ${s}.${f.name}(${f.args}) SET SCHEMA ${t}`);
    // A function pinned to its schema (SECURITY DEFINER) is pinned to its new one.
    if (f.searchPath !== undefined)
      await client.query(
        `ALTER FUNCTION ${t}.${f.name}(${f.args}) SET search_path = ${repin(f.searchPath, staging, schema)}`,
      );
  }
  // The staging schema goes when nothing else is left in it.
  await client.query('SAVEPOINT dl_import');
  await client
    .query(`DROP SCHEMA ${s}`)
    .catch(() => client.query('ROLLBACK TO SAVEPOINT dl_import'));
}

/** A function's search_path with the staging schema replaced by the configured one. */
function repin(searchPath: string, staging: string, schema: string): string {
  return searchPath
    .split(',')
    .map((name) => name.trim().replace(/^"(.*)"$/, '$1'))
    .map((name) => quoteSchema(name === staging ? schema : name))
    .join(', ');
}

interface Objects {
  /** Tables, partitions included. */
  readonly tables: string[];
  /** Tables that are not partitions (dropping one drops its partitions). */
  readonly parents: string[];
  readonly functions: Array<{ name: string; args: string; searchPath: string | undefined }>;
}

const PLAIN = /^dl_[a-z0-9_]+$/;
const ARGS = /^[a-z0-9_ ,]*$/;
const SEARCH_PATH = /^[a-z0-9_", ]+$/;

/** dihya-logs' objects in a schema (named `dl_*`); names and arguments checked plain. */
async function objects(client: pg.ClientBase, schema: string): Promise<Objects> {
  const rel = await client.query<{ name: string; partition: boolean }>(
    `SELECT c.relname AS name, c.relispartition AS partition
       FROM pg_class c JOIN pg_namespace ns ON ns.oid = c.relnamespace
      WHERE ns.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname LIKE 'dl\\_%'
      ORDER BY c.relname`,
    [schema],
  );
  const fns = await client.query<{ name: string; args: string; config: string[] | null }>(
    `SELECT p.proname AS name, pg_get_function_identity_arguments(p.oid) AS args,
            p.proconfig AS config
       FROM pg_proc p JOIN pg_namespace ns ON ns.oid = p.pronamespace
      WHERE ns.nspname = $1 AND p.proname LIKE 'dl\\_%'`,
    [schema],
  );
  const tables = rel.rows.filter((r) => PLAIN.test(r.name));
  return {
    tables: tables.map((r) => r.name),
    parents: tables.filter((r) => !r.partition).map((r) => r.name),
    functions: fns.rows
      .filter((f) => PLAIN.test(f.name) && ARGS.test(f.args))
      .map((f) => {
        const sp = f.config?.find((c) => c.startsWith('search_path='))?.slice(12);
        return {
          name: f.name,
          args: f.args,
          searchPath: sp !== undefined && SEARCH_PATH.test(sp) ? sp : undefined,
        };
      }),
  };
}
