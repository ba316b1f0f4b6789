/**
 * The subject keystore of the PostgreSQL store: the `dl_subjects` table (keys wrapped by the
 * master key, looked up by keyed hash of the id), mirrored in memory for the writer's
 * synchronous lookups. A person first seen here gets a new entry at once; its row is written
 * by the commit of the first batch that holds a record encrypted for them, in that batch's
 * transaction, so no record is ever stored without its key.
 *
 * Several instances may each see a new person first: each then writes its own row (a person may
 * have more than one pseudonym; lookups by id return all of them). Nothing is lost and nothing
 * is shared that should not be: every row is a random key wrapped by the master key.
 */
import type pg from 'pg';
import { LogsError } from '../../errors.js';
import type { PersonKey } from '../store.js';
import type { SubjectEntry, SubjectKeystore } from '../../crypto/subjects.js';
import type { SubjectCrypto } from '../../crypto/subject-crypto.js';
import {
  keyringOf,
  type ChannelKey,
  type ChannelKeyList,
  type ChannelKeyring,
} from '../../crypto/body-cipher.js';
import { deleteSubjects, vacuumSubjects } from './erasure.js';

/** People kept in memory: the most recently created at open, then everyone seen since. */
const PRELOAD = 100_000;

export interface SubjectRow {
  readonly pseudonym: string;
  readonly lookup: Buffer;
  readonly wrapped: Buffer;
  readonly sealedId: Buffer;
}

interface Known {
  readonly entry: SubjectEntry;
  /** The lookup (base64) it is filed under in memory. */
  readonly lookup: string;
  readonly id?: string;
}

/** A person as a record names them (a PiiPlan is one): what their key row is found by. */
export interface Named {
  readonly pseudonym: string;
}

/** Where erasures go: the store's pool and schema, and where a failure after one is told. */
export interface KeystoreDatabase {
  readonly pool: pg.Pool;
  readonly schema: string;
  readonly onError: (err: LogsError) => void;
}

export class PgKeystore implements SubjectKeystore {
  private readonly byLookup = new Map<string, Known>();
  private readonly byPseudonym = new Map<string, Known>();
  /** Rows not yet committed, by pseudonym. */
  private readonly pending = new Map<string, SubjectRow>();
  private channelList: Array<{ channel: string; id: number; key: Buffer; created: string }> = [];
  private database: KeystoreDatabase | undefined;
  /**
   * Pseudonyms erased since open (every one in `dl_erased` once the listener has connected): a
   * row read just before its erasure committed is never learnt after it.
   */
  private readonly erased = new Set<string>();

  private constructor(
    private readonly crypto: SubjectCrypto,
    private readonly logId: string,
  ) {}

  /**
   * Load the newest people and every channel key; create key 1 of each encrypted channel that
   * has none (instances starting together agree on one: the first insert wins).
   */
  static async load(
    client: pg.ClientBase,
    crypto: SubjectCrypto,
    logId: string,
    encrypted: readonly string[],
  ): Promise<PgKeystore> {
    const ks = new PgKeystore(crypto, logId);
    const people = await client.query<{ pseudonym: string; lookup: Buffer; wrapped: Buffer }>(
      'SELECT pseudonym, lookup, wrapped FROM dl_subjects ORDER BY created DESC LIMIT $1',
      [PRELOAD],
    );
    for (const r of people.rows.reverse()) {
      const known = {
        entry: { pseudonym: r.pseudonym, key: crypto.unwrap(r.pseudonym, r.wrapped) },
        lookup: r.lookup.toString('base64'),
      };
      ks.byLookup.set(known.lookup, known);
      ks.byPseudonym.set(r.pseudonym, known);
    }
    for (const channel of encrypted) {
      await client.query(
        `INSERT INTO dl_channel_keys (channel, id, wrapped) VALUES ($1, 1, $2)
         ON CONFLICT (channel, id) DO NOTHING`,
        [channel, crypto.wrapChannelKey(channel, 1, crypto.newKey())],
      );
    }
    const keys = await client.query<{
      channel: string;
      id: number;
      wrapped: Buffer;
      created: Date;
    }>('SELECT channel, id, wrapped, created FROM dl_channel_keys ORDER BY channel, id');
    ks.channelList = keys.rows.map((r) => ({
      channel: r.channel,
      id: r.id,
      key: crypto.unwrapChannelKey(r.channel, r.id, r.wrapped),
      created: r.created.toISOString(),
    }));
    return ks;
  }

