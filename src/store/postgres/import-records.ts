/**
 * `import`, one channel: its records copied byte for byte from a logs directory (sealed
 * archives, staged segments, the active file, in seq order) into `dl_records`, with the columns
 * a group commit fills, thousands of rows per statement. Every line is checked again on the way
 * (seq, chain hash from the one before, the signed cuts at segment ends), so what is copied is
 * exactly what `verify` passed, even if a file changed since. Archives' bytes go to
 * `dl_archives` under their signed name; a range retention deleted has no rows, its signed cut
 * carries the chain and the tree over it.
 *
 * Resumable: each statement commits on its own, in seq order, so after an interruption the
 * rows present are a prefix of the channel; the next run starts after it (checking that its
 * last row is the file's record of that seq).
 */
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import type pg from 'pg';
import { LogsError } from '../../errors.js';
import { isSealedRecord, openBody, type ChannelKeyring } from '../../crypto/body-cipher.js';
import { ChainHasher, chainGenesis, lineHash } from '../../integrity/chain.js';
import { CompactRange, type MerkleState } from '../../integrity/merkle.js';
import type { Source } from '../file/index.js';
import type { Segment } from '../store.js';
import { columnsOf, NO_COLUMNS, sealedColumnsOf, type Row } from './batch.js';
import type { Partitions } from './partitions.js';

/** What copying a channel needs. */
export interface CopyContext {
  readonly client: pg.ClientBase;
  readonly partitions: Partitions;
  readonly logId: string;
  /** The schema the rows go to (named in messages). */
  readonly staging: string;
  /** Rows per INSERT statement. */
  readonly batchRows: number;
  /** Idempotency keys of records from this time on (ms) are kept for retries. */
  readonly idempotencySince: number;
  /** After each statement: records and bytes of lines read so far (all channels). */
  readonly onRecords: (records: number, bytes: number) => void;
  /** The channel keys, to open the records of encrypted channels (undefined: none). */
  readonly ring: ChannelKeyring | undefined;
}

/** A channel as copied: its head, its tree, and what was done. */
export interface ChannelCopy {
  readonly channel: string;
  readonly seq: number;
  readonly head: string;
  /** Time of the last record ('' when the channel never had one). */
  readonly lastTs: string;
  /** Last seq of the last segment cut (0: none). */
  readonly cut: number;
  readonly tree: MerkleState;
  readonly root: string;
  /** Rows inserted by this run. */
  readonly inserted: number;
  /** Rows an interrupted run had already inserted. */
  readonly present: number;
  /** Records retention deleted (no rows: their tombstones stand in for them). */
  readonly deleted: number;
  readonly archives: number;
  readonly archiveBytes: number;
  readonly idempotencyKeys: number;
  /** Records of an encrypted channel that did not open (no key): stored without columns. */
  readonly unopened: number;
}

interface Idem {
  key: string;
  seq: number;
  hash: string;
  ts: string;
}

/**
 * The columns of `dl_records` a Row fills, with their types. `satisfies` makes a field added to
 * Row (batch.ts) a compile error here until it is copied too.
 */
const COLUMNS = {
  seq: ['seq', 'bigint'],
  ts: ['ts', 'timestamptz'],
  level: ['level', 'text'],
  event: ['event', 'text'],
  actor: ['actor', 'text'],
  sub: ['sub', 'text'],
  requestId: ['request_id', 'text'],
  outcome: ['outcome', 'text'],
  msg: ['msg', 'text'],
  people: ['people', 'text[]'],
  line: ['line', 'text'],
  hash: ['hash', 'text'],
} as const satisfies Record<keyof Row, readonly [string, string]>;
const FIELDS = Object.keys(COLUMNS) as Array<keyof Row>;
const NAMES = FIELDS.map((f) => COLUMNS[f][0]).join(', ');
const INSERT = `INSERT INTO dl_records (channel, ${NAMES})
  SELECT $1, ${NAMES} FROM json_to_recordset($2::json)
    AS x(${FIELDS.map((f) => COLUMNS[f].join(' ')).join(', ')})`;

/**
 * Insert rows of one channel in one statement, sent as one JSON text: about twice as fast as
 * batch.ts' arrays for bulk loads (no array literal to escape and parse per value).
 */
async function insertJson(
  client: pg.ClientBase,
  channel: string,
  rows: readonly Row[],
): Promise<void> {
  const json = JSON.stringify(
    rows.map((r) => Object.fromEntries(FIELDS.map((f) => [COLUMNS[f][0], r[f]]))),
  );
  await client.query(INSERT, [channel, json]);
}

