import { LogsError } from '../errors.js';
import type { LogCore } from '../log/core.js';
import { readOne, type QueryRecord, type QueryRequest, type QueryResult } from '../query/query.js';
import { readStoreOne, runStoreQuery, type RevealKeys } from '../query/store-query.js';
import type { Checkpoint } from '../integrity/checkpoint.js';
import { FileFollower } from '../store/file/index.js';
import type { ActivityCounts, ActivitySpan, StoreRecords } from '../store/store.js';
import { IndexAccess } from './index-access.js';
import { statsFrom, type Stats, type StatsQuery } from './stats.js';
import {
  activityCounts,
  consistencyProofFromIndex,
  inclusionProofFromIndex,
} from '../search/index.js';
import type { ConsistencyProof, InclusionProof } from '../integrity/proofs.js';
import { checkpointAt, latestCheckpoints } from './checkpoints.js';

/**
 * What the read routes ask, whichever the store: the file store answers from its query index
 * (caught up first), a database store from its tables. Both read each record back from what
 * was chained and check it before it is shown.
 */
export interface Reads {
  query(request: QueryRequest, reveal: boolean): Promise<QueryResult>;
  /** One record by channel and seq; undefined when there is none. */
  one(channel: string, seq: number, reveal: boolean): Promise<QueryRecord | undefined>;
  stats(q: StatsQuery, nowMs: number, reveal: boolean): Promise<Stats>;
  /** New records of these channels from now on, as they are written (by any instance). */
  follow(channels: readonly string[]): Promise<TailSource>;
  /** The latest signed checkpoint of each channel, by channel name. */
  checkpoints(): Promise<Checkpoint[]>;
  /** RFC 9162 inclusion proof of record `seq` in the channel's tree of `size` records. */
  inclusion(channel: string, seq: number, size: number): Promise<InclusionProof>;
  /** RFC 9162 consistency proof between the channel's trees of `from` and `to` records. */
  consistency(channel: string, from: number, to: number): Promise<ConsistencyProof>;
  /** The signed checkpoint of the channel at exactly `size` records, if one is found. */
  checkpointAt(channel: string, size: number): Promise<Checkpoint | undefined>;
  /**
   * The file store's index, for what only it answers yet (proofs, tiles, witnesses, the GDPR
   * request register); STORE_UNSUPPORTED on a database store.
   */
  index(what: string): IndexAccess;
  close(): void;
}

/** New stored lines of some channels (a live tail's source). */
export interface TailSource {
  /** The lines written since the last call (since the source was made, at first). */
  poll(): Promise<Array<{ readonly channel: string; readonly line: string }>>;
  /** Resolves when there may be something new (or after at most `ms`). */
  wait(ms: number): Promise<void>;
  close(): void;
}

/** The reads of the logs' store. */
export function readsOf(logs: LogCore): Reads {
  const records = logs.records;
  return records === undefined ? new IndexReads(logs) : new DatabaseReads(logs, records);
}

class IndexReads implements Reads {
  private readonly access: IndexAccess;

  constructor(private readonly logs: LogCore) {
    this.access = new IndexAccess(logs);
  }

  query(request: QueryRequest, reveal: boolean): Promise<QueryResult> {
    return this.access.query(request, reveal);
  }

  async one(channel: string, seq: number, reveal: boolean): Promise<QueryRecord | undefined> {
    await this.access.caughtUp();
    return readOne(
      this.access.layout,
      this.logs.logId,
      this.access.db,
      channel,
      seq,
      reveal ? this.logs.keys.subjectLookup() : undefined,
      this.logs.keys.channelKeyring(),
    );
  }

  async stats(q: StatsQuery, nowMs: number, reveal: boolean): Promise<Stats> {
    await this.access.caughtUp();
    const keys = reveal ? this.logs.keys.subjectLookup() : undefined;
    return statsFrom(
      (span, top) => Promise.resolve(activityCounts(this.access.db, span, top)),
      q,
      nowMs,
      keys,
    );
  }

