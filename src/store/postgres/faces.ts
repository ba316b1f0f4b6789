/**
 * The faces a PostgreSQL store shows besides the Store interface: GDPR's (people.ts) and
 * queries' and tails' (records.ts). Each holds a LISTEN connection of its own, opened with it
 * and ended by `stop` when the store closes.
 */
import type { SegmentBook } from '../segment-book.js';
import type { StoredRecord } from '../store.js';
import { openPeople, type PeopleStore, type PgPeople } from './people.js';
import { openRecords, type PgRecords, type RecordsStore } from './records.js';

export type { PgPeople } from './people.js';
export type { PgRecords } from './records.js';

/** The store's faces, and what ends them. */
export interface Faces {
  readonly people: PgPeople;
  readonly records: PgRecords;
  stop(): Promise<void>;
}

/** Open the people and records faces of a store whose segment book `book` gives. */
export function openFaces(
  store: PeopleStore & RecordsStore,
  book: () => SegmentBook,
  read: (channel: string, fromSeq: number) => AsyncIterable<StoredRecord>,
): Faces {
  const people = openPeople(store, book, read);
  const records = openRecords(store, book);
  return {
    people: people.people,
    records: records.records,
    stop: async () => {
      await Promise.all([people.stop(), records.stop()]);
    },
  };
}