/** The chunks of complete lines of a byte stream; a torn last line (no newline) is left out. */
export async function* lineChunks(stream: AsyncIterable<Buffer>): AsyncGenerator<Buffer[]> {
  let carry: Buffer = Buffer.alloc(0);
  for await (const chunk of stream) {
    const data = carry.length === 0 ? chunk : Buffer.concat([carry, chunk]);
    const lines: Buffer[] = [];
    let start = 0;
    for (let nl = data.indexOf(10); nl !== -1; nl = data.indexOf(10, start)) {
      lines.push(data.subarray(start, nl));
      start = nl + 1;
    }
    carry = data.subarray(start);
    if (lines.length > 0) yield lines;
  }
}

/** Copy one channel, source by source, and return its state. */
export async function copyChannel(
  ctx: CopyContext,
  channel: string,
  sources: readonly Source[],
  resume: { readonly seq: number; readonly hash: string } | undefined,
  counters: { records: number; bytes: number },
): Promise<ChannelCopy> {
  const c = new ChannelCopier(ctx, channel, resume, counters);
  for (const source of sources) await c.source(source);
  return c.finish();
}

class ChannelCopier {
  private readonly hasher = new ChainHasher();
  private readonly range = new CompactRange();
  private head: string;
  private seq = 0;
  private lastTs = '';
  private cut = 0;
  private rows: Row[] = [];
  private idem: Idem[] = [];
  private inflight: Promise<void> = Promise.resolve();
  private inserted = 0;
  private present = 0;
  private deleted = 0;
  private archives = 0;
  private archiveBytes = 0;
  private idempotencyKeys = 0;
  private unopened = 0;

  constructor(
    private readonly ctx: CopyContext,
    private readonly channel: string,
    private readonly resume: { readonly seq: number; readonly hash: string } | undefined,
    private readonly counters: { records: number; bytes: number },
  ) {
    this.head = chainGenesis(ctx.logId, channel);
  }

  async source(source: Source): Promise<void> {
    const seg = source.segment;
    if (seg !== undefined && this.seq !== seg.first - 1)
      throw this.changed(source, `seq ${this.seq + 1} was expected, it starts at ${seg.first}`);
    if (seg !== undefined && this.head !== seg.start)
      throw this.changed(source, 'it does not start from the hash its signed cut names');
    if (source.kind === 'deleted' && seg !== undefined) return this.skip(seg);
    if (source.kind === 'active' && !existsSync(source.file)) return; // never written to
    let stream: AsyncIterable<Buffer>;
    if (source.kind === 'sealed' && seg !== undefined) {
      const data = await this.archive(source, seg);
      stream = Readable.from([data]).pipe(createGunzip());
    } else stream = createReadStream(source.file, { highWaterMark: 1024 * 1024 });
    for await (const lines of lineChunks(stream))
      for (const bytes of lines) {
        this.line(source, bytes);
        if (this.rows.length >= this.ctx.batchRows) await this.flush();
      }
    if (seg !== undefined) {
      if (this.seq !== seg.last || this.head !== seg.head)
        throw this.changed(source, `it does not end at the signed cut (seq ${seg.last})`);
      this.cut = seg.last;
    }
  }

  /** A range retention deleted: the chain and the tree resume from its signed cut. */
  private async skip(seg: Segment): Promise<void> {
    this.range.reset({ size: seg.last, peaks: seg.peaks });
    this.head = seg.head;
    this.seq = seg.last;
    this.lastTs = seg.lastTs;
    this.cut = seg.last;
    this.deleted += seg.last - seg.first + 1;
    if (this.resume !== undefined && this.resume.seq >= seg.first) {
      // Deleted since the interrupted run copied it: its rows go, as the tombstone says.
      await this.flush();
      await this.inflight;
      await this.ctx.client.query(
        'DELETE FROM dl_records WHERE channel = $1 AND seq BETWEEN $2 AND $3',
        [this.channel, seg.first, seg.last],
      );
      if (seg.file !== undefined)
        await this.ctx.client.query('DELETE FROM dl_archives WHERE file = $1', [seg.file]);
    }
  }

  /** An archive's bytes, checked against its seal, stored under its signed name. */
  private async archive(source: Source, seg: Segment): Promise<Buffer> {
    const data = readFileSync(source.file);
    const sha256 = createHash('sha256').update(data).digest('hex');
    if (sha256 !== seg.sha256 || data.length !== seg.size)
      throw this.changed(source, 'it differs from its signed seal');
    await this.ctx.client.query(
      `INSERT INTO dl_archives (file, channel, first, last, data) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (file) DO NOTHING`,
      [seg.file, this.channel, seg.first, seg.last, data],
    );
    this.archives += 1;
    this.archiveBytes += data.length;
    return data;
  }

