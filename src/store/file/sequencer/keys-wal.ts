/**
 * The keystore's WAL as the sequencer thread sees it: synced before the records that depend
 * on it, whenever the application's thread committed new people since the last sync.
 */
import { closeSync, constants, existsSync, fdatasync, fdatasyncSync, openSync } from 'node:fs';
import { KEYS_COMMITTED } from './protocol.js';

/** Syncs the keystore's WAL (if any) ahead of records: a record must not outlive its key. */
export class KeysWal {
  private fd: number | undefined;
  private synced = 0n;

  constructor(
    private readonly wal: string | undefined,
    /** The counters shared with the application's thread (KEYS_COMMITTED). */
    private readonly counters: BigInt64Array,
  ) {}

  /**
   * Before records are synced, sync the keystore's WAL if new people were committed since: a
   * record on disk must never outlive the key that decrypts it. Undefined when nothing is due;
   * the promise rejects if the sync fails (the records' sync then fails closed).
   */
  sync(): Promise<void> | undefined {
    const fd = this.due();
    if (fd === undefined) return undefined;
    const committed = Atomics.load(this.counters, KEYS_COMMITTED);
    return new Promise((resolve, reject) => {
      fdatasync(fd, (err) => {
        if (err) reject(err);
        else {
          if (committed > this.synced) this.synced = committed;
          resolve();
        }
      });
    });
  }

  /** As sync(), blocking: for exit handlers. Throws if the sync fails. */
  syncSync(): void {
    const fd = this.due();
    if (fd === undefined) return;
    const committed = Atomics.load(this.counters, KEYS_COMMITTED);
    fdatasyncSync(fd);
    if (committed > this.synced) this.synced = committed;
  }

  /** Close the WAL's descriptor, if it was opened. */
  close(): void {
    if (this.fd !== undefined) closeSync(this.fd);
  }

  /** The WAL's descriptor when new people were committed since its last sync. */
  private due(): number | undefined {
    if (this.wal === undefined || Atomics.load(this.counters, KEYS_COMMITTED) === this.synced)
      return undefined;
    if (this.fd === undefined) {
      if (!existsSync(this.wal)) return undefined; // checkpointed into the database, which SQLite synced
      this.fd = openSync(this.wal, constants.O_RDONLY);
    }
    return this.fd;
  }
}
