/**
 * What GDPR export and erasure ask of the PostgreSQL store (store.ts `StorePeople`): a person's
 * pseudonyms by the keyed lookup of their id (every row: a person may have several), their
 * records through the `people` column (GIN-indexed), and the request register's events by
 * type. Each query costs in the amount of the person's data, not the log's.
 */
import type { KeyObject } from 'node:crypto';
import type pg from 'pg';
import type { Config } from '../../config/resolve.js';
import { LogsError } from '../../errors.js';
import type { SegmentBook } from '../segment-book.js';
import type { PersonKey, PersonRecord, StorePeople, StoredRecord } from '../store.js';
import { prevFromBook } from './chain-prev.js';
import { listenErasures } from './erasure.js';
import type { PgKeystore } from './keystore.js';
import type { PgLogIdentity } from './meta.js';

const PAGE = 1000;

export interface PeopleParts {
  readonly pool: pg.Pool;
  readonly keys: PgKeystore;
  readonly logId: string;
  readonly privateKey: KeyObject;
  /** Encrypted channels: rows imported from a file log keep no event type in clear. */
  readonly encrypted: ReadonlySet<string>;
  /** The segment book now (the chain hash at a segment's start, when the one before is gone). */
  readonly book: () => SegmentBook;
  /** A channel's records from a seq (the store's own read). */
  readonly read: (channel: string, fromSeq: number) => AsyncIterable<StoredRecord>;
  /** Erasures committed before the call applied to `keys` (erasure.ts). */
  readonly settled: () => Promise<void>;
}

interface RecordRow {
  channel: string;
  seq: string;
  ts: Date;
  line: string;
  hash: string;
  prev: string | null;
}

export class PgPeople implements StorePeople {
  constructor(private readonly parts: PeopleParts) {}

  settled(): Promise<void> {
    return this.parts.settled();
  }

  learn(pseudonyms: readonly string[]): Promise<void> {
    return this.parts.keys.learn(this.parts.pool, pseudonyms);
  }

  keysOf(ids: readonly string[]): Promise<PersonKey[]> {
    return this.parts.keys.keysOf(this.parts.pool, ids);
  }

  async *records(pseudonyms: readonly string[]): AsyncIterable<PersonRecord> {
    if (pseudonyms.length === 0) return;
    let after: { ts: Date | string; channel: string; seq: string } = {
      ts: '-infinity',
      channel: '',
      seq: '0',
    };
    for (;;) {
      // The hash before each record, from the row before it in the chain (when still there).
      const { rows } = await this.parts.pool.query<RecordRow>(
        `SELECT r.channel, r.seq, r.ts, r.line, r.hash, p.hash AS prev
           FROM dl_records r
           LEFT JOIN LATERAL (
             SELECT b.hash FROM dl_records b
              WHERE b.channel = r.channel AND b.seq = r.seq - 1 LIMIT 1) p ON true
          WHERE r.people && $1::text[] AND (r.ts, r.channel, r.seq) > ($2, $3, $4)
          ORDER BY r.ts, r.channel, r.seq
          LIMIT $5`,
        [pseudonyms, after.ts, after.channel, after.seq, PAGE],
      );
      for (const r of rows) {
        const seq = Number(r.seq);
        yield {
          channel: r.channel,
          seq,
          line: r.line,
          hash: r.hash,
          prev: r.prev ?? this.prevOf(r.channel, seq),
        };
      }
      const last = rows[rows.length - 1];
      if (rows.length < PAGE || last === undefined) return;
      after = last;
    }
  }

  async held(
    channel: string,
    pseudonyms: readonly string[],
    except: readonly string[],
  ): Promise<{ records: number; newestMs: number | null }> {
    if (pseudonyms.length === 0) return { records: 0, newestMs: null };
    const { rows } = await this.parts.pool.query<{ n: string; newest: Date | null }>(
      `SELECT count(*) AS n, max(ts) AS newest FROM dl_records
        WHERE people && $1::text[] AND channel = $2 AND NOT (event = ANY($3::text[]))`,
      [pseudonyms, channel, except],
    );
    const r = rows[0];
    return { records: Number(r?.n ?? 0), newestMs: r?.newest?.getTime() ?? null };
  }

  async *events(channel: string, types: readonly string[]): AsyncIterable<StoredRecord> {
    if (this.parts.encrypted.has(channel)) {
      yield* this.parts.read(channel, 1);
      return;
    }
    let after = 0;
    for (;;) {
      const { rows } = await this.parts.pool.query<{ seq: string; line: string }>(
        `SELECT seq, line FROM dl_records
          WHERE event = ANY($1::text[]) AND channel = $2 AND seq > $3
          ORDER BY seq LIMIT $4`,
        [types, channel, after, PAGE],
      );
      for (const r of rows) yield { seq: Number(r.seq), line: r.line };
      if (rows.length < PAGE) return;
      after = Number(rows[rows.length - 1]?.seq);
    }
  }

  signingKey(): KeyObject {
    return this.parts.privateKey;
  }

  /** The chain hash before `seq` when its row is gone: the chain's start or a segment's. */
  private prevOf(channel: string, seq: number): string | undefined {
    return prevFromBook(this.parts.logId, this.parts.book(), channel, seq);
  }
}

/** What the store hands over of itself. */
export interface PeopleStore {
  readonly config: Config;
  readonly pool: pg.Pool;
  readonly keys: PgKeystore;
  readonly identity: PgLogIdentity;
  readonly onError: (err: LogsError) => void;
}

/**
 * The store's people: the keystore learns where erasures go, and this instance starts
 * listening for other instances' erasures (forgetting those people's keys). `stop` ends it.
 */
export function openPeople(
  store: PeopleStore,
  book: () => SegmentBook,
  read: (channel: string, fromSeq: number) => AsyncIterable<StoredRecord>,
): { people: PgPeople; stop: () => Promise<void> } {
  const { config, pool, keys, identity } = store;
  if (config.store.kind !== 'postgres') throw new LogsError('INTERNAL', 'not a postgres store');
  const { url, schema } = config.store;
  keys.attach({ pool, schema, onError: store.onError });
  const erasures = listenErasures(url, schema, (p) => keys.forget(p), pool);
  const encrypted = Object.keys(config.channels).filter((c) => config.channels[c]?.encrypt);
  const people = new PgPeople({
    pool,
    keys,
    logId: identity.logId,
    privateKey: identity.privateKey,
    encrypted: new Set(encrypted),
    book,
    read,
    settled: () => erasures.settled(),
  });
  return { people, stop: () => erasures.stop() };
}
