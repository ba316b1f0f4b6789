/**
 * The search index: `.index/index.db`, a SQLite view of the log files that finds records fast
 * (by channel, time, level, event, person, request, text) and keeps every record's Merkle leaf
 * for proofs. It is never a source of truth: what it shows is read back from the segments and
 * checked against the chain, and a doubtful index is deleted and built again from the files.
 *
 * This is its face: code outside src/search/ imports it from here only, and no SQL on its
 * tables is written anywhere else.
 *
 * - the index itself: `IndexDb` (open, close, channel states) and `withIndex` for one-off uses;
 * - indexing: `catchUp` (read what the log added since), `rebuild`, and `IndexFeeder`, the
 *   thread that keeps it caught up while the logs are open;
 * - the query reader: `filterRows` turns a filter into rows, `selectHits` pages through them,
 *   `hitAt` finds one record;
 * - a subject's rows, for GDPR export and erasure: `subjectRows`, `subjectRowsIn`,
 *   `countSubjectRows`, `deleteSubjectRows`;
 * - the dashboard's counts: `activityCounts`;
 * - proofs and tiles from the stored leaves: `inclusionProofFromIndex`,
 *   `consistencyProofFromIndex`, `committedLeavesFromIndex` (for verify), and the tlog-tiles
 *   of the HTTP API.
 */

export { IndexDb } from './index-db.js';
export { withIndex } from './with-index.js';

export {
  catchUp,
  rebuild,
  type CatchUpOptions,
  type CatchUpReport,
  type IndexProgress,
} from './indexer.js';
export { IndexFeeder } from './feeder.js';

export {
  filterRows,
  hitAt,
  selectHits,
  type Hit,
  type IndexFilter,
  type RowSelection,
} from './select.js';
export {
  countSubjectRows,
  deleteSubjectRows,
  subjectRows,
  subjectRowsIn,
  type KeptRows,
} from './subject.js';
export { activityCounts, type BucketCount } from './activity.js';

export { committedLeavesFromIndex } from './committed.js';
export { consistencyProofFromIndex, inclusionProofFromIndex } from './proofs.js';
export { parseTilePath, TileCache, tileFromIndex, TILE_WIDTH } from './tiles.js';
