/**
 * dihya-logs: structured, secret-free, tamper-evident logs and audit trail.
 * The public library API; everything else is internal and may change.
 */
export { openLogs, type OpenLogsOptions } from './log/open.js';
export { Logs, type WriteOptions } from './log/logs.js';
export { Logger } from './log/logger.js';
export type { EventHelpers, CommonFields } from './log/events.js';
export { initLogs, type InitLogsOptions } from './log/init.js';
export type { Ack, ChannelStats } from './store/file/channel-types.js';
export { verifyLogs } from './store/file/verify.js';
export type { VerifyOptions, VerifyReport, ChannelReport } from './store/verify-report.js';
export {
  DAMAGE_KINDS,
  WARNING_KINDS,
  type Damage,
  type DamageKind,
  type Warning,
} from './integrity/damage.js';
export { loadConfig, type LoadOptions } from './config/load.js';
export {
  resolveConfig,
  type Config,
  type ChannelConfig,
  type Durability,
} from './config/resolve.js';
export { LEVELS, LEVEL_RANK, parseLevel, type Level } from './event/levels.js';
export { DEFAULT_CHANNELS } from './event/channels.js';
export { OUTCOMES, type EventInput, type LogRecord, type Outcome } from './event/record.js';
export { EVENT_CATALOGUE, type KnownEventType, type EventType } from './event/catalogue.js';
export { canonicalize } from './event/canonical.js';
export {
  verifyInclusion,
  verifyConsistency,
  rootOf,
  inclusionProof,
  consistencyProof,
  EMPTY_ROOT,
} from './integrity/merkle.js';
export { chainGenesis } from './integrity/chain.js';
export {
  verifyInclusionProof,
  verifyConsistencyProof,
  type InclusionProof,
  type ConsistencyProof,
  type ProofCheck,
} from './integrity/proofs.js';
export type { Checkpoint } from './integrity/checkpoint.js';
// Offline receipts (c2sp.org/tlog-proof, docs/receipts.md): checked with public keys only.
export {
  verifyReceipt,
  parseReceipt,
  type ReceiptCheck,
  type VerifyReceiptOptions,
  type Receipt,
} from './integrity/receipt.js';
export { inclusionProofFromIndex, consistencyProofFromIndex } from './search/proofs.js';
export { reveal, type Revealed } from './pipeline/reveal.js';
export { describeClassification, type RuleDescription } from './redact/describe.js';
export { compileClassifier } from './redact/compile.js';
export { Keystore } from './crypto/keystore.js';
export type { SubjectLookup } from './crypto/subjects.js';
export { LogLayout } from './store/file/layout.js';
export { IndexDb } from './search/index-db.js';
export { catchUp, rebuild, type CatchUpReport, type IndexProgress } from './search/indexer.js';
export { runQuery, type QueryRequest, type QueryResult, type QueryRecord } from './query/query.js';
export { parseFilter, type QueryFilter, type RawFilter } from './query/filter.js';
export type { ReadStatus } from './query/read.js';
export {
  exportSubject,
  verifyBundle,
  type ExportOptions,
  type ExportReport,
  type BundleCheck,
} from './gdpr/export.js';
export { eraseSubject, eraseDue, type EraseOptions, type EraseReport } from './gdpr/erase.js';
export { listRequests, type GdprRequest } from './gdpr/requests.js';
export { LogsError, ERROR_CODES, isLogsError, type ErrorCode } from './errors.js';
