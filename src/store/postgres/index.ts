/**
 * The PostgreSQL store's face (docs/postgres.md): records, keys and signed logs in one
 * database shared by any number of equal service instances. Nothing outside
 * `src/store/postgres/` imports its other files (the lint checks it).
 */
export { openPostgresStore, type OpenPostgresStoreOptions } from './open.js';
export { connect } from './pool.js';
export { migrate, SCHEMA_VERSION } from './schema.js';
export { verifyDatabase, type VerifyDatabaseOptions } from './verify-database.js';
export {
  importFileLog,
  type ImportFileLogOptions,
  type ImportProgress,
  type ImportReport,
} from './import.js';
export { databaseChecks, type DatabaseCheck } from './doctor.js';
