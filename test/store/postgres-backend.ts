/**
 * The PostgreSQL backend under the store conformance suite: each fixture is a fresh schema in
 * the test database (DIHYA_LOGS_TEST_DATABASE_URL, default the local server's `test`
 * database); tampering is SQL run behind the store's back, as by someone with write access to
 * the database but no key. Also the module `crash-child.js` imports to open the same schema in
 * another process. No server: the tests fail, they do not skip.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { resolveConfig } from '../../src/config/resolve.js';
import type { LogsError } from '../../src/errors.js';
import { openPostgresStore } from '../../src/store/postgres/index.js';
import type { Store, StoreRecords } from '../../src/store/store.js';
import { tempDir } from '../helpers.js';
import type { OpenSettings, StoreBackend, StoreFixture, Tamper } from './backend.js';

export const TEST_DATABASE_URL =
  process.env.DIHYA_LOGS_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

interface Spec {
  readonly url: string;
  readonly schema: string;
  readonly dir: string;
}

function openSpec(
  spec: Spec,
  masterKey: Buffer,
  onError: (err: LogsError) => void,
  settings: OpenSettings = {},
): Promise<Store> {
  return openPostgresStore({
    config: resolveConfig(
      {
        ...settings,
        store: { kind: 'postgres', url: spec.url, schema: spec.schema, pool_size: 6 },
      },
      spec.dir,
    ),
    masterKey,
    onError,
  });
}

/** For crash-child.js: open the schema named by `spec` (JSON `{ url, schema, dir }`). */
export function openChildStore(spec: string, masterKey: Buffer): Promise<Store> {
  return openSpec(JSON.parse(spec) as Spec, masterKey, (err) =>
    process.stderr.write(`error ${err.code}\n`),
  );
}

/** Run SQL on the test database, in `schema`. */
export async function sql(
  schema: string,
  text: string,
  values: unknown[] = [],
): Promise<pg.QueryResult> {
  const client = new pg.Client({
    connectionString: TEST_DATABASE_URL,
    options: `-c search_path=${schema}`,
  });
  await client.connect();
  try {
    return await client.query(text, values);
  } finally {
    await client.end();
  }
}

async function tamperRows(schema: string, { kind, channel, seq }: Tamper): Promise<void> {
  switch (kind) {
    case 'edit':
      // One character of the message, the same length: still JSON, still a record.
      await sql(
        schema,
        `UPDATE dl_records SET line = regexp_replace(line, '"msg":"(.)', '"msg":"' ||
           CASE WHEN substring(line from '"msg":"(.)') = 'x' THEN 'y' ELSE 'x' END)
         WHERE channel = $1 AND seq = $2`,
        [channel, seq],
      );
      break;
    case 'delete':
      await sql(schema, 'DELETE FROM dl_records WHERE channel = $1 AND seq = $2', [channel, seq]);
      break;
    case 'truncate':
      await sql(schema, 'DELETE FROM dl_records WHERE channel = $1 AND seq >= $2', [channel, seq]);
      break;
  }
}

/** A fresh schema per fixture; `open` may be called again after close (one writer at a time here). */
export function postgresFixture(spec: Spec, masterKey: Buffer): StoreFixture {
  const errors: LogsError[] = [];
  const opened: Store[] = [];
  return {
    masterKey,
    errors,
    async open(settings) {
      const store = await openSpec(spec, masterKey, (err) => errors.push(err), settings);
      opened.push(store);
      return store;
    },
    child: { module: fileURLToPath(import.meta.url), spec: JSON.stringify(spec), env: {} },
    tamper: (t) => tamperRows(spec.schema, t),
    async dispose() {
      for (const s of opened) await s.close().catch(() => undefined);
      await sql('public', `DROP SCHEMA IF EXISTS ${spec.schema} CASCADE`);
    },
  };
}

export function newSpec(): Spec {
  return {
    url: TEST_DATABASE_URL,
    schema: `dl_t_${randomBytes(6).toString('hex')}`,
    dir: path.join(tempDir('dihya-pg-'), 'state'),
  };
}

/** A working directory whose dihya-logs.yaml names a fresh schema, and the CLI's environment. */
export function cliOnPostgres(): {
  cwd: string;
  env: Record<string, string>;
  spec: Spec;
} {
  const spec = newSpec();
  const cwd = tempDir('dihya-pg-cli-');
  writeFileSync(
    path.join(cwd, 'dihya-logs.yaml'),
    `dir: ./logs\nstore:\n  kind: postgres\n  schema: ${spec.schema}\n`,
  );
  const env = {
    DIHYA_LOGS_MASTER_KEY: randomBytes(32).toString('base64'),
    DIHYA_LOGS_DATABASE_URL: spec.url,
  };
  return { cwd, env, spec };
}

export const postgresBackend: StoreBackend = {
  create(): Promise<StoreFixture> {
    return Promise.resolve(postgresFixture(newSpec(), randomBytes(32)));
  },
};

/**
 * Stores opened on fresh schemas by a test file, all closed and their schemas dropped by
 * `dispose` (the file's `after`). Each store is opened with `key`.
 */
export function storesOnSchemas(key: Buffer): {
  open(spec: Spec, onError?: (err: LogsError) => void): Promise<Store>;
  dispose(): Promise<void>;
} {
  const opened: Store[] = [];
  const schemas = new Set<string>();
  return {
    async open(spec, onError = () => undefined) {
      const store = await openSpec(spec, key, onError);
      opened.push(store);
      schemas.add(spec.schema);
      return store;
    },
    async dispose() {
      for (const s of opened) await s.close().catch(() => undefined);
      for (const schema of schemas) await sql('public', `DROP SCHEMA IF EXISTS ${schema} CASCADE`);
    },
  };
}

/** A PostgreSQL store's records face (failing the test when there is none). */
export function recordsOf(store: Store): StoreRecords {
  if (store.records === undefined) throw new Error('the PostgreSQL store has a records face');
  return store.records;
}
