import type { ChannelKey, ChannelKeyList, ChannelKeyring } from './body-cipher.js';

// The subject keystore's face as the rest of the code sees it (crypto/keystore.ts implements it).

/** A person's entry in the keystore: a random pseudonym and a random 256-bit data key. */
export interface SubjectEntry {
  readonly pseudonym: string;
  readonly key: Buffer;
}

/** The keystore as classification sees it: look a person up, creating them on first sight. */
export interface SubjectKeys {
  subject(id: string): SubjectEntry;
}

/** The keystore as a reader allowed to see personal data sees it. */
export interface SubjectLookup {
  /** The data key behind a pseudonym, if the person has not been erased. */
  keyOf(pseudonym: string): Buffer | undefined;
  /** The id behind a pseudonym, if the person has not been erased. */
  idOf(pseudonym: string): string | undefined;
}

/**
 * A whole subject keystore as a store hands it out (the file store's SQLite keystore, the
 * PostgreSQL store's table): people's keys, channel keys, and erasure.
 */
export interface SubjectKeystore extends SubjectKeys, SubjectLookup {
  /** A person's entry if they are known; never creates one. */
  find(id: string): SubjectEntry | undefined;
  /** The current key of an encrypted channel, created (durably) when it has none. */
  channelKey(channel: string): ChannelKey;
  /** Start a new key for a channel; durable before any record is written under it. */
  rotateChannelKey(channel: string): ChannelKey;
  /** Every channel key, unwrapped: [channel, id, key], by channel then id. */
  channelKeys(): ChannelKeyList;
  channelKeyring(): ChannelKeyring;
  /** When each channel key was made (no key material). */
  channelKeyDates(): Array<{ channel: string; id: number; created: string }>;
  /**
   * Destroy people's keys and id mappings (GDPR erasure), then leave no copy of them where the
   * keystore can reach (free pages, its journal). Resolves with how many were known. Async: a
   * keystore in a database answers only once the database has.
   */
  destroy(pseudonyms: readonly string[]): Promise<number>;
}
