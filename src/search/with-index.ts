import type { LogLayout } from '../store/file/index.js';
import { IndexDb } from './index-db.js';

/**
 * Open the index of a logs directory, run `use` on it, and close it whatever happens: the shape
 * of every one-off use of the index (a command, a GDPR request). `use` catches it up first when
 * it needs the latest records.
 */
export async function withIndex<T>(
  layout: LogLayout,
  logId: string,
  use: (db: IndexDb) => Promise<T>,
): Promise<T> {
  const db = IndexDb.open(layout, logId);
  try {
    return await use(db);
  } finally {
    db.close();
  }
}
