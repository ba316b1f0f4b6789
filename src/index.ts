/**
 * dihya-logs: structured, secret-free, tamper-evident logs and audit trail.
 *
 * The public library API, each name documented in docs/library.md. Everything else is
 * internal and may change; the package's `exports` map keeps deep imports out.
 */

// Writing
export { openLogs, type OpenLogsOptions } from './log/open.js';
export { initLogs, type InitLogsOptions } from './log/init.js';
export { Logs, type WriteOptions } from './log/logs.js';
export { Logger } from './log/logger.js';
export type { EventHelpers, CommonFields } from './log/events.js';
export type { Ack, ChannelStats } from './store/store.js';

// Events
export { LEVELS, type Level } from './event/levels.js';
export type { EventInput, LogRecord, Outcome } from './event/record.js';
export { EVENT_CATALOGUE, type EventType } from './event/catalogue.js';

// Configuration
export { loadConfig, type LoadOptions } from './config/load.js';
export { resolveConfig, type Config, type ChannelConfig } from './config/resolve.js';

// Verifying, proofs and receipts
export { verifyLogs } from './store/file/index.js';
export type { VerifyOptions, VerifyReport } from './store/verify-report.js';
export type { Damage, Warning } from './integrity/damage.js';
export type { Checkpoint } from './integrity/checkpoint.js';
export { verifyInclusionProof, verifyConsistencyProof } from './integrity/proofs.js';
export {
  verifyReceipt,
  parseReceipt,
  type Receipt,
  type ReceiptCheck,
} from './integrity/receipt.js';

// Reading and GDPR requests
export { queryLogs, type QueryLogsOptions } from './log/query.js';
export type { QueryRequest, QueryResult } from './query/query.js';
export { exportSubject, verifyBundle, type ExportOptions } from './gdpr/export.js';
export { eraseSubject, type EraseOptions } from './gdpr/erase.js';

// Errors
export { LogsError, isLogsError, type ErrorCode } from './errors.js';
