import { existsSync, statSync } from 'node:fs';
import Database from 'better-sqlite3';
import { LogsError } from '../errors.js';
import type { LogLayout } from '../store/file/index.js';
import { ensureDir, writeFileDurable } from '../util/fs.js';
import { indexFile, openChecked, removeIndexFiles } from './connect.js';
import { CHANNEL_LIMIT, INDEXES, recordId } from './schema.js';
import type { ChannelState, IndexRow, Position, RecreateReason, SegmentRow } from './types.js';
import { RowWriter } from './writer.js';
import type { BlockRoots } from './leaves.js';

export type { ChannelState, IndexRow, Position, RecreateReason, SegmentRow } from './types.js';
export { indexFile, isCorruption, isMoved } from './connect.js';

export interface OpenIndexOptions {
  /** How long to wait for another process's write transaction (default 30 s). */
  readonly busyTimeoutMs?: number;
}

/**
 * The query index, `.index/index.db` (SQLite, WAL). Opening never trusts what it finds: a
 * database of another schema version, of another log, or that SQLite cannot read is deleted and
 * created again (`recreated` says why); the indexer then rebuilds it from the log files.
 *
 * Several processes may open it: SQLite serializes their writes (busy timeout), and each batch
 * commits only if its channel is still where the batch started (`commit`), so two indexers
 * never insert a record twice.
 */
export class IndexDb {
  readonly file: string;
  private conn: Database.Database | undefined;
  private statements: Statements | undefined;
  private writer: RowWriter | undefined;
  private reason: RecreateReason | undefined;
  private inode = 0;

  private constructor(
    private readonly layout: LogLayout,
    /** The log this index is of. */
    readonly logId: string,
    private readonly busyTimeoutMs: number,
  ) {
    this.file = indexFile(layout);
  }

  /** Open the index of a logs directory, creating or recreating it as needed. */
  static open(layout: LogLayout, logId: string, options: OpenIndexOptions = {}): IndexDb {
    const db = new IndexDb(layout, logId, options.busyTimeoutMs ?? 30_000);
    ensureDir(layout.indexDir);
    const existed = existsSync(db.file);
    const problem = existed ? db.connect() : db.connectFresh();
    if (problem !== undefined) db.recreate(problem);
    else if (!existed) db.reason = 'missing';
    return db;
  }

  /** Delete the index files (the database, its WAL and shared-memory files). */
  static remove(layout: LogLayout): void {
    removeIndexFiles(layout);
  }

  /** Set when this index was created from nothing since it was opened: why. */
  get recreated(): RecreateReason | undefined {
    return this.reason;
  }

  /** `recreated`, once: a catch-up reports a rebuild it did, not one an earlier run did. */
  takeRecreated(): RecreateReason | undefined {
    const reason = this.reason;
    this.reason = undefined;
    return reason;
  }

  /** The SQLite connection, for queries. */
  get connection(): Database.Database {
    if (this.conn === undefined) throw new LogsError('INTERNAL', 'the index is closed');
    return this.conn;
  }

  private get stmts(): Statements {
    if (this.statements === undefined) throw new LogsError('INTERNAL', 'the index is closed');
    return this.statements;
  }

  /** Close, delete the files and start from an empty index. */
  recreate(reason: RecreateReason): void {
    this.close();
    IndexDb.remove(this.layout);
    const problem = this.connectFresh();
    if (problem !== undefined) {
      throw new LogsError('IO_ERROR', `cannot create the index ${this.file} (${problem})`);
    }
    this.reason = reason;
  }

  /**
   * Open the file again: another process recreated it under this connection (SQLite then
   * refuses to write through the old one, SQLITE_READONLY_DBMOVED).
   */
  reopen(): void {
    this.close();
    const problem = existsSync(this.file) ? this.connect() : this.connectFresh();
    if (problem !== undefined) this.recreate(problem);
  }

  /**
   * Whether the file at the index's path is no longer the one this connection writes to:
   * another process rebuilt the index. SQLite keeps writing to the deleted file in WAL mode,
   * so a catch-up checks this before it reports success.
   */
  moved(): boolean {
    return fileMoved(this.file, this.inode);
  }

  close(): void {
    if (this.conn?.open === true) this.conn.close();
    this.conn = undefined;
    this.statements = undefined;
    this.writer = undefined;
  }

  /** Every channel's state, in channel number order. */
  states(): ChannelState[] {
    return this.stmts.states.all().map(toState);
  }

  state(channel: string): ChannelState | undefined {
    const row = this.stmts.state.get(channel);
    return row === undefined ? undefined : toState(row);
  }

