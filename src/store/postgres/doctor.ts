/**
 * What `dihya-logs doctor` checks of a PostgreSQL store: the settings an acknowledgement relies
 * on (fsync, synchronous commit, synchronous standbys and whether one is connected), the
 * privileges of the role the service connects as (it must not be able to change or delete
 * records: the evidence does not depend on it, verify finds any change, but a role that cannot
 * is one less way to try), the schema version, and whether checkpoints are being signed.
 * Read-only.
 */
import type pg from 'pg';
import { connect } from './pool.js';
import { SCHEMA_VERSION } from './schema.js';

export interface DatabaseCheck {
  readonly id: string;
  readonly title: string;
  readonly status: 'ok' | 'warn' | 'fail';
  readonly summary: string;
  readonly findings: ReadonlyArray<{ readonly what: string; readonly fix: string }>;
}

const GRANTS = 'the role and grants in docs/postgres.md ("Roles")';

export async function databaseChecks(
  url: string,
  schema: string,
  now = Date.now(),
): Promise<DatabaseCheck[]> {
  const pool = connect(url, schema, 1);
  try {
    return [
      await durability(pool),
      await replication(pool),
      await privileges(pool),
      await schemaState(pool),
      await checkpoints(pool, now),
    ];
  } finally {
    await pool.end().catch(() => undefined);
  }
}

async function setting(pool: pg.Pool, name: string): Promise<string> {
  const { rows } = await pool.query<{ v: string }>('SELECT current_setting($1) AS v', [name]);
  return rows[0]?.v ?? '';
}

async function durability(pool: pg.Pool): Promise<DatabaseCheck> {
  const findings = [];
  for (const [name, want] of [
    ['fsync', 'on'],
    ['full_page_writes', 'on'],
  ] as const) {
    const v = await setting(pool, name);
    if (v !== want)
      findings.push({
        what: `${name} is ${v}: a power loss can lose or corrupt committed records`,
        fix: `ALTER SYSTEM SET ${name} = ${want}; then reload PostgreSQL`,
      });
  }
  const sc = await setting(pool, 'synchronous_commit');
  if (sc === 'off')
    findings.push({
      what: 'synchronous_commit is off: an acknowledged record can be lost in a crash of the server',
      fix: `ALTER ROLE CURRENT_USER SET synchronous_commit = on (or on the database)`,
    });
  return {
    id: 'db-durability',
    title: 'database settings an acknowledgement relies on',
    status: findings.length === 0 ? 'ok' : 'fail',
    summary:
      findings.length === 0
        ? `fsync, full_page_writes on; synchronous_commit ${sc}`
        : `${findings.length} setting(s) weaken acknowledged writes`,
    findings,
  };
}

async function replication(pool: pg.Pool): Promise<DatabaseCheck> {
  const names = await setting(pool, 'synchronous_standby_names');
  const sc = await setting(pool, 'synchronous_commit');
  const { rows } = await pool.query<{ name: string; state: string }>(
    'SELECT application_name AS name, sync_state AS state FROM pg_stat_replication',
  );
  const sync = rows.filter((r) => r.state === 'sync' || r.state === 'quorum');
  const base = {
    id: 'db-replication',
    title: 'synchronous replication (an ack survives losing the primary)',
  };
  if (names === '')
    return {
      ...base,
      status: 'warn',
      summary:
        'no synchronous standby: an acknowledged record lives on this server alone until replicated',
      findings: [
        {
          what: 'synchronous_standby_names is empty: losing the primary loses what it acknowledged and had not yet shipped',
          fix: "set synchronous_standby_names (e.g. 'ANY 1 (standby1, standby2)') and synchronous_commit = on or remote_apply; see docs/postgres.md",
        },
      ],
    };
  if (sync.length === 0)
    return {
      ...base,
      status: 'fail',
      summary: `synchronous_standby_names is set (${names}) but no synchronous standby is connected: commits wait, audit writes are not acknowledged`,
      findings: [
        {
          what: 'no standby in sync state in pg_stat_replication',
          fix: 'start the standby, or change synchronous_standby_names',
        },
      ],
    };
  return {
    ...base,
    status: sc === 'on' || sc === 'remote_write' || sc === 'remote_apply' ? 'ok' : 'warn',
    summary: `${sync.length} synchronous standby(s) connected (${sync.map((r) => r.name).join(', ')}); synchronous_commit ${sc}`,
    findings:
      sc === 'local' || sc === 'off'
        ? [
            {
              what: `synchronous_commit is ${sc}: commits do not wait for the standby`,
              fix: 'set synchronous_commit = on',
            },
          ]
        : [],
  };
}

