import type Database from 'better-sqlite3';
import { LogsError } from '../errors.js';
import { RESERVED_EVENT_PREFIX } from '../event/record.js';
import type { ChannelState, IndexRow, Position } from './types.js';
import { recordId, SEQ_LIMIT } from './schema.js';
import { LeafWriter, type BlockRoots } from './leaves.js';

// Rows per INSERT statement: one call into SQLite for many rows costs less than one per row.
const CHUNK = 32;
const COLUMNS = 13;
const REF_CACHE_MAX = 200_000;

type Value = number | string | Buffer | null;

/**
 * Writes batches of rows into the index: prepared multi-row INSERTs, string ids from `refs`
 * (cached), the channel's Merkle leaves and its new position, all in one transaction.
 */
export class RowWriter {
  private readonly refCache = new Map<string, number>();
  /** Event type ids known to be in `event_types`. */
  private readonly eventTypes = new Set<number>();
  private readonly insertOne: Database.Statement<[Value[]]>;
  private readonly insertMany: Database.Statement<[Value[]]>;
  private readonly textOne: Database.Statement<[Value[]]>;
  private readonly textMany: Database.Statement<[Value[]]>;
  private readonly indexedSeq: Database.Statement<[string], { indexed_seq: number }>;
  private readonly setState: Database.Statement<
    [number, Buffer, number, number | null, number | null, string]
  >;
  private readonly refId: Database.Statement<[string], { id: number }>;
  private readonly addRef: Database.Statement<[string]>;
  private readonly addEventType: Database.Statement<[number]>;
  private readonly values: Value[] = new Array<Value>(CHUNK * COLUMNS).fill(null);
  private readonly texts: Value[] = new Array<Value>(CHUNK * 2).fill(null);
  private readonly leaves: LeafWriter;

  /** Pseudonyms of erased people: their records stay out of the index (but gdpr.* events). */
  erased: ReadonlySet<string> = new Set();

  constructor(private readonly db: Database.Database) {
    const row = `(${new Array(COLUMNS).fill('?').join(', ')})`;
    this.insertOne = db.prepare<[Value[]]>(`INSERT INTO records VALUES ${row}`);
    this.insertMany = db.prepare<[Value[]]>(
      `INSERT INTO records VALUES ${new Array(CHUNK).fill(row).join(', ')}`,
    );
    this.textOne = db.prepare<[Value[]]>('INSERT INTO msg_fts (rowid, msg) VALUES (?, ?)');
    this.textMany = db.prepare<[Value[]]>(
      `INSERT INTO msg_fts (rowid, msg) VALUES ${new Array(CHUNK).fill('(?, ?)').join(', ')}`,
    );
    this.indexedSeq = db.prepare('SELECT indexed_seq FROM state WHERE channel = ?');
    this.setState = db.prepare<[number, Buffer, number, number | null, number | null, string]>(
      'UPDATE state SET indexed_seq = ?, last_hash = ?, seg_first = ?, last_offset = ?, next_offset = ? WHERE channel = ?',
    );
    this.refId = db.prepare('SELECT id FROM refs WHERE text = ?');
    this.addRef = db.prepare('INSERT INTO refs (text) VALUES (?)');
    this.addEventType = db.prepare('INSERT OR IGNORE INTO event_types (event) VALUES (?)');
    this.leaves = new LeafWriter(db);
  }

  /**
   * Insert a batch of a channel's records and move its state to `to`, in one transaction, if
   * the channel is still indexed up to `fromSeq`. Returns false (and changes nothing) when
   * another process indexed it meanwhile.
   */
  commit(
    state: ChannelState,
    fromSeq: number,
    rows: readonly IndexRow[],
    to: Position,
    roots: BlockRoots = [],
  ): boolean {
    try {
      return this.db
        .transaction(() => {
          if (this.indexedSeq.get(state.channel)?.indexed_seq !== fromSeq) return false;
          // Every row is a leaf, the erased people's too, which insert() leaves out.
          this.leaves.append(state.channelNo, rows, roots);
          this.insert(state, rows);
          this.setState.run(
            to.indexedSeq,
            to.lastHash,
            to.segFirst,
            to.lastOffset ?? null,
            to.nextOffset ?? null,
            state.channel,
          );
          return true;
        })
        .immediate();
    } catch (err) {
      // The transaction rolled back: ids cached meanwhile may name refs that no longer exist.
      this.refCache.clear();
      this.eventTypes.clear();
      throw err;
    }
  }

  private insert(state: ChannelState, rows: readonly IndexRow[]): void {
    const v = this.values;
    const t = this.texts;
    const no = state.channelNo;
    let n = 0; // rows in v
    let m = 0; // texts in t
    for (const r of rows) {
      if (this.erased.size > 0 && this.isErased(r)) continue;
      if (r.seq >= SEQ_LIMIT) {
        throw new LogsError(
          'INTERNAL',
          `${state.channel}: seq ${r.seq} is beyond the index's limit`,
        );
      }
      const id = recordId(no, r.seq);
      const sub = r.sub === undefined ? null : this.ref(r.sub);
      const o = n * COLUMNS;
      v[o] = id;
      v[o + 1] = no;
      v[o + 2] = r.seq;
      v[o + 3] = r.tsMs;
      v[o + 4] = r.levelRank;
      const event = this.ref(r.event);
      if (!this.eventTypes.has(event)) {
        this.addEventType.run(event);
        this.eventTypes.add(event);
      }
      v[o + 5] = event;
      v[o + 6] = r.outcome ?? null;
      v[o + 7] = sub;
      v[o + 8] = r.requestId ?? null;
      // The actor is most often the subject: one lookup for both.
      v[o + 9] =
        r.actorRef === undefined ? null : r.actorRef === r.sub ? sub : this.ref(r.actorRef);
      v[o + 10] = r.targetRef === undefined ? null : this.ref(r.targetRef);
      v[o + 11] = r.lineOffset;
      v[o + 12] = r.hash;
      if (++n === CHUNK) {
        this.insertMany.run(v);
        n = 0;
      }
      if (r.msg !== undefined && r.msg !== '') {
        t[m * 2] = id;
        t[m * 2 + 1] = r.msg;
        if (++m === CHUNK) {
          this.textMany.run(t);
          m = 0;
        }
      }
    }
    for (let i = 0; i < n; i++) this.insertOne.run(v.slice(i * COLUMNS, (i + 1) * COLUMNS));
    for (let i = 0; i < m; i++) this.textOne.run(t.slice(i * 2, i * 2 + 2));
  }

  private isErased(r: IndexRow): boolean {
    if (r.event.startsWith(RESERVED_EVENT_PREFIX)) return false;
    const target = r.targetRef?.slice(r.targetRef.indexOf(':') + 1);
    return (
      (r.sub !== undefined && this.erased.has(r.sub)) ||
      (r.actorRef !== undefined && this.erased.has(r.actorRef)) ||
      (target !== undefined && this.erased.has(target))
    );
  }

  private ref(text: string): number {
    const cached = this.refCache.get(text);
    if (cached !== undefined) return cached;
    let id = this.refId.get(text)?.id;
    if (id === undefined) id = Number(this.addRef.run(text).lastInsertRowid);
    if (this.refCache.size >= REF_CACHE_MAX) this.refCache.clear();
    this.refCache.set(text, id);
    return id;
  }
}