  /** The channel's state, giving it a number on first sight. */
  channel(channel: string): ChannelState {
    const known = this.state(channel);
    if (known !== undefined) return known;
    this.connection
      .transaction(() => {
        if (this.stmts.state.get(channel) !== undefined) return; // another process was first
        const next = (this.stmts.maxChannelNo.get()?.n ?? 0) + 1;
        if (next >= CHANNEL_LIMIT) {
          throw new LogsError('INTERNAL', `the index holds at most ${CHANNEL_LIMIT - 1} channels`);
        }
        this.stmts.addChannel.run(channel, next);
      })
      .immediate();
    return this.state(channel) as ChannelState;
  }

  /** Number of records indexed (all channels). Reads the whole table: for tests and tools. */
  count(): number {
    return this.stmts.count.get()?.n ?? 0;
  }

  isEmpty(): boolean {
    return this.stmts.any.get() === undefined;
  }

  /** Let SQLite refresh its query planner statistics where they are stale (cheap). */
  optimize(): void {
    this.connection.pragma('optimize');
  }

  /**
   * Record a channel's segments as the segment log lists them now, and drop the rows of
   * segments deleted by retention since the last catch-up. Returns how many rows were dropped.
   */
  syncSegments(state: ChannelState, segments: readonly SegmentRow[]): number {
    let dropped = 0;
    this.connection
      .transaction(() => {
        const before = new Map(
          this.stmts.segments.all(state.channel).map((s) => [s.first, s.kind] as const),
        );
        for (const s of segments) {
          if (s.kind !== 'deleted' || before.get(s.first) === 'deleted' || s.last === undefined)
            continue;
          const lo = recordId(state.channelNo, s.first);
          const hi = recordId(state.channelNo, s.last);
          // One delete per row: a rowid range on a contentless FTS table scans it all.
          for (;;) {
            const ids = this.stmts.idsInRange.all(lo, hi);
            for (const { id } of ids) this.stmts.deleteText.run(id);
            const last = ids[ids.length - 1];
            if (last === undefined) break;
            dropped += this.stmts.deleteRange.run(lo, last.id).changes;
          }
        }
        this.stmts.clearSegments.run(state.channel);
        for (const s of segments) {
          this.stmts.addSegment.run(state.channel, s.first, s.last ?? null, s.kind, s.file);
        }
      })
      .immediate();
    return dropped;
  }

  /**
   * Insert a batch of a channel's records and their Merkle leaves, and move its state to `to`,
   * in one transaction, if the channel is still indexed up to `fromSeq`. Returns false (and
   * changes nothing) when another process indexed it meanwhile. `roots`: the roots of blocks
   * of leaves the batch completes, when the scan computed them.
   */
  commit(
    state: ChannelState,
    fromSeq: number,
    rows: readonly IndexRow[],
    to: Position,
    roots: BlockRoots = [],
  ): boolean {
    if (this.writer === undefined) throw new LogsError('INTERNAL', 'the index is closed');
    return this.writer.commit(state, fromSeq, rows, to, roots);
  }

  /** Pseudonyms of erased people, whose records are left out of what is indexed from now on. */
  setErased(pseudonyms: ReadonlySet<string>): void {
    if (this.writer !== undefined) this.writer.erased = pseudonyms;
  }

  /** Whether every secondary index exists. */
  hasIndexes(): boolean {
    const names = new Set(this.stmts.indexNames.all().map((r) => r.name));
    return Object.keys(INDEXES).every((n) => names.has(n));
  }

  /** Drop the secondary indexes before loading many rows (ensureIndexes puts them back). */
  dropIndexes(): void {
    for (const name of Object.keys(INDEXES)) this.connection.exec(`DROP INDEX IF EXISTS ${name}`);
  }

  /** Create the secondary indexes that are missing. */
  ensureIndexes(): void {
    for (const [name, on] of Object.entries(INDEXES)) {
      this.connection.exec(`CREATE INDEX IF NOT EXISTS ${name} ON ${on}`);
    }
  }

  /**
   * Where a record lives: its segment's kind and file (relative to the logs directory) and the
   * byte offset of its line in the segment's uncompressed bytes.
   */
  locate(
    channel: string,
    seq: number,
  ): { kind: SegmentRow['kind']; file: string; offset: number } | undefined {
    const state = this.state(channel);
    if (state === undefined) return undefined;
    const row = this.stmts.offset.get(recordId(state.channelNo, seq));
    const seg = this.stmts.segmentOf.get(channel, seq);
    if (row === undefined || seg === undefined) return undefined;
    return { kind: seg.kind as SegmentRow['kind'], file: seg.file, offset: row.line_offset };
  }

