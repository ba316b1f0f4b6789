/**
 * `importFileLog`: move a logs directory (the file store) into PostgreSQL, keeping its seqs and
 * chains, so that the database is the same log, verified after. The log keeps its identity (log
 * id, public key, signing key): every chain starts from a hash derived from the log id, and
 * every checkpoint and segment entry is signed by that key, so the stored lines, the checkpoint
 * log and the segment log are copied verbatim and verify as they did; the subject keystore's
 * rows, wrapped for this log id, open unchanged.
 *
 * In order: the directory is locked (no writer may run beside it) and verified (a damaged log is
 * refused); the records are copied into a staging schema, resumably; the last transaction
 * writes the signed logs, heads and trees, signs what a reopening file store would sign, and
 * publishes the tables into the configured schema; then that schema is verified.
 */
import type { KeyObject } from 'node:crypto';
import { existsSync } from 'node:fs';
import { LogsError, asLogsError } from '../../errors.js';
import type { ChannelKeyring } from '../../crypto/body-cipher.js';
import { Keystore } from '../../crypto/keystore.js';
import { damagePlace } from '../../integrity/damage.js';
import {
  acquireLock,
  channelSources,
  findLatestCheckpoint,
  LogLayout,
  lockOwner,
  readMeta,
  readSegmentBook,
  readSigningKey,
  verifyLogs,
  type LogMeta,
} from '../file/index.js';
import type { VerifyReport } from '../verify-report.js';
import { copyChannel, type ChannelCopy, type CopyContext } from './import-records.js';
import { copyKeystore, type KeystoreCopy } from './import-keys.js';
import {
  finishImport,
  openStaging,
  refuseOccupied,
  stagingSchema,
  type Finished,
} from './import-target.js';
import { Partitions } from './partitions.js';
import { asDatabaseError } from './pool.js';
import { connect } from './pool.js';
import { verifyDatabase } from './verify-database.js';

export interface ImportFileLogOptions {
  /** The logs directory to import (it is locked while the import runs). */
  readonly dir: string;
  /** The master key of that directory; the PostgreSQL store is then opened with it. */
  readonly masterKey: Buffer;
  readonly url: string;
  /** The schema to publish into: it must not hold a log. */
  readonly schema: string;
  /** The pinned public key (`integrity.public_key`): both verifications check against it. */
  readonly publicKey?: string | undefined;
  /** Idempotency keys of records this recent are kept for retries. Default 24 h. */
  readonly idempotencyWindowMs?: number | undefined;
  /** Rows per INSERT statement. Default 5000. */
  readonly batchRows?: number | undefined;
  readonly onProgress?: ((p: ImportProgress) => void) | undefined;
}

export interface ImportProgress {
  readonly phase: 'verify-files' | 'copy' | 'verify-database';
  readonly records: number;
  readonly bytes: number;
  readonly totalBytes: number;
}

/** One channel as imported. */
export interface ImportedChannel {
  readonly channel: string;
  /** Last seq: writing on PostgreSQL continues at seq + 1. */
  readonly seq: number;
  /** Rows in the database (records retention deleted have none). */
  readonly records: number;
  /** Rows this run inserted (fewer than `records` when it resumed an interrupted import). */
  readonly inserted: number;
  readonly deleted: number;
  readonly archives: number;
  /** Records of an encrypted channel whose body did not open (no key): no columns but seq, ts. */
  readonly unopened: number;
  /** A checkpoint was signed at import (reopened after a clean close, or an unsigned tail). */
  readonly signed: boolean;
}

export interface ImportReport {
  /** The PostgreSQL store verified intact after the import. */
  readonly ok: boolean;
  readonly from: string;
  readonly schema: string;
  readonly logId: string;
  readonly publicKey: string;
  /** An interrupted import was found in the staging schema and finished. */
  readonly resumed: boolean;
  readonly channels: readonly ImportedChannel[];
  /** Rows inserted by this run. */
  readonly records: number;
  readonly bytes: number;
  readonly archives: number;
  readonly archiveBytes: number;
  readonly keystore: KeystoreCopy;
  readonly idempotencyKeys: number;
  readonly checkpoints: number;
  readonly segmentEntries: number;
  readonly durationsMs: {
    readonly verifyFiles: number;
    readonly copy: number;
    readonly verifyDatabase: number;
    readonly total: number;
  };
  /** Records copied per second (the copy phase, the last transaction included). */
  readonly recordsPerSecond: number;
  readonly fileVerify: VerifyReport;
  readonly databaseVerify: VerifyReport;
}

