/**
 * The PostgreSQL store's schema, as numbered migrations applied at open under an advisory lock
 * (several instances may start at once; one applies, the others wait and find it done). A
 * database migrated by a newer dihya-logs is refused: this code would not know its tables.
 *
 * Records are partitioned by month on `ts` (retention drops whole partitions once sealed); the
 * fields queries filter on are columns beside the stored line, which stays exactly the bytes
 * that were hashed. Everything that makes the log evidence (checkpoints, segment log) is a
 * chain of signed lines, as in the file store.
 */
import type pg from 'pg';
import { LogsError } from '../../errors.js';

const MIGRATE_LOCK = 0x646c_6d67; // 'dlmg'

const V1 = `
CREATE TABLE dl_meta (
  id integer PRIMARY KEY CHECK (id = 1),
  log_id text NOT NULL,
  created timestamptz NOT NULL,
  public_key text NOT NULL,
  signing_key bytea NOT NULL
);
CREATE TABLE dl_heads (
  channel text PRIMARY KEY,
  seq bigint NOT NULL,
  hash text NOT NULL,
  last_ts text NOT NULL,
  cut bigint NOT NULL DEFAULT 0
);
CREATE TABLE dl_records (
  channel text NOT NULL,
  seq bigint NOT NULL,
  ts timestamptz NOT NULL,
  level text NOT NULL,
  event text NOT NULL,
  actor text,
  sub text,
  request_id text,
  outcome text,
  msg text,
  people text[],
  line text NOT NULL,
  hash text NOT NULL,
  PRIMARY KEY (channel, seq, ts)
) PARTITION BY RANGE (ts);
CREATE INDEX dl_records_seq ON dl_records (channel, seq);
CREATE INDEX dl_records_actor ON dl_records (actor, ts) WHERE actor IS NOT NULL;
CREATE INDEX dl_records_sub ON dl_records (sub, ts) WHERE sub IS NOT NULL;
CREATE INDEX dl_records_request ON dl_records (request_id) WHERE request_id IS NOT NULL;
CREATE INDEX dl_records_event ON dl_records (event, ts);
CREATE INDEX dl_records_people ON dl_records USING gin (people) WHERE people IS NOT NULL;
CREATE INDEX dl_records_msg ON dl_records USING gin (to_tsvector('simple', coalesce(msg, '')));
-- Partitions are made by the owner's function, so the service's role needs no CREATE right
-- (migrate() pins its search_path to the schema).
CREATE FUNCTION dl_make_partition(month date) RETURNS void
LANGUAGE plpgsql SECURITY DEFINER AS $fn$
DECLARE
  lo timestamptz := date_trunc('month', month)::timestamp AT TIME ZONE 'UTC';
  hi timestamptz := (date_trunc('month', month) + interval '1 month')::timestamp AT TIME ZONE 'UTC';
BEGIN
  EXECUTE format('CREATE TABLE IF NOT EXISTS %I PARTITION OF dl_records FOR VALUES FROM (%L) TO (%L)',
    'dl_records_y' || to_char(month, 'YYYY') || 'm' || to_char(month, 'MM'), lo, hi);
END
$fn$;
REVOKE ALL ON FUNCTION dl_make_partition(date) FROM PUBLIC;
CREATE TABLE dl_idempotency (
  channel text NOT NULL,
  key text NOT NULL,
  seq bigint NOT NULL,
  hash text NOT NULL,
  created timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (channel, key)
);
CREATE INDEX dl_idempotency_created ON dl_idempotency (created);
CREATE TABLE dl_subjects (
  pseudonym text PRIMARY KEY,
  lookup bytea NOT NULL,
  wrapped bytea NOT NULL,
  sealed_id bytea NOT NULL,
  created timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX dl_subjects_lookup ON dl_subjects (lookup);
-- An erased person's row is reclaimed within a minute even when the service's role cannot run
-- VACUUM itself (docs/postgres.md: what still holds a key after erasure).
ALTER TABLE dl_subjects SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1);
CREATE TABLE dl_erased (pseudonym text PRIMARY KEY, at timestamptz NOT NULL DEFAULT now());
CREATE TABLE dl_channel_keys (
  channel text NOT NULL,
  id integer NOT NULL,
  wrapped bytea NOT NULL,
  created timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (channel, id)
);
CREATE TABLE dl_trees (
  channel text PRIMARY KEY,
  size bigint NOT NULL,
  head text NOT NULL,
  peaks text[] NOT NULL
);
CREATE TABLE dl_checkpoints (n bigint PRIMARY KEY, channel text NOT NULL, line text NOT NULL);
CREATE TABLE dl_segment_log (n bigint PRIMARY KEY, channel text NOT NULL, line text NOT NULL);
CREATE TABLE dl_archives (
  file text PRIMARY KEY,
  channel text NOT NULL,
  first bigint NOT NULL,
  last bigint NOT NULL,
  data bytea NOT NULL
);
`;

