import { runQuery, type QueryRequest, type QueryResult } from '../query/query.js';
import { IndexDb } from '../search/index.js';
import { LogLayout } from '../store/file/index.js';
import { coreOf } from './core.js';
import type { Logs } from './logs.js';

export interface QueryLogsOptions {
  /** Put personal values back (the caller is allowed to see them). Default false: pseudonyms. */
  readonly reveal?: boolean;
}

/**
 * Query open logs: what was written so far is flushed, the query index (`.index/index.db`) is
 * caught up, searched, and each record found is read back from its file with its chain hash
 * checked (`status`). Encrypted channels are opened with the logs' own keys. The library's
 * reads are the application's own; the service audits the reads of its users.
 */
export async function queryLogs(
  logs: Logs,
  request: QueryRequest,
  options: QueryLogsOptions = {},
): Promise<QueryResult> {
  const core = coreOf(logs);
  await core.flush();
  const layout = new LogLayout(core.dir);
  const db = IndexDb.open(layout, core.logId);
  try {
    return await runQuery(
      layout,
      core.logId,
      db,
      request,
      options.reveal === true ? core.keys.subjectLookup() : undefined,
      core.keys.channelKeyring(),
    );
  } finally {
    db.close();
  }
}
