import { catchUp, IndexDb, type CatchUpReport } from '../search/index.js';
import type { LogCore } from '../log/core.js';
import { runQuery, type QueryRequest, type QueryResult } from '../query/query.js';
import { LogLayout } from '../store/file/index.js';

/**
 * The service's view of the query index: one connection, catch-ups one at a time (two would
 * interleave their transactions on it), queries after the catch-up they asked for.
 */
export class IndexAccess {
  readonly db: IndexDb;
  readonly layout: LogLayout;
  private running: Promise<CatchUpReport | undefined> = Promise.resolve(undefined);
  private pending: Promise<CatchUpReport | undefined> | undefined;

  constructor(private readonly logs: LogCore) {
    this.layout = new LogLayout(logs.dir);
    this.db = IndexDb.open(this.layout, logs.logId);
  }

  /**
   * Bring the index up to date with what is acknowledged now. Calls that arrive while a
   * catch-up runs share the next one (it starts after the running one, so it sees their
   * records).
   */
  async caughtUp(): Promise<CatchUpReport | undefined> {
    // Buffered channels' acknowledged records reach their files first.
    await this.logs.flush();
    if (this.pending !== undefined) return this.pending;
    const run = (): Promise<CatchUpReport> => {
      this.pending = undefined;
      return catchUp(this.layout, this.logs.logId, this.db, {
        channelKeys: this.logs.keys.channelKeyring(),
      });
    };
    // After the running one, whether it succeeded or not.
    const next = this.running.then(run, run);
    this.pending = next;
    this.running = next;
    return next;
  }

  /** Run a query on an up-to-date index; `reveal` puts personal values back. */
  async query(request: QueryRequest, reveal: boolean): Promise<QueryResult> {
    const indexed = await this.caughtUp();
    const result = await runQuery(
      this.layout,
      this.logs.logId,
      this.db,
      { ...request, catchUp: false },
      reveal ? this.logs.keys.subjectLookup() : undefined,
      this.logs.keys.channelKeyring(),
    );
    const locked = (indexed?.channels ?? []).filter((c) => c.locked).map((c) => c.channel);
    return { ...result, indexed, locked };
  }

  close(): void {
    this.db.close();
  }
}
