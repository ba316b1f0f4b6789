/**
 * The file store's face: the embedded default backend (one append-only file per channel,
 * gzip segments, a signed checkpoint log and segment log beside them; docs/integrity.md).
 * Nothing outside `src/store/file/` imports its other files (the lint checks it).
 *
 * - Opening for writing: `openFileStore` (a `Store`, see `store/store.ts`); `initLogDirectory`
 *   makes a new directory.
 * - Reading beside the writer: the layout of the directory, its metadata, the segment book,
 *   each channel's sources in seq order and line scanners, a follower for live tails.
 * - Evidence: `verifyLogs`, the latest signed checkpoint, the witnesses' cosignatures.
 */
export { openFileStore, type OpenFileStoreOptions } from './file-store.js';
export { initLogDirectory } from './init.js';
export { acquireLock, lockOwner, type LockOwner } from './lock.js';
export { LogLayout } from './layout.js';
export { readMeta, readSigningKey, type LogMeta } from './meta.js';
export { SegmentBook, readSegmentBook } from './segment-log.js';
export { channelSources, scanSource, type Source } from './sources.js';
export { firstRecord, lastLines, scanLines, splitLines } from './lines.js';
export { linesFromMembers } from './gzip-blocks.js';
export { FileFollower, type FollowPosition } from './follow.js';
export { findLatestCheckpoint } from './checkpoint-log.js';
export {
  appendCosignatures,
  cosignaturesOf,
  readCosignatures,
  type Cosignature,
} from './cosignatures.js';
export { verifyLogs } from './verify.js';