interface Copied {
  readonly resumed: boolean;
  readonly channels: readonly ChannelCopy[];
  readonly keystore: KeystoreCopy;
  readonly finished: Finished;
  readonly bytes: number;
}

/** Import the logs directory `dir` into the PostgreSQL schema `schema`; see the file's comment. */
export async function importFileLog(o: ImportFileLogOptions): Promise<ImportReport> {
  const started = performance.now();
  const layout = new LogLayout(o.dir);
  const meta = readMeta(layout);
  const staging = stagingSchema(o.schema);
  const release = lockFor(layout);
  try {
    // A schema that holds a log is refused before the (long) verification.
    await inDatabase(o.url, o.schema, async (pool) => {
      const client = await pool.connect();
      try {
        await refuseOccupied(client, o.schema, meta.log_id);
      } finally {
        client.release();
      }
    });
    const fileVerify = await verifyFiles(o, layout);
    const privateKey = readSigningKey(layout, meta, o.masterKey);
    const copyStarted = performance.now();
    const copied = await inDatabase(o.url, staging, (pool) =>
      copyAll(pool, o, layout, meta, privateKey, fileVerify.bytes),
    );
    const copyMs = performance.now() - copyStarted;
    const databaseVerify = await verifyDatabase({
      url: o.url,
      schema: o.schema,
      publicKey: o.publicKey ?? meta.public_key,
      onProgress: (p) => o.onProgress?.({ phase: 'verify-database', ...p }),
    });
    return report(o, meta, fileVerify, databaseVerify, copied, {
      verifyFiles: copyStarted - started,
      copy: copyMs,
      verifyDatabase: performance.now() - copyStarted - copyMs,
      total: performance.now() - started,
    });
  } finally {
    release();
  }
}

/** The directory's lock: a writer running beside the import would add what is not copied. */
function lockFor(layout: LogLayout): () => void {
  const owner = lockOwner(layout);
  if (owner !== undefined)
    throw new LogsError(
      'LOGS_LOCKED',
      `${layout.dir} is open by process ${owner.pid} on ${owner.host} (${owner.command}, since ${owner.since}): stop it (a clean close) before importing`,
      { details: { pid: owner.pid, host: owner.host } },
    );
  return acquireLock(layout, `dihya-logs import (pid ${process.pid})`);
}

/** Verify the directory; a damaged log is refused, nothing imported. */
async function verifyFiles(o: ImportFileLogOptions, layout: LogLayout): Promise<VerifyReport> {
  const r = await verifyLogs({
    dir: layout.dir,
    ...(o.publicKey === undefined ? {} : { publicKey: o.publicKey }),
    onProgress: (p) => o.onProgress?.({ phase: 'verify-files', ...p }),
  });
  const d = r.damage[0];
  if (d !== undefined)
    throw new LogsError(
      'INTEGRITY_STATE',
      `${layout.dir} is damaged (${d.kind} at ${damagePlace(d)}: ${d.detail})${r.damage.length > 1 ? ` and ${r.damage.length - 1} more` : ''}: nothing was imported; run dihya-logs verify --dir ${layout.dir}`,
      { details: { damage: r.damage.length } },
    );
  return r;
}

/** Run `fn` on a pool of the staging schema; errors of the database as DATABASE_UNAVAILABLE. */
async function inDatabase<T>(
  url: string,
  schema: string,
  fn: (pool: ReturnType<typeof connect>) => Promise<T>,
): Promise<T> {
  const pool = connect(url, schema, 3);
  try {
    return await fn(pool);
  } catch (err) {
    throw asImportError(err);
  } finally {
    await pool.end().catch(() => undefined);
  }
}

function asImportError(err: unknown): LogsError {
  if (err instanceof LogsError) return err as LogsError;
  const e = err as { syscall?: unknown; path?: unknown };
  if (typeof e.syscall === 'string' && typeof e.path === 'string') return asLogsError(err);
  if (err instanceof SyntaxError || err instanceof TypeError) return asLogsError(err);
  return asDatabaseError(err);
}

