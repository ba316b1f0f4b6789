import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { LogsError } from '../errors.js';
import { writeFileDurable } from '../util/fs.js';
import type { SubjectEntry, SubjectKeystore } from './subjects.js';
import { SubjectCrypto } from './subject-crypto.js';
import {
  keyringOf,
  type ChannelKey,
  type ChannelKeyList,
  type ChannelKeyring,
} from './body-cipher.js';

// Entries kept in memory; beyond, the least recently created are dropped (and read again).
const CACHE_MAX = 100_000;

/**
 * Pseudonyms of erased people, read from a keystore file without its key (the list is not
 * secret). Empty when there is no keystore or no erasure yet.
 */
export function erasedPseudonyms(file: string): Set<string> {
  if (!existsSync(file)) return new Set();
  const db = new Database(file, { readonly: true, fileMustExist: true });
  try {
    const has = db
      .prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'erased'")
      .get();
    if (has === undefined) return new Set();
    return new Set(
      db
        .prepare<[], { pseudonym: string }>('SELECT pseudonym FROM erased')
        .all()
        .map((r) => r.pseudonym),
    );
  } finally {
    db.close();
  }
}

/**
 * The subject keystore (`.keys/subjects.db`, SQLite): for each person, a random pseudonym and a
 * random 256-bit data key, wrapped by the master key. A person is found by a keyed hash (HMAC)
 * of their id; the id itself is kept only encrypted under the person's own key, so an allowed
 * reader can turn a pseudonym back into it. Erasing a person is deleting their row; SQLite runs
 * with secure_delete so the key does not linger in free pages.
 *
 * New people are created in memory at once and written in one transaction by commit(), which
 * the writer calls before it hands over records that need them: no record is written before
 * the key that decrypts it is on disk.
 */
export class Keystore implements SubjectKeystore {
  private readonly db: Database.Database;
  private readonly crypto: SubjectCrypto;
  private readonly byId = new Map<string, SubjectEntry>();
  private readonly byPseudonym = new Map<string, SubjectEntry>();
  private pending: Array<{ lookup: Buffer; entry: SubjectEntry; id: string }> = [];
  private readonly select: Database.Statement<[Buffer], { pseudonym: string; wrapped: Buffer }>;
  private readonly selectPseudonym: Database.Statement<
    [string],
    { wrapped: Buffer; sealed_id: Buffer }
  >;
  private readonly insert: Database.Statement<[Buffer, string, Buffer, Buffer, string]>;
  private readonly ids = new Map<string, string>(); // pseudonym → id, for this process's own subjects

  private constructor(
    private readonly file: string,
    masterKey: Buffer,
    private readonly logId: string,
    readonly: boolean,
  ) {
    if (!readonly && !existsSync(file)) writeFileDurable(file, '', { exclusive: true }); // mode 0600
    this.db = new Database(file, { readonly, fileMustExist: true });
    if (!readonly) {
      this.db.pragma('journal_mode = WAL');
      // Commits are not synced here, on the application's thread: the writer syncs the WAL file
      // (walFile) before each sync of records, which is what orders keys before records on disk.
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('secure_delete = ON');
      this.db.exec(
        `CREATE TABLE IF NOT EXISTS subjects (
           lookup BLOB PRIMARY KEY,
           pseudonym TEXT NOT NULL UNIQUE,
           wrapped BLOB NOT NULL,
           sealed_id BLOB NOT NULL,
           created TEXT NOT NULL
         ) WITHOUT ROWID`,
      );
      // Pseudonyms of erased people (no key, no id: a pseudonym alone identifies no one), so
      // that an index rebuilt from the files leaves their records out.
      this.db.exec(
        'CREATE TABLE IF NOT EXISTS erased (pseudonym TEXT PRIMARY KEY, at TEXT NOT NULL) WITHOUT ROWID',
      );
      // Keys of encrypted channels, numbered from 1 per channel; the highest is current.
      this.db.exec(
        `CREATE TABLE IF NOT EXISTS channel_keys (
           channel TEXT NOT NULL,
           id INTEGER NOT NULL,
           wrapped BLOB NOT NULL,
           created TEXT NOT NULL,
           PRIMARY KEY (channel, id)
         ) WITHOUT ROWID`,
      );
    }
    this.crypto = new SubjectCrypto(masterKey, logId);
    this.select = this.db.prepare('SELECT pseudonym, wrapped FROM subjects WHERE lookup = ?');
    this.selectPseudonym = this.db.prepare(
      'SELECT wrapped, sealed_id FROM subjects WHERE pseudonym = ?',
    );
    this.insert = this.db.prepare(
      'INSERT INTO subjects (lookup, pseudonym, wrapped, sealed_id, created) VALUES (?, ?, ?, ?, ?)',
    );
  }

