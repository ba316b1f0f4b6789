import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { indexFile } from './connect.js';
import { IndexedTree, leafCount } from './leaves.js';
import type { LogLayout } from '../store/file/index.js';

/**
 * The index's copy of a channel's Merkle leaves, as verify uses it to name the first rewritten
 * record: trusted only when it reproduces a signed root, since whoever rewrote the log may have
 * rebuilt the index too. Read-only: opening never creates or repairs the index.
 *
 * Returns a function for `verifyLogs({ committedLeaves })`, and a close function.
 */
export function committedLeavesFromIndex(
  layout: LogLayout,
  logId: string,
): {
  readonly leaves: (
    channel: string,
    size: number,
    root: string,
  ) => ((seq: number) => string | undefined) | undefined;
  readonly close: () => void;
} {
  const file = indexFile(layout);
  let conn: Database.Database | undefined;
  const open = (): Database.Database | undefined => {
    if (conn !== undefined) return conn;
    if (!existsSync(file)) return undefined;
    try {
      conn = new Database(file, { readonly: true, fileMustExist: true });
      const id = conn
        .prepare<[], { value: string }>("SELECT value FROM meta WHERE key = 'log_id'")
        .get();
      if (id?.value !== logId) {
        conn.close();
        conn = undefined;
      }
    } catch {
      conn = undefined;
    }
    return conn;
  };
  return {
    leaves: (channel, size, root) => {
      const db = open();
      if (db === undefined || size < 1) return undefined;
      try {
        const row = db
          .prepare<[string], { channel_no: number }>(
            'SELECT channel_no FROM state WHERE channel = ?',
          )
          .get(channel);
        if (row === undefined || leafCount(db, row.channel_no) < size) return undefined;
        const tree = new IndexedTree(db, row.channel_no, size);
        if (Buffer.from(tree.root(0, size)).toString('hex') !== root) return undefined;
        return (seq) =>
          seq >= 1 && seq <= size ? Buffer.from(tree.leaf(seq - 1)).toString('hex') : undefined;
      } catch {
        return undefined;
      }
    },
    close: () => {
      conn?.close();
      conn = undefined;
    },
  };
}
