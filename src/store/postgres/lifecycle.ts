/**
 * Segments on PostgreSQL, signed in the same segment log format as the file store: a cut marks
 * a range of a channel's records (rows stay where they are), a seal writes them as a gzip
 * archive in the file store's format into `dl_archives` (so they outlive the partition and can
 * be exported as files), a tombstone deletes the range's rows and archive, on purpose, under
 * signature; a legal hold refuses tombstones.
 */
import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type pg from 'pg';
import { LogsError } from '../../errors.js';
import { chainGenesis } from '../../integrity/chain.js';
import { CompactRange } from '../../integrity/merkle.js';
import type { SegmentEntry } from '../../integrity/segment.js';
import type { RotationResult, SealResult, Segment } from '../store.js';
import { SegmentBook } from '../segment-book.js';
import { inTransaction } from './pool.js';
import { appendSegmentEntry, SEGMENT_LOCK, type Signer } from './signed-logs.js';

/** A timestamptz as the records write it: ISO 8601, UTC, milliseconds. */
const ISO = `'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'`;

/** The segment log as a book (every entry, in order). */
export async function readBook(pool: pg.Pool | pg.ClientBase): Promise<SegmentBook> {
  const { rows } = await pool.query<{ line: string }>('SELECT line FROM dl_segment_log ORDER BY n');
  return new SegmentBook(rows.map((r) => JSON.parse(r.line) as SegmentEntry));
}

/**
 * Cut the records of `channel` since its last cut into a segment (and, when `before` is given,
 * only if the oldest of them is older). The head row is locked: no record is added meanwhile.
 */
export async function cutChannel(
  pool: pg.Pool,
  signer: Signer,
  channel: string,
  before: string | undefined,
): Promise<RotationResult> {
  return inTransaction(pool, async (client) => {
    const h = await client.query<{ seq: string; hash: string; cut: string }>(
      'SELECT seq, hash, cut FROM dl_heads WHERE channel = $1 FOR UPDATE',
      [channel],
    );
    const head = h.rows[0];
    const first = Number(head?.cut ?? 0) + 1;
    const last = Number(head?.seq ?? 0);
    if (head === undefined || last < first) return { channel, rotated: false };
    const span = await client.query<{ first_ts: string; last_ts: string; bytes: string }>(
      `SELECT to_char(min(ts) AT TIME ZONE 'UTC', ${ISO}) AS first_ts,
              to_char(max(ts) AT TIME ZONE 'UTC', ${ISO}) AS last_ts,
              sum(octet_length(line) + 1) AS bytes
         FROM dl_records WHERE channel = $1 AND seq BETWEEN $2 AND $3`,
      [channel, first, last],
    );
    const s = span.rows[0];
    if (before !== undefined && (s?.first_ts ?? '') >= before) return { channel, rotated: false };
    const start = await hashBefore(client, signer.logId, channel, first);
    await appendSegmentEntry(client, signer, {
      kind: 'cut',
      channel,
      first,
      last,
      start,
      head: head.hash,
      peaks: await peaksAt(client, channel, last),
      first_ts: s?.first_ts ?? '',
      last_ts: s?.last_ts ?? '',
      bytes: Number(s?.bytes ?? 0),
      reason: before === undefined ? 'manual' : 'day',
    });
    await client.query('UPDATE dl_heads SET cut = $2 WHERE channel = $1', [channel, last]);
    return { channel, rotated: true, first, last };
  });
}

/** The chain hash before seq `first`: the record before it, or the last cut, or the genesis. */
async function hashBefore(
  client: pg.ClientBase,
  logId: string,
  channel: string,
  first: number,
): Promise<string> {
  if (first === 1) return chainGenesis(logId, channel);
  const r = await client.query<{ hash: string }>(
    'SELECT hash FROM dl_records WHERE channel = $1 AND seq = $2',
    [channel, first - 1],
  );
  if (r.rows[0] !== undefined) return r.rows[0].hash;
  const book = await readBook(client);
  const prior = book.segments(channel).find((x) => x.last === first - 1);
  if (prior === undefined)
    throw new LogsError(
      'INTEGRITY_STATE',
      `${channel}: seq ${first - 1} is neither stored nor cut`,
    );
  return prior.head;
}