async function copyAll(
  pool: ReturnType<typeof connect>,
  o: ImportFileLogOptions,
  layout: LogLayout,
  meta: LogMeta,
  privateKey: KeyObject,
  totalBytes: number,
): Promise<Copied> {
  const client = await pool.connect();
  try {
    await refuseOccupied(client, o.schema, meta.log_id);
    const staging = stagingSchema(o.schema);
    const identity = { logId: meta.log_id, publicKey: meta.public_key, created: meta.created };
    const { signer, resumed } = await openStaging(
      client,
      staging,
      { ...identity, privateKey },
      o.masterKey,
    );
    const book = readSegmentBook(layout, meta.log_id);
    const names = [...new Set([...meta.channels, ...book.channels()])];
    const counters = { records: 0, bytes: 0 };
    const ctx: CopyContext = {
      client,
      partitions: new Partitions(pool),
      logId: meta.log_id,
      staging,
      batchRows: o.batchRows ?? 5000,
      idempotencySince: Date.now() - (o.idempotencyWindowMs ?? 86_400_000),
      onRecords: (records, bytes) => o.onProgress?.({ phase: 'copy', records, bytes, totalBytes }),
      ring: channelKeyring(layout, meta, o.masterKey),
    };
    const channels: ChannelCopy[] = [];
    for (const name of names) {
      const last = await client.query<{ seq: string; hash: string }>(
        'SELECT seq, hash FROM dl_records WHERE channel = $1 ORDER BY seq DESC LIMIT 1',
        [name],
      );
      const row = last.rows[0];
      const resume = row === undefined ? undefined : { seq: Number(row.seq), hash: row.hash };
      const sources = channelSources(layout, book, name);
      channels.push(await copyChannel(ctx, name, sources, resume, counters));
    }
    const keystore = await copyKeystore(client, layout.subjectsFile);
    const finished = await finishImport(client, {
      schema: o.schema,
      staging,
      signer,
      channels,
      latest: new Map(names.map((n) => [n, findLatestCheckpoint(layout, meta, n)])),
      checkpointsFile: layout.checkpointsFile,
      segmentsFile: layout.segmentsFile,
    });
    return { resumed, channels, keystore, finished, bytes: counters.bytes };
  } finally {
    client.release();
  }
}

/** The keys of the encrypted channels, from the directory's keystore (none: undefined). */
function channelKeyring(
  layout: LogLayout,
  meta: LogMeta,
  masterKey: Buffer,
): ChannelKeyring | undefined {
  if (!existsSync(layout.subjectsFile)) return undefined;
  const ks = Keystore.openReadOnly(layout.subjectsFile, masterKey, meta.log_id);
  try {
    return ks.channelKeyring();
  } finally {
    ks.close();
  }
}

function report(
  o: ImportFileLogOptions,
  meta: LogMeta,
  fileVerify: VerifyReport,
  databaseVerify: VerifyReport,
  c: Copied,
  durationsMs: ImportReport['durationsMs'],
): ImportReport {
  const records = c.channels.reduce((n, x) => n + x.inserted, 0);
  return {
    ok: databaseVerify.ok,
    from: fileVerify.dir,
    schema: o.schema,
    logId: meta.log_id,
    publicKey: meta.public_key,
    resumed: c.resumed,
    channels: c.channels.map((x) => ({
      channel: x.channel,
      seq: x.seq,
      records: x.inserted + x.present,
      inserted: x.inserted,
      deleted: x.deleted,
      archives: x.archives,
      unopened: x.unopened,
      signed: c.finished.signed.includes(x.channel),
    })),
    records,
    bytes: c.bytes,
    archives: c.channels.reduce((n, x) => n + x.archives, 0),
    archiveBytes: c.channels.reduce((n, x) => n + x.archiveBytes, 0),
    keystore: c.keystore,
    idempotencyKeys: c.channels.reduce((n, x) => n + x.idempotencyKeys, 0),
    checkpoints: c.finished.checkpoints,
    segmentEntries: c.finished.segmentEntries,
    durationsMs,
    recordsPerSecond: durationsMs.copy > 0 ? Math.round(records / (durationsMs.copy / 1000)) : 0,
    fileVerify,
    databaseVerify,
  };
}