  /** Open (creating it if needed) the keystore of a logs directory for writing. */
  static open(file: string, masterKey: Buffer, logId: string): Keystore {
    return new Keystore(file, masterKey, logId, false);
  }

  /** Open an existing keystore to read (reveal, export). */
  static openReadOnly(file: string, masterKey: Buffer, logId: string): Keystore {
    if (!existsSync(file)) throw new LogsError('LOGS_NOT_INITIALIZED', `${file} does not exist`);
    return new Keystore(file, masterKey, logId, true);
  }

  /** A person's entry, created on first sight. */
  subject(id: string): SubjectEntry {
    const known = this.find(id);
    if (known !== undefined) return known;
    const entry = this.crypto.newEntry();
    this.pending.push({ lookup: this.crypto.lookup(id), entry, id });
    this.remember(id, entry);
    this.ids.set(entry.pseudonym, id);
    return entry;
  }

  /** A person's entry if they are known; never creates one. */
  find(id: string): SubjectEntry | undefined {
    const cached = this.byId.get(id);
    if (cached !== undefined) return cached;
    const row = this.select.get(this.crypto.lookup(id));
    if (row === undefined) return undefined;
    const entry = { pseudonym: row.pseudonym, key: this.unwrap(row.pseudonym, row.wrapped) };
    this.remember(id, entry);
    return entry;
  }

  /** The data key behind a pseudonym, if the person has not been erased. */
  keyOf(pseudonym: string): Buffer | undefined {
    const cached = this.byPseudonym.get(pseudonym);
    if (cached !== undefined) return cached.key;
    const row = this.selectPseudonym.get(pseudonym);
    return row === undefined ? undefined : this.unwrap(pseudonym, row.wrapped);
  }

  /** The id behind a pseudonym, if the person has not been erased. */
  idOf(pseudonym: string): string | undefined {
    const mine = this.ids.get(pseudonym);
    if (mine !== undefined) return mine;
    const row = this.selectPseudonym.get(pseudonym);
    if (row === undefined) return undefined;
    return this.crypto.openId(pseudonym, this.unwrap(pseudonym, row.wrapped), row.sealed_id);
  }

  /** The current key of an encrypted channel, created (durably) when it has none. */
  channelKey(channel: string): ChannelKey {
    const keys = this.channelKeys().filter(([c]) => c === channel);
    const last = keys[keys.length - 1];
    return last === undefined ? this.rotateChannelKey(channel) : { id: last[1], key: last[2] };
  }

  /**
   * Start a new key for a channel (the first one when it has none): records written from now
   * on are encrypted under it; older ones stay readable under theirs. Durable on return: no
   * record can be written under a key that is not on disk.
   */
  rotateChannelKey(channel: string): ChannelKey {
    const row = this.db
      .prepare<[string], { id: number | null }>(
        'SELECT max(id) AS id FROM channel_keys WHERE channel = ?',
      )
      .get(channel);
    const id = (row?.id ?? 0) + 1;
    const key = this.crypto.newKey();
    const wrapped = this.crypto.wrapChannelKey(channel, id, key);
    // The writer syncs the WAL before records only when people were added: this commit syncs it.
    this.db.pragma('synchronous = FULL');
    try {
      this.db
        .prepare('INSERT INTO channel_keys (channel, id, wrapped, created) VALUES (?, ?, ?, ?)')
        .run(channel, id, wrapped, new Date().toISOString());
    } finally {
      this.db.pragma('synchronous = NORMAL');
    }
    return { id, key };
  }

  /** Every channel key, unwrapped: [channel, id, key], by channel then id. */
  channelKeys(): ChannelKeyList {
    if (!this.hasChannelKeys()) return [];
    return this.db
      .prepare<[], { channel: string; id: number; wrapped: Buffer }>(
        'SELECT channel, id, wrapped FROM channel_keys ORDER BY channel, id',
      )
      .all()
      .map(
        (r) => [r.channel, r.id, this.crypto.unwrapChannelKey(r.channel, r.id, r.wrapped)] as const,
      );
  }

