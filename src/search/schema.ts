/**
 * The query index's schema (`.index/index.db`). The index is a view of the log files, never a
 * source of truth: a database whose `user_version` is not SCHEMA_VERSION is deleted and built
 * again, never migrated.
 *
 * It holds only the stored form of records: pseudonyms, placeholders, event types. Never the
 * contents of `pii`, never a decrypted value.
 */

/** Bump on any change below: an index of another version is rebuilt from the log files. */
export const SCHEMA_VERSION = 5;

/**
 * A record's rowid is `channel_no * 2^43 + seq`: the rowid is the (channel, seq) key itself, so
 * no separate unique index is needed, rows of a channel are appended in rowid order while
 * indexing, and the full-text table shares the rowid. 2^10 channels and seq below 2^43 (8.8
 * trillion records per channel) keep every rowid a safe JavaScript integer.
 */
export const SEQ_BITS = 43;
export const SEQ_LIMIT = 2 ** SEQ_BITS;
export const CHANNEL_LIMIT = 2 ** (53 - SEQ_BITS);

export function recordId(channelNo: number, seq: number): number {
  return channelNo * SEQ_LIMIT + seq;
}

export function splitRecordId(id: number): { channelNo: number; seq: number } {
  return { channelNo: Math.floor(id / SEQ_LIMIT), seq: id % SEQ_LIMIT };
}

/** Tables, created once in a new database. */
export const TABLES = `
CREATE TABLE meta (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;

-- Per channel: its number (in record rowids) and how far it is indexed. indexed_seq and
-- last_hash say where the log was when it was last read: if the log no longer has that hash
-- at that seq, it was replaced and the index is rebuilt. seg_first and last_offset locate the
-- line of indexed_seq (its segment, by first seq, and byte offset), next_offset the byte after
-- it, so a catch-up resumes without reading the file again from its start.
CREATE TABLE state (
  channel TEXT PRIMARY KEY,
  channel_no INTEGER NOT NULL UNIQUE,
  indexed_seq INTEGER NOT NULL DEFAULT 0,
  last_hash BLOB,
  seg_first INTEGER,
  last_offset INTEGER,
  next_offset INTEGER
) WITHOUT ROWID;

-- Each channel's segments as the signed segment log described them at the last catch-up: a
-- record lives in the segment with the greatest first <= seq. The bytes of a segment do not
-- change from the active file to staging to its archive (uncompressed), so a record's
-- line_offset stays valid through rotation and sealing; only this small table is updated.
-- kind: active, staging, sealed or deleted (removed by retention: no file, no rows).
CREATE TABLE segments (
  channel TEXT NOT NULL,
  first INTEGER NOT NULL,
  last INTEGER,
  kind TEXT NOT NULL,
  file TEXT NOT NULL,
  PRIMARY KEY (channel, first)
) WITHOUT ROWID;

-- Interned strings: event types, pseudonyms, target references. Records hold their ids, which
-- keeps rows and indexes narrow (a pseudonym is 28 characters; its id one to four bytes) and
-- makes the secondary indexes cheaper to build. One table for all: the same pseudonym as
-- actor and as subject has the same id.
CREATE TABLE refs (
  id INTEGER PRIMARY KEY,
  text TEXT NOT NULL UNIQUE
);

-- The refs ids that are event types: an event glob (auth.*) is matched against these, not
-- against every pseudonym in refs.
CREATE TABLE event_types (
  event INTEGER PRIMARY KEY
);

-- One row per record, in the stored form. event, sub, actor_ref (the stored actor.id) and
-- target_ref (the stored "target.type:target.id") are refs ids; level_rank is LEVEL_RANK of
-- the level; hash is the chain hash (32 bytes), so a record read back from its segment can be
-- checked against what was indexed.
CREATE TABLE records (
  id INTEGER PRIMARY KEY,
  channel INTEGER NOT NULL,
  seq INTEGER NOT NULL,
  ts_ms INTEGER NOT NULL,
  level_rank INTEGER NOT NULL,
  event INTEGER NOT NULL,
  outcome TEXT,
  sub INTEGER,
  request_id TEXT,
  actor_ref INTEGER,
  target_ref INTEGER,
  line_offset INTEGER NOT NULL,
  hash BLOB NOT NULL
);

-- The Merkle leaves of each channel (see leaves.ts): the chain hashes of its records from seq
-- 1, LEAF_BLOCK (1,024) per row, 32 bytes each, in seq order; id is channel_no * 2^43 + the
-- block's number (block b holds seq b * 1024 + 1 to (b + 1) * 1024). root is the RFC 9162 root
-- of the block's perfect subtree once the block is full, NULL before; it comes first so that
-- reading the roots alone never touches the hashes' overflow pages. Apart from records: GDPR
-- erasure and retention remove rows there, never leaves (proofs need them all, and a chain
-- hash is not personal data).
CREATE TABLE leaf_blocks (
  id INTEGER PRIMARY KEY,
  root BLOB,
  hashes BLOB NOT NULL
);

-- Full text of the stored msg. Contentless: the text is already in the log files, and every
-- result is read back from its segment anyway (what is shown is what is chained), so a copy
-- here (external content would need a msg column in records) would double the space for
-- nothing. contentless_delete lets retention remove the rows of a deleted segment; full
-- detail keeps phrase queries. remove_diacritics 2 so "eleve" finds "élève".
CREATE VIRTUAL TABLE msg_fts USING fts5(
  msg,
  content = '',
  contentless_delete = 1,
  tokenize = 'unicode61 remove_diacritics 2'
);

-- The same rows with their strings, for people and tests (the query layer uses the ids).
CREATE VIEW records_view AS
SELECT r.id, s.channel, r.seq, r.ts_ms, r.level_rank, e.text AS event, r.outcome,
       su.text AS sub, r.request_id, a.text AS actor_ref, t.text AS target_ref,
       r.line_offset, r.hash
FROM records r
JOIN state s ON s.channel_no = r.channel
JOIN refs e ON e.id = r.event
LEFT JOIN refs su ON su.id = r.sub
LEFT JOIN refs a ON a.id = r.actor_ref
LEFT JOIN refs t ON t.id = r.target_ref;
`;

/**
 * Secondary indexes, by name. A build from empty loads the rows first and creates these after:
 * sorting once is several times faster than growing six B-trees row by row.
 */
export const INDEXES: Readonly<Record<string, string>> = Object.freeze({
  records_by_sub: 'records(sub, ts_ms) WHERE sub IS NOT NULL',
  records_by_actor: 'records(actor_ref, ts_ms) WHERE actor_ref IS NOT NULL',
  records_by_event: 'records(event, ts_ms)',
  records_by_channel: 'records(channel, ts_ms)',
  records_by_request: 'records(request_id) WHERE request_id IS NOT NULL',
  // A person's records include those where they are the target (GDPR export and erasure).
  records_by_target: 'records(target_ref) WHERE target_ref IS NOT NULL',
  records_by_ts: 'records(ts_ms)',
});

/** Tables a valid index has (checked at open, with the version). */
export const EXPECTED_TABLES = [
  'meta',
  'state',
  'segments',
  'refs',
  'event_types',
  'records',
  'msg_fts',
  'leaf_blocks',
] as const;
