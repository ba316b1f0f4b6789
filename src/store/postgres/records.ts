/**
 * What queries, tails and the dashboard ask of the PostgreSQL store (store.ts `StoreRecords`):
 * selections answered by one statement each (select.ts), a span's counts (activity.ts), tails
 * that see every instance's commits (follow.ts), and proofs with the checkpoints they are
 * checked against (proofs.ts). Every record comes with the hash before it in its chain, so the
 * caller checks each line it shows against its neighbour.
 */
import type pg from 'pg';
import type { Config } from '../../config/resolve.js';
import type { Checkpoint } from '../../integrity/checkpoint.js';
import type { ConsistencyProof, InclusionProof } from '../../integrity/proofs.js';
import { LogsError } from '../../errors.js';
import type { SegmentBook } from '../segment-book.js';
import type {
  ActivityCounts,
  ActivitySpan,
  RecordFollower,
  RecordSelection,
  SelectedRecord,
  StoreRecords,
} from '../store.js';
import { activityCounts } from './activity.js';
import { prevFromBook } from './chain-prev.js';
import { AppendListener, PgFollower } from './follow.js';
import type { PgLogIdentity } from './meta.js';
import { asDatabaseError } from './pool.js';
import { checkpointAt, consistencyProof, inclusionProof } from './proofs.js';
import { oneQuery, selectQuery, type SelectedRow, type SqlQuery } from './select.js';
import { latestCheckpoints } from './signed-logs.js';

export interface RecordsParts {
  readonly pool: pg.Pool;
  readonly logId: string;
  /** The store's channels (a tail follows only these). */
  readonly channels: readonly string[];
  /** The segment book now (the chain hash at a segment's start, when the one before is gone). */
  readonly book: () => SegmentBook;
  /** The store's LISTEN connection for tails (opened by the first). */
  readonly listener: AppendListener;
}

export class PgRecords implements StoreRecords {
  private readonly followers = new Set<PgFollower>();
  private stopped = false;

  constructor(private readonly parts: RecordsParts) {}

  async select(selection: RecordSelection): Promise<SelectedRecord[]> {
    if (selection.limit === 0) return [];
    return this.run(selectQuery(selection));
  }

  async one(channel: string, seq: number): Promise<SelectedRecord | undefined> {
    if (!Number.isSafeInteger(seq) || seq < 1) return undefined;
    const [found] = await this.run(oneQuery(channel, seq));
    return found;
  }

  async activity(span: ActivitySpan, top: number): Promise<ActivityCounts> {
    try {
      return await activityCounts(this.parts.pool, span, top);
    } catch (err) {
      throw asDatabaseError(err);
    }
  }

  async follow(channels: readonly string[]): Promise<RecordFollower> {
    if (this.stopped) throw new LogsError('LOGS_CLOSED', 'the store is closed');
    const names = [...new Set(channels)];
    for (const c of names)
      if (!this.parts.channels.includes(c))
        throw new LogsError('CHANNEL_UNKNOWN', 'no such channel in this store');
    const follower = new PgFollower(this.parts.pool, names, (f) => this.followers.delete(f));
    this.followers.add(follower);
    try {
      // Listening first: a commit after the heads are read is noticed.
      await follower.attach(this.parts.listener);
      const { rows } = await this.parts.pool.query<{ channel: string; seq: string }>(
        'SELECT channel, seq FROM dl_heads WHERE channel = ANY($1::text[])',
        [names],
      );
      follower.start(new Map(rows.map((r) => [r.channel, Number(r.seq)])));
    } catch (err) {
      follower.close();
      throw asDatabaseError(err);
    }
    return follower;
  }

  async checkpoints(): Promise<Checkpoint[]> {
    try {
      return await latestCheckpoints(this.parts.pool, this.parts.logId);
    } catch (err) {
      throw asDatabaseError(err);
    }
  }

  async inclusion(channel: string, seq: number, size: number): Promise<InclusionProof> {
    try {
      return await inclusionProof(this.parts.pool, this.parts.logId, channel, seq, size);
    } catch (err) {
      throw asDatabaseError(err);
    }
  }

  async consistency(channel: string, from: number, to: number): Promise<ConsistencyProof> {
    try {
      return await consistencyProof(this.parts.pool, channel, from, to);
    } catch (err) {
      throw asDatabaseError(err);
    }
  }

  async checkpointAt(channel: string, size: number): Promise<Checkpoint | undefined> {
    try {
      return await checkpointAt(this.parts.pool, this.parts.logId, channel, size);
    } catch (err) {
      throw asDatabaseError(err);
    }
  }

  /** Close every tail and the listening connection (the store is closing). */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const f of [...this.followers]) f.close();
    await this.parts.listener.stop();
  }

  private async run(query: SqlQuery): Promise<SelectedRecord[]> {
    let rows: SelectedRow[];
    try {
      rows = (await this.parts.pool.query<SelectedRow>(query.text, query.values)).rows;
    } catch (err) {
      throw asDatabaseError(err);
    }
    const book = this.parts.book();
    return rows.map((r) => {
      const seq = Number(r.seq);
      return {
        channel: r.channel,
        seq,
        line: r.line,
        hash: r.hash,
        tsMs: Number(r.ts_ms),
        prev: r.prev ?? prevFromBook(this.parts.logId, book, r.channel, seq),
      };
    });
  }
}

/** What the store hands over of itself. */
export interface RecordsStore {
  readonly config: Config;
  readonly pool: pg.Pool;
  readonly identity: PgLogIdentity;
}

/** The store's records face; `stop` ends its tails and their connection (store close). */
export function openRecords(
  store: RecordsStore,
  book: () => SegmentBook,
): { records: PgRecords; stop: () => Promise<void> } {
  const { config, pool, identity } = store;
  if (config.store.kind !== 'postgres') throw new LogsError('INTERNAL', 'not a postgres store');
  const records = new PgRecords({
    pool,
    logId: identity.logId,
    channels: Object.keys(config.channels),
    book,
    listener: new AppendListener(config.store.url, config.store.schema),
  });
  return { records, stop: () => records.stop() };
}
