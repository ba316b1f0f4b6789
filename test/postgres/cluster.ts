import { execFileSync } from 'node:child_process';
import { appendFileSync, chmodSync, chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { PgServer, freePort, runPg } from './pg-server.js';

/** The standby's application_name, which the primary's synchronous_standby_names names. */
const STANDBY_NAME = 'dlstandby';

/**
 * A PostgreSQL primary and a streaming standby of its own, both on 127.0.0.1 in a temporary
 * directory: never the shared cluster on 5432, whose settings other tests rely on.
 */
export interface ReplicatedCluster {
  /** postgres://postgres@127.0.0.1:<port>/postgres, trust auth. */
  readonly primaryUrl: string;
  readonly standbyUrl: string;
  /** SIGKILL the primary's postmaster and all its processes (a crash: no shutdown checkpoint). */
  killPrimary(): Promise<void>;
  /** Promote the standby and wait until it accepts writes (pg_is_in_recovery() is false). */
  promoteStandby(): Promise<void>;
  /** Fast shutdown of the standby: the primary's synchronous commits then wait. */
  stopStandby(): Promise<void>;
  /** Start the standby again; while the primary runs, wait until it streams (sync, if so). */
  startStandby(): Promise<void>;
  /** Stop everything (immediate) and remove the directory; safe to call twice. */
  dispose(): Promise<void>;
}

/** How startReplicatedCluster() configures replication. */
export interface ClusterOptions {
  /** synchronous_standby_names names the standby, so a commit waits for its flush (default). */
  readonly synchronous?: boolean;
}

// Clusters not yet disposed. A test process that ends without dispose() (a failed assertion
// before a finally, an uncaught error, a signal) must not leave postmasters behind.
const live = new Set<{ primary: PgServer; standby: PgServer; root: string }>();
let handlersInstalled = false;

function disposeAllSync(): void {
  for (const c of live) {
    c.standby.stopSync();
    c.primary.stopSync();
    rmSync(c.root, { recursive: true, force: true, maxRetries: 3 });
  }
  live.clear();
}

function installExitHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  process.once('exit', disposeAllSync);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      disposeAllSync();
      // Listening replaced the default action; with this listener gone, die of it as before.
      process.kill(process.pid, signal);
    });
  }
}

/**
 * A directory the server processes own, mode 0700 as initdb wants. Not helpers.ts tempDir():
 * its exit handler, registered first, would remove the data directories under running servers.
 */
function serverOwnedDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'dihya-pg-'));
  chmodSync(dir, 0o700);
  if (process.getuid?.() === 0) {
    const id = (flag: string) =>
      Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }));
    chownSync(dir, id('-u'), id('-g'));
  }
  return dir;
}

/** The primary's settings, which the base backup copies to the standby; small, to start fast. */
function primaryConf(synchronous: boolean): string {
  return [
    '',
    '# dihya-logs test cluster (test/postgres/cluster.ts)',
    "listen_addresses = '127.0.0.1'",
    // No socket in /var/run/postgresql, where the shared cluster's lock file is.
    "unix_socket_directories = ''",
    'max_connections = 40',
    'shared_buffers = 16MB',
    'min_wal_size = 4MB',
    'wal_level = replica',
    'max_wal_senders = 4',
    'max_replication_slots = 4',
    // Durability stays real: what the tests show about acknowledged commits must hold.
    'fsync = on',
    'synchronous_commit = on',
    `synchronous_standby_names = '${synchronous ? STANDBY_NAME : ''}'`,
    '',
  ].join('\n');
}

// The base backup copies the primary's postgresql.conf. Promoted, a standby still naming a
// synchronous standby would wait forever on every commit: it has none.
const STANDBY_CONF = "\nsynchronous_standby_names = ''\n";

