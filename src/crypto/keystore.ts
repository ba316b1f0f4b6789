import { createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import Database from 'better-sqlite3';
import { LogsError } from '../errors.js';
import { writeFileDurable } from '../util/fs.js';
import type { SubjectEntry, SubjectKeys } from '../redact/pii.js';
import { open, seal } from './aead.js';

// Entries kept in memory; beyond, the least recently created are dropped (and read again).
const CACHE_MAX = 100_000;

/**
 * The subject keystore (`.keys/subjects.db`, SQLite): for each person, a random pseudonym and a
 * random 256-bit data key, wrapped by the master key. A person is found by a keyed hash (HMAC)
 * of their id: the ids themselves are not stored. Erasing a person is deleting their row; SQLite
 * runs with secure_delete so the key does not linger in free pages.
 *
 * New people are created in memory at once and written in one transaction by commit(), which
 * the writer calls before it hands over records that need them: no record is written before
 * the key that decrypts it is on disk.
 */
export class Keystore implements SubjectKeys {
  private readonly db: Database.Database;
  private readonly lookupKey: Buffer;
  private readonly byId = new Map<string, SubjectEntry>();
  private readonly byPseudonym = new Map<string, SubjectEntry>();
  private pending: Array<{ lookup: Buffer; entry: SubjectEntry }> = [];
  private readonly select: Database.Statement<[Buffer], { pseudonym: string; wrapped: Buffer }>;
  private readonly selectPseudonym: Database.Statement<[string], { wrapped: Buffer }>;
  private readonly insert: Database.Statement<[Buffer, string, Buffer, string]>;

  private constructor(
    file: string,
    private readonly masterKey: Buffer,
    private readonly logId: string,
    readonly: boolean,
  ) {
    if (!readonly && !existsSync(file)) writeFileDurable(file, '', { exclusive: true }); // mode 0600
    this.db = new Database(file, { readonly, fileMustExist: true });
    if (!readonly) {
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = FULL');
      this.db.pragma('secure_delete = ON');
      this.db.exec(
        `CREATE TABLE IF NOT EXISTS subjects (
           lookup BLOB PRIMARY KEY,
           pseudonym TEXT NOT NULL UNIQUE,
           wrapped BLOB NOT NULL,
           created TEXT NOT NULL
         ) WITHOUT ROWID`,
      );
    }
    this.lookupKey = Buffer.from(
      hkdfSync('sha256', masterKey, Buffer.from(logId), 'dihya-logs/subject-lookup/v1', 32),
    );
    this.select = this.db.prepare('SELECT pseudonym, wrapped FROM subjects WHERE lookup = ?');
    this.selectPseudonym = this.db.prepare('SELECT wrapped FROM subjects WHERE pseudonym = ?');
    this.insert = this.db.prepare(
      'INSERT INTO subjects (lookup, pseudonym, wrapped, created) VALUES (?, ?, ?, ?)',
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
    const entry: SubjectEntry = {
      pseudonym: `sub_${randomBytes(12).toString('hex')}`,
      key: randomBytes(32),
    };
    this.pending.push({ lookup: this.lookup(id), entry });
    this.remember(id, entry);
    return entry;
  }

  /** A person's entry if they are known; never creates one. */
  find(id: string): SubjectEntry | undefined {
    const cached = this.byId.get(id);
    if (cached !== undefined) return cached;
    const row = this.select.get(this.lookup(id));
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

  /** Write the people created since the last commit, in one durable transaction. */
  commit(): void {
    if (this.pending.length === 0) return;
    const rows = this.pending;
    const now = new Date().toISOString();
    this.db.transaction(() => {
      for (const { lookup, entry } of rows)
        this.insert.run(lookup, entry.pseudonym, this.wrap(entry), now);
    })();
    this.pending = [];
  }

  /** People created and not yet committed. */
  get uncommitted(): number {
    return this.pending.length;
  }

  close(): void {
    this.commit();
    this.db.close();
  }

  private lookup(id: string): Buffer {
    return createHmac('sha256', this.lookupKey).update(id, 'utf8').digest();
  }

  private aad(pseudonym: string): string {
    return `dihya-logs/subject-key/v1\0${this.logId}\0${pseudonym}`;
  }

  private wrap(entry: SubjectEntry): Buffer {
    const s = seal(this.masterKey, entry.key, this.aad(entry.pseudonym));
    return Buffer.concat([
      Buffer.from(s.iv, 'base64'),
      Buffer.from(s.tag, 'base64'),
      Buffer.from(s.ct, 'base64'),
    ]);
  }

  private unwrap(pseudonym: string, wrapped: Buffer): Buffer {
    return open(
      this.masterKey,
      {
        alg: 'A256GCM',
        iv: wrapped.subarray(0, 12).toString('base64'),
        tag: wrapped.subarray(12, 28).toString('base64'),
        ct: wrapped.subarray(28).toString('base64'),
      },
      this.aad(pseudonym),
    );
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
