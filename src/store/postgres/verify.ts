/**
 * `verify` against a PostgreSQL store: the checkpoint and segment logs line by line (links,
 * key, signatures), then every channel's rows in seq order against the chain, the checkpoints
 * and the signed cuts, with the same verifiers as the file store. Damage names the channel, the
 * table and the seq: the first bad row. Read-only (one REPEATABLE READ snapshot), safe beside
 * any number of writers.
 */
import type pg from 'pg';
import { keyId, parsePublicKey } from '../../crypto/sign.js';
import { chainGenesis } from '../../integrity/chain.js';
import { ChannelVerifier } from '../../integrity/channel-verifier.js';
import { CheckpointChainVerifier } from '../../integrity/checkpoint-verifier.js';
import type { Checkpoint } from '../../integrity/checkpoint.js';
import type { Damage, Warning } from '../../integrity/damage.js';
import { SegmentLogVerifier } from '../../integrity/segment-verifier.js';
import type { Segment } from '../store.js';
import { SegmentBook } from '../segment-book.js';
import type { ChannelReport, VerifyOptions, VerifyReport } from '../verify-report.js';

const PAGE = 5000;
const RECORDS = 'dl_records';

export interface PgVerifyTarget {
  readonly pool: pg.Pool;
  /** How the store is named in the report (`postgres:<schema>`). */
  readonly name: string;
  readonly logId: string;
  readonly publicKey: string;
  readonly channels: readonly string[];
}

export async function verifyPostgres(
  t: PgVerifyTarget,
  options: Omit<VerifyOptions, 'dir'>,
): Promise<VerifyReport> {
  const started = performance.now();
  const startedMs = Date.now();
  const damage: Damage[] = [];
  const warnings: Warning[] = [...(options.witnessWarnings ?? [])];
  const pinned = options.publicKey?.trim();
  if (pinned === undefined)
    warnings.push({
      kind: 'key_not_pinned',
      detail:
        'pin the public key (integrity.public_key, or --public-key) so a re-signed log is detected',
    });
  else if (pinned !== t.publicKey)
    damage.push({
      kind: 'wrong_key',
      file: 'dl_meta',
      detail: `the log names public key ${t.publicKey}, but the pinned key is ${pinned}`,
    });
  const keyText = pinned ?? t.publicKey;
  const key = parsePublicKey(keyText);
  const kid = keyId(keyText);
  const client = await t.pool.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const seg = new SegmentLogVerifier(t.logId, kid, key, 'dl_segment_log');
    await eachLine(client, 'dl_segment_log', (b, n) => seg.line(b, n));
    if (seg.damage !== undefined) damage.push(seg.damage);
    const book = new SegmentBook(seg.entries);
    const ck = new CheckpointChainVerifier(t.logId, kid, key, 'dl_checkpoints');
    await eachLine(client, 'dl_checkpoints', (b, n) => ck.line(b, n));
    const cks = ck.result();
    if (cks.damage !== undefined) damage.push(cks.damage);
    await checkArchives(client, book, damage);
    const names = options.channels ?? t.channels;
    const channels: ChannelReport[] = [];
    let records = 0;
    let bytes = 0;
    for (const channel of names) {
      const r = await verifyChannel(
        client,
        t.logId,
        channel,
        cks.byChannel.get(channel) ?? [],
        book.segments(channel),
        options,
        startedMs,
      );
      channels.push(r.report);
      records += r.report.records;
      bytes += r.bytes;
      if (r.report.damage !== undefined) damage.push(r.report.damage);
      else if (r.report.unsigned > 0)
        warnings.push({
          kind: 'unsigned_tail',
          channel,
          file: RECORDS,
          detail: `${r.report.unsigned} record(s) after the last checkpoint are chained but not yet signed`,
        });
      options.onProgress?.({ bytes, totalBytes: bytes, records });
    }
    await client.query('COMMIT');
    return {
      ok: damage.length === 0,
      dir: t.name,
      logId: t.logId,
      publicKey: t.publicKey,
      pinned: pinned !== undefined,
      channels,
      checkpoints: {
        count: cks.count,
        ok: cks.damage === undefined,
        ...(cks.damage === undefined ? {} : { damage: cks.damage }),
      },
      damage,
      warnings,
      records,
      bytes,
      durationMs: performance.now() - started,
    };
  } finally {
    await client.query('ROLLBACK').catch(() => undefined);
    client.release();
  }
}