  subject(id: string): SubjectEntry {
    const lookup = this.crypto.lookup(id);
    const k = lookup.toString('base64');
    const known = this.byLookup.get(k);
    if (known !== undefined) return known.entry;
    const entry = this.crypto.newEntry();
    const mine = { entry, lookup: k, id };
    this.byLookup.set(k, mine);
    this.byPseudonym.set(entry.pseudonym, mine);
    this.pending.set(entry.pseudonym, {
      pseudonym: entry.pseudonym,
      lookup,
      wrapped: this.crypto.wrap(entry),
      sealedId: this.crypto.sealId(entry, id),
    });
    return entry;
  }

  /** The rows of these people (records name them) that are not yet known to be stored. */
  pendingRows(plans: readonly Named[]): SubjectRow[] {
    const out = new Map<string, SubjectRow>();
    for (const p of plans) {
      const row = this.pending.get(p.pseudonym);
      if (row !== undefined) out.set(p.pseudonym, row);
    }
    return [...out.values()];
  }

  /** Every row not yet known to be committed (an exit commits them with the last records). */
  allPending(): SubjectRow[] {
    return [...this.pending.values()];
  }

  /** These people's rows are committed. */
  stored(plans: readonly Named[]): void {
    for (const p of plans) this.pending.delete(p.pseudonym);
  }

  find(id: string): SubjectEntry | undefined {
    return this.byLookup.get(this.crypto.lookup(id).toString('base64'))?.entry;
  }

  keyOf(pseudonym: string): Buffer | undefined {
    return this.byPseudonym.get(pseudonym)?.entry.key;
  }

  idOf(pseudonym: string): string | undefined {
    return this.byPseudonym.get(pseudonym)?.id;
  }

  channelKey(channel: string): ChannelKey {
    const mine = this.channelList.filter((k) => k.channel === channel);
    const last = mine[mine.length - 1];
    if (last === undefined)
      throw new LogsError('INTERNAL', `channel ${channel} has no key (it is not encrypted)`);
    return { id: last.id, key: last.key };
  }

  rotateChannelKey(): ChannelKey {
    throw new LogsError(
      'STORE_UNSUPPORTED',
      'rotating a channel key is not available on the PostgreSQL store yet',
    );
  }

  channelKeys(): ChannelKeyList {
    return this.channelList.map((k) => [k.channel, k.id, k.key] as const);
  }

  channelKeyring(): ChannelKeyring {
    return keyringOf(this.logId, this.channelKeys());
  }

  channelKeyDates(): Array<{ channel: string; id: number; created: string }> {
    return this.channelList.map(({ channel, id, created }) => ({ channel, id, created }));
  }

  /** The store's database, for erasures (set once the store is open). */
  attach(database: KeystoreDatabase): void {
    this.database = database;
  }

  /**
   * Every pseudonym and key the database holds for these ids: all the rows of each keyed
   * lookup (instances that first saw a person at the same time each made one). Those this
   * instance did not know yet are remembered.
   */
  async keysOf(client: pg.Pool | pg.ClientBase, ids: readonly string[]): Promise<PersonKey[]> {
    const idOf = new Map(ids.map((id) => [this.crypto.lookup(id).toString('base64'), id]));
    if (idOf.size === 0) return [];
    const { rows } = await client.query<{ pseudonym: string; lookup: Buffer; wrapped: Buffer }>(
      'SELECT pseudonym, lookup, wrapped FROM dl_subjects WHERE lookup = ANY($1::bytea[])',
      [[...idOf.keys()].map((k) => Buffer.from(k, 'base64'))],
    );
    return rows
      .filter((r) => !this.erased.has(r.pseudonym))
      .map((r) => {
        const lookup = r.lookup.toString('base64');
        const found = { id: idOf.get(lookup) ?? '', pseudonym: r.pseudonym };
        const before = this.byPseudonym.get(r.pseudonym);
        const entry = before?.entry ?? {
          pseudonym: r.pseudonym,
          key: this.crypto.unwrap(r.pseudonym, r.wrapped),
        };
        // Remembered: an event naming the person now (the request's own record) is theirs, not
        // a new person's.
        const known = { entry, lookup, id: found.id };
        this.byPseudonym.set(r.pseudonym, known);
        const filed = this.byLookup.get(lookup);
        if (filed === undefined || filed === before) this.byLookup.set(lookup, known);
        return { ...found, key: entry.key };
      });
  }