/**
 * Version 2: the service's tokens (every instance sees the same; the secret's digest only; a
 * revocation is final), the order of an unfiltered query (newest first over every channel),
 * and what proofs read: each channel's Merkle leaves (leaves.ts) and its checkpoints by size.
 */
const V2 = `
CREATE TABLE dl_tokens (
  id text PRIMARY KEY,
  name text NOT NULL,
  role text NOT NULL,
  hash bytea NOT NULL,
  created text NOT NULL,
  expires text,
  last_used text,
  revoked text
);
CREATE INDEX dl_records_ts ON dl_records (ts, channel, seq);
-- A token's row changes in two ways only: its last use, and its revocation, once. Column grants
-- cannot say "from null only": without this, the service role could bring a revoked token back.
CREATE FUNCTION dl_tokens_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF (NEW.id, NEW.name, NEW.role, NEW.hash, NEW.created, NEW.expires)
       IS DISTINCT FROM (OLD.id, OLD.name, OLD.role, OLD.hash, OLD.created, OLD.expires)
     OR (OLD.revoked IS NOT NULL AND NEW.revoked IS DISTINCT FROM OLD.revoked) THEN
    RAISE EXCEPTION 'dl_tokens: only last_used changes, and revoked once'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER dl_tokens_guard BEFORE UPDATE ON dl_tokens
  FOR EACH ROW EXECUTE FUNCTION dl_tokens_guard();
-- Every record's chain hash (its Merkle leaf), 1,024 per block, with the block's root once it
-- is full: apart from dl_records, so tombstones and erasure leave the proofs whole. Hashes do
-- not compress: stored out of line as they are.
CREATE TABLE dl_leaf_blocks (
  channel text NOT NULL,
  block bigint NOT NULL,
  root bytea,
  hashes bytea NOT NULL,
  PRIMARY KEY (channel, block)
);
ALTER TABLE dl_leaf_blocks ALTER COLUMN hashes SET STORAGE EXTERNAL;
-- A channel's checkpoint of a given size (proofs.ts checkpointAt, the leaves' catch-up): the
-- size as the canonical line writes it. Lines are checked when read; one without a size has
-- none here. Queries repeat this expression exactly, or the index is not used.
CREATE INDEX dl_checkpoints_size
  ON dl_checkpoints (channel, (substring(line from '"size":([0-9]{1,16})[,}]')::bigint));
`;

/** Every migration, in order; index + 1 is the schema version it brings. Never edit one. */
export const MIGRATIONS: readonly string[] = [V1, V2];
export const SCHEMA_VERSION = MIGRATIONS.length;

/** A schema name as given in the configuration: plain, so it can be quoted safely. */
export function quoteSchema(schema: string): string {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(schema))
    throw new LogsError(
      'CONFIG_INVALID',
      'store.schema: expected a lower-case SQL name (letters, digits, _; at most 63)',
    );
  return `"${schema}"`;
}

/**
 * Bring the schema to SCHEMA_VERSION. Runs in one transaction under a transaction-level
 * advisory lock: instances starting together apply each migration once. Returns the versions
 * applied (empty when the schema was current).
 */
export async function migrate(client: pg.ClientBase, schema: string): Promise<number[]> {
  const q = quoteSchema(schema);
  await client.query('BEGIN');
  try {
    // Per schema: logs in other schemas of the database migrate on their own.
    await client.query('SELECT pg_advisory_xact_lock(hashtext($2), $1)', [MIGRATE_LOCK, schema]);
    // Only created when missing: the service's role may read a schema it has no right to create.
    const has = await client.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
    if (has.rowCount === 0) await client.query(`CREATE SCHEMA ${q}`);
    await client.query(`SET LOCAL search_path TO ${q}`);
    const table = await client.query<{ t: string | null }>(
      "SELECT to_regclass('dl_schema_version')::text AS t",
    );
    if (table.rows[0]?.t === null)
      await client.query(
        `CREATE TABLE dl_schema_version (
           version integer PRIMARY KEY,
           applied timestamptz NOT NULL DEFAULT now()
         )`,
      );
    const { rows } = await client.query<{ v: number | null }>(
      'SELECT max(version) AS v FROM dl_schema_version',
    );
    const current = rows[0]?.v ?? 0;
    if (current > SCHEMA_VERSION)
      throw new LogsError(
        'SCHEMA_TOO_NEW',
        `the database schema ${schema} is at version ${current}, newer than this dihya-logs knows (${SCHEMA_VERSION}): upgrade dihya-logs`,
      );
    const applied: number[] = [];
    for (let v = current + 1; v <= SCHEMA_VERSION; v++) {
      await client.query(MIGRATIONS[v - 1] as string);
      await client.query('INSERT INTO dl_schema_version (version) VALUES ($1)', [v]);
      applied.push(v);
    }
    if (applied.includes(1))
      // A SECURITY DEFINER function resolves names in its own schema only.
      await client.query(`ALTER FUNCTION dl_make_partition(date) SET search_path = ${q}, pg_temp`);
    await client.query('COMMIT');
    return applied;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}