  follow(channels: readonly string[]): Promise<TailSource> {
    // Each follower starts at the end of its file: nothing written after this is missed.
    const followers = channels.map(
      (c) => [c, FileFollower.fromTail(this.access.layout.channelFile(c), 0).follower] as const,
    );
    return Promise.resolve({
      poll: () =>
        Promise.resolve(
          followers.flatMap(([channel, f]) =>
            f.poll().map((line) => ({ channel, line: line.toString('utf8') })),
          ),
        ),
      wait: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
      close: () => {
        for (const [, f] of followers) f.close();
      },
    });
  }

  checkpoints(): Promise<Checkpoint[]> {
    return Promise.resolve(latestCheckpoints(this.access.layout, this.logs.logId));
  }

  async inclusion(channel: string, seq: number, size: number): Promise<InclusionProof> {
    await this.access.caughtUp();
    return inclusionProofFromIndex(this.access.db, channel, seq, size);
  }

  async consistency(channel: string, from: number, to: number): Promise<ConsistencyProof> {
    await this.access.caughtUp();
    return consistencyProofFromIndex(this.access.db, channel, from, to);
  }

  checkpointAt(channel: string, size: number): Promise<Checkpoint | undefined> {
    return Promise.resolve(checkpointAt(this.access.layout, this.logs.logId, channel, size));
  }

  index(): IndexAccess {
    return this.access;
  }

  close(): void {
    this.access.close();
  }
}

class DatabaseReads implements Reads {
  constructor(
    private readonly logs: LogCore,
    private readonly records: StoreRecords,
  ) {}

  /**
   * Before a read: buffered channels' accepted records reach the database, and, when personal
   * values are put back, erasures answered by any instance are applied here.
   */
  private async ready(reveal: boolean): Promise<RevealKeys | undefined> {
    await this.logs.flush();
    const people = this.logs.people;
    if (!reveal) return undefined;
    await people?.settled();
    return {
      lookup: this.logs.keys.subjectLookup(),
      learn: (pseudonyms) => people?.learn(pseudonyms) ?? Promise.resolve(),
    };
  }

  async query(request: QueryRequest, reveal: boolean): Promise<QueryResult> {
    const keys = await this.ready(reveal);
    return runStoreQuery(
      this.records,
      this.logs.logId,
      request,
      keys,
      this.logs.keys.channelKeyring(),
    );
  }

  async one(channel: string, seq: number, reveal: boolean): Promise<QueryRecord | undefined> {
    const keys = await this.ready(reveal);
    return readStoreOne(
      this.records,
      this.logs.logId,
      channel,
      seq,
      keys,
      this.logs.keys.channelKeyring(),
    );
  }

  async stats(q: StatsQuery, nowMs: number, reveal: boolean): Promise<Stats> {
    const keys = await this.ready(reveal);
    const count = async (span: ActivitySpan, top: number): Promise<ActivityCounts> => {
      const counts = await this.records.activity(span, top);
      await keys?.learn(
        counts.topSecuritySources.map((s) => s.source).filter((s) => s.startsWith('sub_')),
      );
      return counts;
    };
    return statsFrom(count, q, nowMs, keys?.lookup);
  }

  index(what: string): IndexAccess {
    throw new LogsError(
      'STORE_UNSUPPORTED',
      `${what} is not offered on the PostgreSQL store yet (docs/postgres.md lists what is)`,
    );
  }

  /** Follow channels across every instance sharing the database (LISTEN/NOTIFY). */
  follow(channels: readonly string[]): Promise<TailSource> {
    return this.records.follow(channels);
  }

  checkpoints(): Promise<Checkpoint[]> {
    return this.records.checkpoints();
  }

  /** From the leaves the checkpoint leader stored beside the trees it signed. */
  async inclusion(channel: string, seq: number, size: number): Promise<InclusionProof> {
    await this.logs.flush();
    return this.records.inclusion(channel, seq, size);
  }

  async consistency(channel: string, from: number, to: number): Promise<ConsistencyProof> {
    await this.logs.flush();
    return this.records.consistency(channel, from, to);
  }

  checkpointAt(channel: string, size: number): Promise<Checkpoint | undefined> {
    return this.records.checkpointAt(channel, size);
  }

  close(): void {
    // The store's pool is the logs': closed with them.
  }
}