  /** SQLite's own consistency check (reads every page: seconds on a large index). */
  quickCheck(): boolean {
    const rows = this.connection.pragma('quick_check') as Array<{ quick_check: string }>;
    return rows.length === 1 && rows[0]?.quick_check === 'ok';
  }

  /** Open a new, empty file and create the schema. Returns a problem, or undefined. */
  private connectFresh(): RecreateReason | undefined {
    try {
      writeFileDurable(this.file, '', { exclusive: true }); // 0600, whatever the umask
    } catch (err) {
      // Another process created it first: SQLite serializes what follows.
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    return this.connect();
  }

  /** Open the file and check it. Returns a problem, or undefined when it can be used. */
  private connect(): RecreateReason | undefined {
    for (let attempt = 0; ; attempt++) {
      let opened: ReturnType<typeof openChecked>;
      try {
        opened = openChecked(this.file, this.logId, this.busyTimeoutMs);
      } catch (err) {
        // The file may have been replaced while it was being opened (a rebuild beside us):
        // SQLite's errors then vary. An error that is not that one comes back on the retry.
        if (attempt < 3 && err instanceof Database.SqliteError) continue;
        throw err;
      }
      if (typeof opened === 'string') return opened;
      try {
        this.statements = prepare(opened.conn);
        this.writer = new RowWriter(opened.conn);
      } catch (err) {
        opened.conn.close();
        // Another process rebuilt the index between our open and our first statements: the
        // file we opened is gone; open the new one.
        if (attempt < 3 && fileMoved(this.file, opened.inode)) continue;
        throw err;
      }
      this.conn = opened.conn;
      this.inode = opened.inode;
      return undefined;
    }
  }
}

function fileMoved(file: string, inode: number): boolean {
  try {
    return statSync(file).ino !== inode;
  } catch {
    return true;
  }
}

interface StateRow {
  channel: string;
  channel_no: number;
  indexed_seq: number;
  last_hash: Buffer | null;
  seg_first: number | null;
  last_offset: number | null;
  next_offset: number | null;
}

function toState(r: StateRow): ChannelState {
  return {
    channel: r.channel,
    channelNo: r.channel_no,
    indexedSeq: r.indexed_seq,
    lastHash: r.last_hash ?? undefined,
    segFirst: r.seg_first ?? undefined,
    lastOffset: r.last_offset ?? undefined,
    nextOffset: r.next_offset ?? undefined,
  };
}

type Statements = ReturnType<typeof prepare>;

function prepare(db: Database.Database) {
  return {
    states: db.prepare<[], StateRow>('SELECT * FROM state ORDER BY channel_no'),
    state: db.prepare<[string], StateRow>('SELECT * FROM state WHERE channel = ?'),
    maxChannelNo: db.prepare<[], { n: number | null }>('SELECT max(channel_no) AS n FROM state'),
    addChannel: db.prepare<[string, number]>(
      'INSERT INTO state (channel, channel_no) VALUES (?, ?)',
    ),
    count: db.prepare<[], { n: number }>('SELECT count(*) AS n FROM records'),
    any: db.prepare<[], { one: number }>('SELECT 1 AS one FROM records LIMIT 1'),
    segments: db.prepare<[string], { first: number; kind: string }>(
      'SELECT first, kind FROM segments WHERE channel = ?',
    ),
    clearSegments: db.prepare<[string]>('DELETE FROM segments WHERE channel = ?'),
    addSegment: db.prepare<[string, number, number | null, string, string]>(
      'INSERT INTO segments (channel, first, last, kind, file) VALUES (?, ?, ?, ?, ?)',
    ),
    segmentOf: db.prepare<[string, number], { kind: string; file: string }>(
      'SELECT kind, file FROM segments WHERE channel = ? AND first <= ? ORDER BY first DESC LIMIT 1',
    ),
    idsInRange: db.prepare<[number, number], { id: number }>(
      'SELECT id FROM records WHERE id BETWEEN ? AND ? ORDER BY id LIMIT 10000',
    ),
    deleteRange: db.prepare<[number, number]>('DELETE FROM records WHERE id BETWEEN ? AND ?'),
    deleteText: db.prepare<[number]>('DELETE FROM msg_fts WHERE rowid = ?'),
    offset: db.prepare<[number], { line_offset: number }>(
      'SELECT line_offset FROM records WHERE id = ?',
    ),
    indexNames: db.prepare<[], { name: string }>(
      "SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'records'",
    ),
  };
}