/** The Merkle tree's peaks after `last` records: the stored tree, plus the leaves after it. */
async function peaksAt(client: pg.ClientBase, channel: string, last: number): Promise<string[]> {
  const t = await client.query<{ size: string; peaks: string[] }>(
    'SELECT size, peaks FROM dl_trees WHERE channel = $1',
    [channel],
  );
  const tree = t.rows[0];
  const size = Number(tree?.size ?? 0);
  if (tree === undefined || size > last)
    throw new LogsError('INTERNAL', `${channel}: the tree is past the cut at ${last}`);
  const range = new CompactRange({ size, peaks: tree.peaks });
  const leaves = await client.query<{ hash: string }>(
    'SELECT hash FROM dl_records WHERE channel = $1 AND seq > $2 AND seq <= $3 ORDER BY seq',
    [channel, size, last],
  );
  for (const r of leaves.rows) range.append(r.hash);
  return [...range.state().peaks];
}

/** Seal a cut segment: its records as a gzip archive in `dl_archives`, and a signed seal. */
export async function sealSegment(
  pool: pg.Pool,
  signer: Signer,
  s: Segment,
  level: number,
): Promise<SealResult | undefined> {
  const started = performance.now();
  return inTransaction(pool, async (client) => {
    // Another instance may be sealing it too: under the segment log's lock, only if still cut.
    await client.query('SELECT pg_advisory_xact_lock(hashtext(current_schema()), $1)', [
      SEGMENT_LOCK,
    ]);
    const now = (await readBook(client)).segments(s.channel).find((x) => x.first === s.first);
    if (now?.state !== 'staging') return undefined;
    const { rows } = await client.query<{ line: string }>(
      'SELECT line FROM dl_records WHERE channel = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq',
      [s.channel, s.first, s.last],
    );
    if (rows.length !== s.last - s.first + 1)
      throw new LogsError(
        'INTEGRITY_STATE',
        `${s.channel}: segment ${s.first}-${s.last} holds ${rows.length} records (run dihya-logs verify)`,
      );
    const text = Buffer.from(rows.map((r) => `${r.line}\n`).join(''), 'utf8');
    const data = gzipSync(text, { level });
    const file = `archive/${s.firstTs.slice(0, 4)}/${s.firstTs.slice(5, 7)}/${s.channel}-${s.first}-${s.last}.log.gz`;
    const sha256 = createHash('sha256').update(data).digest('hex');
    await client.query(
      'INSERT INTO dl_archives (file, channel, first, last, data) VALUES ($1, $2, $3, $4, $5)',
      [file, s.channel, s.first, s.last, data],
    );
    await appendSegmentEntry(client, signer, {
      kind: 'seal',
      channel: s.channel,
      first: s.first,
      last: s.last,
      start: s.start,
      head: s.head,
      file,
      codec: 'gzip',
      size: data.length,
      sha256,
    });
    return {
      channel: s.channel,
      first: s.first,
      last: s.last,
      file,
      bytes: text.length,
      size: data.length,
      durationMs: performance.now() - started,
    };
  });
}

/** Delete a sealed segment's records and archive under a signed tombstone. */
export async function tombstoneSegment(
  pool: pg.Pool,
  signer: Signer,
  s: Segment,
  reason: string,
): Promise<{ file: string; size: number }> {
  return inTransaction(pool, async (client) => {
    const book = await readBook(client);
    if (book.hold(s.channel) !== undefined)
      throw new LogsError(
        'RETENTION_HOLD',
        `${s.channel} is under a legal hold: nothing is deleted`,
      );
    await client.query('DELETE FROM dl_records WHERE channel = $1 AND seq BETWEEN $2 AND $3', [
      s.channel,
      s.first,
      s.last,
    ]);
    await client.query('DELETE FROM dl_archives WHERE file = $1', [s.file]);
    await appendSegmentEntry(client, signer, {
      kind: 'tombstone',
      channel: s.channel,
      first: s.first,
      last: s.last,
      start: s.start,
      head: s.head,
      file: s.file as string,
      sha256: s.sha256 as string,
      reason,
    });
    return { file: s.file as string, size: s.size as number };
  });
}

/** Sign a legal hold set or cleared. */
export async function signHold(
  pool: pg.Pool,
  signer: Signer,
  channel: string,
  set: boolean,
  reason: string,
): Promise<void> {
  await inTransaction(pool, (client) =>
    appendSegmentEntry(client, signer, { kind: 'hold', channel, set, reason }),
  );
}