/**
 * Every sealed segment's archive against its signed seal (size and SHA-256, computed by the
 * server: the archives are not sent over); a tombstoned one must be gone.
 */
async function checkArchives(
  client: pg.ClientBase,
  book: SegmentBook,
  damage: Damage[],
): Promise<void> {
  const { rows } = await client.query<{ file: string; size: number; sha256: string }>(
    `SELECT file, octet_length(data) AS size, encode(sha256(data), 'hex') AS sha256 FROM dl_archives`,
  );
  const stored = new Map(rows.map((r) => [r.file, r]));
  for (const channel of book.channels())
    for (const s of book.segments(channel)) {
      if (s.file === undefined) continue;
      const a = stored.get(s.file);
      stored.delete(s.file);
      const at = { channel, file: `dl_archives ${s.file}`, seq: s.first };
      if (s.state === 'sealed' && a === undefined)
        damage.push({
          kind: 'archive_missing',
          ...at,
          detail: `the archive of seq ${s.first}-${s.last} is gone`,
        });
      else if (
        s.state === 'sealed' &&
        a !== undefined &&
        (a.size !== s.size || a.sha256 !== s.sha256)
      )
        damage.push({
          kind: 'archive_altered',
          ...at,
          detail: `the archive of seq ${s.first}-${s.last} differs from its signed seal`,
        });
    }
  for (const file of stored.keys())
    damage.push({
      kind: 'archive_unknown',
      file: `dl_archives ${file}`,
      detail: 'an archive no seal names',
    });
}

/** Each line of a signed log table, in order, numbered from 1. */
async function eachLine(
  client: pg.ClientBase,
  table: 'dl_segment_log' | 'dl_checkpoints',
  onLine: (bytes: Buffer, n: number) => boolean,
): Promise<void> {
  const { rows } = await client.query<{ line: string }>(`SELECT line FROM ${table} ORDER BY n`);
  let n = 0;
  for (const r of rows) if (!onLine(Buffer.from(r.line, 'utf8'), ++n)) return;
}

/** One channel's rows against its chain, checkpoints and segments. */
async function verifyChannel(
  client: pg.ClientBase,
  logId: string,
  channel: string,
  checkpoints: Checkpoint[],
  segments: readonly Segment[],
  options: Omit<VerifyOptions, 'dir'>,
  startedMs: number,
): Promise<{ report: ChannelReport; bytes: number }> {
  const v = new ChannelVerifier(
    channel,
    RECORDS,
    chainGenesis(logId, channel),
    checkpoints,
    options.deep === true,
    startedMs,
    (options.witnessed ?? []).filter((w) => w.channel === channel),
  );
  const deleted = segments.filter((s) => s.state === 'deleted');
  const cuts = segments.filter((s) => s.state !== 'deleted');
  let checked = 0;
  let bytes = 0;
  let after = 0;
  let found: Damage | undefined;
  outer: for (;;) {
    const { rows } = await client.query<{ seq: string; line: string }>(
      `SELECT seq, line FROM ${RECORDS} WHERE channel = $1 AND seq > $2 ORDER BY seq, ts LIMIT $3`,
      [channel, after, PAGE],
    );
    for (const r of rows) {
      const seq = Number(r.seq);
      // A range removed on purpose: the chain resumes from its signed last hash.
      const gone = deleted.find((s) => s.first === v.records + 1 && seq > s.last);
      if (gone !== undefined) v.skipTo(gone.last, gone.head, gone.peaks);
      const bytesOf = Buffer.from(r.line, 'utf8');
      bytes += bytesOf.length + 1;
      if (!v.line(bytesOf, seq)) break outer;
      checked += 1;
      const cut = cuts.find((s) => s.last === seq);
      if (cut !== undefined && cut.head !== v.chainHead) {
        found = v.report(
          'segment_mismatch',
          seq,
          seq,
          `the records of segment ${cut.first}-${cut.last} end with another hash than its signed cut`,
        );
        break outer;
      }
      after = seq;
    }
    if (rows.length < PAGE) break;
  }
  const tail = deleted.find((s) => s.first === v.records + 1);
  if (found === undefined && v.damage === undefined && tail !== undefined)
    v.skipTo(tail.last, tail.head, tail.peaks);
  const d = found ?? v.damage ?? v.end(v.records);
  return {
    report: {
      channel,
      file: RECORDS,
      records: checked,
      checkpoints: v.matchedCheckpoints,
      unsigned: v.unsigned,
      ok: d === undefined,
      ...(d === undefined ? {} : { damage: d }),
    },
    bytes,
  };
}
