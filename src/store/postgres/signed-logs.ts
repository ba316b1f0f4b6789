/**
 * The two signed logs of a PostgreSQL store, as tables of lines in the file store's formats:
 * `dl_checkpoints` (every channel's signed checkpoints, one chain) and `dl_segment_log` (cuts,
 * seals, tombstones and holds, one chain). Each line links to the one before by its SHA-256, so
 * a removed, inserted or reordered row breaks the chain where `verify` names it. Appends run
 * inside the caller's transaction under a transaction-level advisory lock: two instances never
 * link two lines to the same predecessor.
 */
import type { KeyObject } from 'node:crypto';
import type pg from 'pg';
import { sha256Hex } from '../../crypto/hash.js';
import {
  checkpointGenesis,
  checkpointLinkHash,
  encodeCheckpoint,
  parseCheckpoint,
  signCheckpoint,
  type Checkpoint,
  type CheckpointBody,
} from '../../integrity/checkpoint.js';
import {
  encodeSegmentEntry,
  segmentGenesis,
  signSegmentEntry,
  type SegmentEntry,
  type SegmentEntryBody,
} from '../../integrity/segment.js';

export const CHECKPOINT_LOCK = 0x646c_636b; // 'dlck'
export const SEGMENT_LOCK = 0x646c_7367; // 'dlsg'

/**
 * The size of a checkpoint line as `dl_checkpoints_size` indexes it (schema.ts): the same
 * expression, or the index is not used.
 */
export const CHECKPOINT_SIZE = `substring(line from '"size":([0-9]{1,16})[,}]')::bigint`;

/** What signs: the log's identity and its private key. */
export interface Signer {
  readonly logId: string;
  readonly kid: string;
  readonly privateKey: KeyObject;
}

/**
 * Sign and append checkpoints (one per body, `prev` and `kid` filled in here), in the caller's
 * transaction. Returns them as signed.
 */
export async function appendCheckpoints(
  client: pg.ClientBase,
  signer: Signer,
  bodies: ReadonlyArray<Omit<CheckpointBody, 'prev' | 'kid' | 'v' | 'log_id'>>,
): Promise<Checkpoint[]> {
  if (bodies.length === 0) return [];
  await client.query('SELECT pg_advisory_xact_lock(hashtext(current_schema()), $1)', [
    CHECKPOINT_LOCK,
  ]);
  const last = await client.query<{ n: string; line: string }>(
    'SELECT n, line FROM dl_checkpoints ORDER BY n DESC LIMIT 1',
  );
  let n = Number(last.rows[0]?.n ?? 0);
  let prev =
    last.rows[0] === undefined
      ? checkpointGenesis(signer.logId)
      : checkpointLinkHash(last.rows[0].line);
  const out: Checkpoint[] = [];
  const rows: Array<{ n: number; channel: string; line: string }> = [];
  for (const b of bodies) {
    const cp = signCheckpoint(
      { v: 1, log_id: signer.logId, ...b, prev, kid: signer.kid },
      signer.privateKey,
    );
    const line = encodeCheckpoint(cp);
    prev = checkpointLinkHash(line);
    n += 1;
    rows.push({ n, channel: cp.channel, line });
    out.push(cp);
  }
  await client.query(
    `INSERT INTO dl_checkpoints (n, channel, line)
       SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[])`,
    [rows.map((r) => r.n), rows.map((r) => r.channel), rows.map((r) => r.line)],
  );
  return out;
}

/** Sign and append one segment log entry (`prev`, `kid`, `ts` filled in), in the caller's transaction. */
export async function appendSegmentEntry(
  client: pg.ClientBase,
  signer: Signer,
  body: DistributiveOmit<SegmentEntryBody, 'prev' | 'kid' | 'v' | 'log_id' | 'ts'>,
): Promise<SegmentEntry> {
  await client.query('SELECT pg_advisory_xact_lock(hashtext(current_schema()), $1)', [
    SEGMENT_LOCK,
  ]);
  const last = await client.query<{ n: string; line: string }>(
    'SELECT n, line FROM dl_segment_log ORDER BY n DESC LIMIT 1',
  );
  const prev =
    last.rows[0] === undefined ? segmentGenesis(signer.logId) : sha256Hex(last.rows[0].line);
  const entry = signSegmentEntry(
    {
      v: 1,
      log_id: signer.logId,
      ts: new Date().toISOString(),
      prev,
      kid: signer.kid,
      ...body,
    },
    signer.privateKey,
  );
  const line = encodeSegmentEntry(entry);
  await client.query('INSERT INTO dl_segment_log (n, channel, line) VALUES ($1, $2, $3)', [
    Number(last.rows[0]?.n ?? 0) + 1,
    entry.channel,
    line,
  ]);
  return entry;
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/**
 * The latest signed checkpoint of each channel, by channel name (a checkpoint line that does
 * not parse is left out: `verify` names it).
 */
export async function latestCheckpoints(
  db: pg.ClientBase | pg.Pool,
  logId: string,
): Promise<Checkpoint[]> {
  const { rows } = await db.query<{ line: string }>(
    `SELECT DISTINCT ON (channel) line FROM dl_checkpoints ORDER BY channel, n DESC`,
  );
  const out: Checkpoint[] = [];
  for (const { line } of rows) {
    try {
      const cp = parseCheckpoint(line);
      if (cp.log_id === logId) out.push(cp);
    } catch {
      // unreadable: verify's business
    }
  }
  return out.sort((a, b) => a.channel.localeCompare(b.channel));
}