async function query<R extends pg.QueryResultRow>(url: string, sql: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined); // a server going away mid-poll is an answer, not a crash
  try {
    await client.connect();
    return (await client.query<R>(sql)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Poll `check` until it is true; on timeout, throw with `explain()` (the servers' logs). */
async function until(
  what: string,
  check: () => Promise<boolean>,
  explain: () => string,
  timeoutMs = 30_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      if (await check()) return;
    } catch (e) {
      last = e instanceof Error ? e.message : 'a non-Error';
    }
    if (Date.now() > deadline) {
      const why = last === '' ? '' : ` (last error: ${last})`;
      throw new Error(`timed out waiting for ${what}${why}\n${explain()}`);
    }
    await sleep(50);
  }
}

/**
 * Start a primary (initdb) and a standby (pg_basebackup -R from it) on free loopback ports,
 * each run by the `postgres` user when this process is root. Resolves once the standby streams,
 * as the synchronous standby unless `synchronous` is false. Fails, never skips, without
 * PostgreSQL's binaries.
 */
export async function startReplicatedCluster(
  options: ClusterOptions = {},
): Promise<ReplicatedCluster> {
  const synchronous = options.synchronous ?? true;
  const root = serverOwnedDir();
  const primary = new PgServer(path.join(root, 'primary'), path.join(root, 'primary.log'), 0);
  const standby = new PgServer(path.join(root, 'standby'), path.join(root, 'standby.log'), 0);
  const entry = { primary, standby, root };
  installExitHandlers();
  live.add(entry);

  const logs = () =>
    `--- primary log ---\n${primary.logTail()}\n--- standby log ---\n${standby.logTail()}`;
  const streaming = () =>
    until(
      `the standby to stream${synchronous ? ' as the synchronous standby' : ''}`,
      async () => {
        const rows = await query<{ state: string; sync_state: string }>(
          primary.url,
          `SELECT state, sync_state FROM pg_stat_replication WHERE application_name = '${STANDBY_NAME}'`,
        );
        const want = synchronous ? 'sync' : 'async';
        return rows.some((r) => r.state === 'streaming' && r.sync_state === want);
      },
      logs,
    );

  const cluster: ReplicatedCluster = {
    get primaryUrl() {
      return primary.url;
    },
    get standbyUrl() {
      return standby.url;
    },
    killPrimary: () => primary.kill(),
    promoteStandby: async () => {
      await runPg('pg_ctl', ['promote', '-w', '-t', '60', '-D', standby.dataDir]);
      await until(
        'the promoted standby to accept writes',
        async () => {
          const [row] = await query<{ r: boolean }>(standby.url, 'SELECT pg_is_in_recovery() r');
          return row?.r === false;
        },
        logs,
      );
    },
    stopStandby: () => standby.stop('fast'),
    startStandby: async () => {
      await standby.start();
      if (primary.running) await streaming();
    },
    dispose: async () => {
      if (!live.delete(entry)) return;
      const stop = (s: PgServer) => s.stop('immediate').catch(() => s.stopSync());
      await Promise.all([standby, primary].filter((s) => s.running).map(stop));
      rmSync(root, { recursive: true, force: true, maxRetries: 3 });
    },
  };

  try {
    // --no-sync: initdb's and pg_basebackup's own flushes only matter to a power cut, which
    // these tests do not simulate; the servers themselves run with fsync on.
    // 1 MB WAL segments, not 16: less to write, copy and delete (deletes are slow on some disks).
    await runPg('initdb', [
      ...['-D', primary.dataDir, '-U', 'postgres', '--auth=trust', '--no-sync'],
      ...['--encoding=UTF8', '--locale=C', '--wal-segsize=1'],
    ]);
    appendFileSync(path.join(primary.dataDir, 'postgresql.conf'), primaryConf(synchronous));
    primary.port = await freePort();
    await primary.start();
    // A slot keeps the WAL a stopped standby has yet to receive; -c fast: no spread checkpoint.
    const conninfo = `host=127.0.0.1 port=${primary.port} user=postgres application_name=${STANDBY_NAME}`;
    await runPg('pg_basebackup', [
      ...['-D', standby.dataDir, '-d', conninfo, '-R', '-C', '-S', STANDBY_NAME],
      ...['-c', 'fast', '-X', 'stream', '--no-sync'],
    ]);
    appendFileSync(path.join(standby.dataDir, 'postgresql.conf'), STANDBY_CONF);
    standby.port = await freePort();
    await standby.start();
    await streaming();
  } catch (e) {
    await cluster.dispose();
    throw e;
  }
  return cluster;
}