  private line(source: Source, bytes: Buffer): void {
    const expected = this.seq + 1;
    const stored = lineHash(bytes);
    if (stored === undefined || this.hasher.nextFromLine(this.head, bytes) !== stored)
      throw this.changed(source, `seq ${expected} does not follow from the chain`);
    const text = bytes.toString('utf8');
    const r = JSON.parse(text) as Record<string, unknown>;
    if (r.seq !== expected || typeof r.ts !== 'string' || typeof r.level !== 'string')
      throw this.changed(source, `the record after seq ${this.seq} is not seq ${expected}`);
    this.range.append(stored);
    this.head = stored;
    this.seq = expected;
    this.lastTs = r.ts;
    this.counters.records += 1;
    this.counters.bytes += bytes.length + 1;
    const resume = this.resume;
    const resumed = resume !== undefined && expected <= resume.seq;
    if (resume !== undefined && expected === resume.seq && stored !== resume.hash)
      throw this.changed(source, `an interrupted import stored another record as seq ${expected}`);
    const recent = Date.parse(r.ts) >= this.ctx.idempotencySince;
    // A record of an encrypted channel is opened for what a commit fills in clear.
    const opened = isSealedRecord(r) && (!resumed || recent) ? this.open(r) : undefined;
    const plain = opened ?? r;
    if (recent && typeof plain.idempotency_key === 'string')
      this.idem.push({ key: plain.idempotency_key, seq: expected, hash: stored, ts: r.ts });
    if (resumed) {
      this.present += 1;
      return;
    }
    const columns = !isSealedRecord(r)
      ? columnsOf(r)
      : opened === undefined
        ? { event: '', ...NO_COLUMNS }
        : sealedColumnsOf(opened);
    this.rows.push({
      seq: expected,
      ts: r.ts,
      level: r.level,
      ...columns,
      line: text,
      hash: stored,
    });
  }

  /**
   * An encrypted record's body, opened with the channel keys: its event, outcome, request id and
   * people become columns (GDPR export finds a person's records by them), as batch.ts fills them
   * at commit. One that does not open (no key: a key lost before the move) gets none, counted.
   */
  private open(r: Record<string, unknown>): Record<string, unknown> | undefined {
    const o = openBody(r, this.ctx.ring);
    if (o.ok) return o.record;
    this.unopened += 1;
    return undefined;
  }

  /**
   * Send the rows gathered so far in one statement. One statement runs while the next batch is
   * read and hashed; a failure surfaces at the next flush (or at finish).
   */
  private async flush(): Promise<void> {
    const rows = this.rows;
    const idem = this.idem;
    this.rows = [];
    this.idem = [];
    await this.inflight;
    if (rows.length === 0 && idem.length === 0) return;
    await this.ctx.partitions.ensure(rows.map((r) => r.ts));
    const p = this.insert(rows, idem);
    p.catch(() => undefined); // awaited by the next flush; never an unhandled rejection
    this.inflight = p;
  }

  private async insert(rows: readonly Row[], idem: readonly Idem[]): Promise<void> {
    if (rows.length > 0) await insertJson(this.ctx.client, this.channel, rows);
    if (idem.length > 0) {
      // A retry within the window is answered with the original, as before the move.
      const r = await this.ctx.client.query(
        `INSERT INTO dl_idempotency (channel, key, seq, hash, created)
           SELECT $1, * FROM unnest($2::text[], $3::bigint[], $4::text[], $5::timestamptz[])
         ON CONFLICT (channel, key) DO NOTHING`,
        [
          this.channel,
          idem.map((k) => k.key),
          idem.map((k) => k.seq),
          idem.map((k) => k.hash),
          idem.map((k) => k.ts),
        ],
      );
      this.idempotencyKeys += r.rowCount ?? 0;
    }
    this.inserted += rows.length;
    this.ctx.onRecords(this.counters.records, this.counters.bytes);
  }

  async finish(): Promise<ChannelCopy> {
    await this.flush();
    await this.inflight;
    const { rows } = await this.ctx.client.query<{ n: string }>(
      'SELECT count(*) AS n FROM dl_records WHERE channel = $1',
      [this.channel],
    );
    if ((this.resume?.seq ?? 0) > this.seq || Number(rows[0]?.n) !== this.present + this.inserted)
      throw new LogsError(
        'INTEGRITY_STATE',
        `${this.channel}: the rows of an interrupted import in schema ${this.ctx.staging} do not match the logs directory (${rows[0]?.n ?? 0} rows for ${this.present + this.inserted} records): drop that schema (DROP SCHEMA ${this.ctx.staging} CASCADE) and import again`,
      );
    const tree = this.range.state();
    return {
      channel: this.channel,
      seq: this.seq,
      head: this.head,
      lastTs: this.lastTs,
      cut: this.cut,
      tree,
      root: this.range.root(),
      inserted: this.inserted,
      present: this.present,
      deleted: this.deleted,
      archives: this.archives,
      archiveBytes: this.archiveBytes,
      idempotencyKeys: this.idempotencyKeys,
      unopened: this.unopened,
    };
  }

  private changed(source: Source, why: string): LogsError {
    return new LogsError(
      'INTEGRITY_STATE',
      `${source.rel}: ${why}: the logs directory changed since it was verified, or is damaged; nothing more was imported (run dihya-logs verify --dir)`,
    );
  }
}