  /**
   * Learn the keys and ids of these pseudonyms (records another instance wrote name people
   * this one has not met): those the database still holds, erased ones never.
   */
  async learn(client: pg.Pool | pg.ClientBase, pseudonyms: readonly string[]): Promise<void> {
    const unknown = [...new Set(pseudonyms)].filter(
      (p) => !this.byPseudonym.has(p) && !this.erased.has(p),
    );
    if (unknown.length === 0) return;
    const { rows } = await client.query<{
      pseudonym: string;
      lookup: Buffer;
      wrapped: Buffer;
      sealed_id: Buffer;
    }>('SELECT pseudonym, lookup, wrapped, sealed_id FROM dl_subjects WHERE pseudonym = ANY($1)', [
      unknown,
    ]);
    for (const r of rows) {
      if (this.erased.has(r.pseudonym) || this.byPseudonym.has(r.pseudonym)) continue;
      const key = this.crypto.unwrap(r.pseudonym, r.wrapped);
      const lookup = r.lookup.toString('base64');
      const known = {
        entry: { pseudonym: r.pseudonym, key },
        lookup,
        id: this.crypto.openId(r.pseudonym, key, r.sealed_id),
      };
      this.byPseudonym.set(r.pseudonym, known);
      if (!this.byLookup.has(lookup)) this.byLookup.set(lookup, known);
    }
  }

  /**
   * Destroy people's keys and id mappings (GDPR erasure): this instance forgets them, their
   * rows leave `dl_subjects` (the other instances are told), then VACUUM reclaims the rows. A
   * failed VACUUM is reported, not thrown: the keys are gone from the table all the same, and
   * autovacuum reclaims the space later. Resolves with how many had a row.
   */
  async destroy(pseudonyms: readonly string[]): Promise<number> {
    const db = this.database;
    if (db === undefined) throw new LogsError('INTERNAL', 'the keystore has no database');
    // First: an event about the person from now on makes a new person, with a new key.
    this.forget(pseudonyms);
    const gone = await deleteSubjects(db.pool, db.schema, pseudonyms);
    const why = await vacuumSubjects(db.pool).then(
      (done) => (done ? undefined : 'only the table’s owner may vacuum it'),
      (err: unknown) => (err instanceof Error ? err.message : String(err)),
    );
    if (why !== undefined)
      db.onError(
        new LogsError(
          'DATABASE_UNAVAILABLE',
          `erasure done (the key rows are deleted), but VACUUM dl_subjects did not run (${why}): the deleted rows stay in the table's pages until autovacuum reclaims them; run VACUUM dl_subjects as the schema's owner`,
        ),
      );
    return gone.length;
  }

  /**
   * Drop erased people from memory (this instance's erasures, and other instances' told by
   * NOTIFY). A row not yet committed is dropped too: records waiting for it are stored without
   * it, unreadable, as every record of an erased person is.
   */
  forget(pseudonyms: readonly string[]): void {
    for (const p of pseudonyms) {
      this.erased.add(p);
      const known = this.byPseudonym.get(p);
      if (known === undefined) continue;
      this.byPseudonym.delete(p);
      if (this.byLookup.get(known.lookup) === known) this.byLookup.delete(known.lookup);
      this.pending.delete(p);
    }
  }
}