  /** The channel keys as readers use them. */
  channelKeyring(): ChannelKeyring {
    return keyringOf(this.logId, this.channelKeys());
  }

  /** Whether the keystore has the channel keys table (a read-only one made before it may not). */
  private hasChannelKeys(): boolean {
    return (
      this.db
        .prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'channel_keys'")
        .get() !== undefined
    );
  }

  /** When each channel key was made: [channel, id, created], for `keys list` (no key material). */
  channelKeyDates(): Array<{ channel: string; id: number; created: string }> {
    if (!this.hasChannelKeys()) return [];
    return this.db
      .prepare<[], { channel: string; id: number; created: string }>(
        'SELECT channel, id, created FROM channel_keys ORDER BY channel, id',
      )
      .all();
  }

  /** Write the people created since the last commit, in one durable transaction. */
  /** Returns how many people were written (0: nothing to do). */
  commit(): number {
    if (this.pending.length === 0) return 0;
    const rows = this.pending;
    const now = new Date().toISOString();
    this.db.transaction(() => {
      for (const { lookup, entry, id } of rows) {
        const sealedId = this.crypto.sealId(entry, id);
        this.insert.run(lookup, entry.pseudonym, this.crypto.wrap(entry), sealedId, now);
      }
    })();
    this.pending = [];
    return rows.length;
  }

  /**
   * Destroy a person's key and id mapping (GDPR erasure): their records stay, anonymous and
   * unreadable. SQLite's secure_delete zeroes the row; compact() then leaves no copy in the
   * WAL or free pages. Returns false when no person has this pseudonym.
   */
  erase(pseudonym: string): boolean {
    this.commit();
    const changes = this.db.transaction(() => {
      const n = this.db.prepare('DELETE FROM subjects WHERE pseudonym = ?').run(pseudonym).changes;
      if (n > 0)
        this.db
          .prepare('INSERT OR IGNORE INTO erased (pseudonym, at) VALUES (?, ?)')
          .run(pseudonym, new Date().toISOString());
      return n;
    })();
    for (const [id, e] of this.byId) if (e.pseudonym === pseudonym) this.byId.delete(id);
    this.byPseudonym.delete(pseudonym);
    this.ids.delete(pseudonym);
    return changes > 0;
  }

  /**
   * erase() each person, then compact() once (SubjectKeystore): synchronous here, answered as
   * a promise for the interface a database keystore shares.
   */
  destroy(pseudonyms: readonly string[]): Promise<number> {
    // A failure (a full disk) rejects: the executor's throw becomes the rejection.
    return new Promise((resolve) => {
      let n = 0;
      for (const p of pseudonyms) if (this.erase(p)) n += 1;
      this.compact();
      resolve(n);
    });
  }

  /** Rewrite the database without free pages and empty the WAL: no erased key lingers. */
  compact(): void {
    this.db.pragma('wal_checkpoint(TRUNCATE)');
    this.db.exec('VACUUM');
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  /** The WAL file: whoever syncs records syncs it first, so no record outlives its key. */
  get walFile(): string {
    return `${this.file}-wal`;
  }

  /**
   * Forget the people created since the last commit, after commit() failed (a full disk): no
   * record under their keys was stored (the records waiting for them are dropped with the
   * failed batch), so the next event about them creates them again, with new keys.
   */
  abandon(): number {
    const rows = this.pending;
    this.pending = [];
    for (const { id, entry } of rows) {
      this.byId.delete(id);
      this.byPseudonym.delete(entry.pseudonym);
      this.ids.delete(entry.pseudonym);
    }
    return rows.length;
  }

  /** People created and not yet committed. */
  get uncommitted(): number {
    return this.pending.length;
  }

  close(): void {
    this.commit();
    this.db.close();
  }

  private unwrap(pseudonym: string, wrapped: Buffer): Buffer {
    return this.crypto.unwrap(pseudonym, wrapped);
  }

  private remember(id: string, entry: SubjectEntry): void {
    if (this.byId.size >= CACHE_MAX) {
      // Never forget someone not yet written: they would be created twice.
      this.commit();
      const oldest = this.byId.keys().next().value;
      if (oldest !== undefined) {
        const e = this.byId.get(oldest);
        this.byId.delete(oldest);
        if (e !== undefined) this.byPseudonym.delete(e.pseudonym);
      }
    }
    this.byId.set(id, entry);
    this.byPseudonym.set(entry.pseudonym, entry);
  }
}