async function privileges(pool: pg.Pool): Promise<DatabaseCheck> {
  const { rows } = await pool.query<{
    super: boolean;
    owner: boolean;
    upd: boolean;
    del: boolean;
    trunc: boolean;
  }>(
    `SELECT r.rolsuper AS super,
            pg_has_role(current_user, c.relowner, 'USAGE') AS owner,
            has_table_privilege('dl_records', 'UPDATE') AS upd,
            has_table_privilege('dl_records', 'DELETE') AS del,
            has_table_privilege('dl_records', 'TRUNCATE') AS trunc
       FROM pg_roles r, pg_class c
      WHERE r.rolname = current_user AND c.oid = 'dl_records'::regclass`,
  );
  const r = rows[0];
  const findings = [];
  if (r?.super === true)
    findings.push({
      what: 'the service connects as a superuser: it could change anything, the records included',
      fix: GRANTS,
    });
  else if (r?.owner === true)
    findings.push({
      what: 'the service connects as the owner of the tables: it could change or delete records',
      fix: GRANTS,
    });
  else if (r?.upd === true || r?.del === true || r?.trunc === true)
    findings.push({
      what: 'the service role may UPDATE, DELETE or TRUNCATE dl_records',
      fix: GRANTS,
    });
  return {
    id: 'db-role',
    title: 'the service role cannot change or delete records',
    status: findings.length === 0 ? 'ok' : 'warn',
    summary:
      findings.length === 0
        ? 'the role may insert and read records, not change or delete them'
        : 'the role could change or delete records (verify would still find it)',
    findings,
  };
}

async function schemaState(pool: pg.Pool): Promise<DatabaseCheck> {
  const { rows } = await pool.query<{ v: number | null }>(
    'SELECT max(version) AS v FROM dl_schema_version',
  );
  const v = rows[0]?.v ?? 0;
  const ok = v === SCHEMA_VERSION;
  return {
    id: 'db-schema',
    title: 'schema version',
    status: ok ? 'ok' : 'fail',
    summary: `schema at version ${v}; this dihya-logs expects ${SCHEMA_VERSION}`,
    findings: ok
      ? []
      : [
          {
            what:
              v > SCHEMA_VERSION
                ? 'the schema is newer than this dihya-logs'
                : 'the schema is older than this dihya-logs',
            fix:
              v > SCHEMA_VERSION
                ? 'upgrade dihya-logs'
                : 'start one instance with the owner role: it migrates at start',
          },
        ],
  };
}

async function checkpoints(pool: pg.Pool, now: number): Promise<DatabaseCheck> {
  const { rows } = await pool.query<{ line: string }>(
    'SELECT line FROM dl_checkpoints ORDER BY n DESC LIMIT 1',
  );
  const heads = await pool.query<{ n: string }>(
    `SELECT count(*) AS n FROM dl_heads h JOIN dl_trees t USING (channel) WHERE h.seq > t.size`,
  );
  const behind = Number(heads.rows[0]?.n ?? 0);
  const last = rows[0] === undefined ? undefined : (JSON.parse(rows[0].line) as { ts: string }).ts;
  const age = last === undefined ? Infinity : (now - Date.parse(last)) / 1000;
  const stale = behind > 0 && age > 60;
  return {
    id: 'db-checkpoints',
    title: 'checkpoints are being signed',
    status: stale ? 'warn' : 'ok',
    summary:
      last === undefined
        ? 'no checkpoint yet'
        : `last checkpoint ${last} (${Math.round(age)} s ago); ${behind} channel(s) with records past it`,
    findings: stale
      ? [
          {
            what: 'records wait for a checkpoint for more than a minute: no instance is leading',
            fix: 'start an instance (any one signs), or check its errors',
          },
        ]
      : [],
  };
}
