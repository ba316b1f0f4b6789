import {
  catchUp,
  hitAt,
  type CatchUpOptions,
  type CatchUpReport,
  type IndexDb,
} from '../search/index.js';
import { revealOrStored } from '../pipeline/reveal.js';
import type { ChannelKeyring } from '../crypto/body-cipher.js';
import type { SubjectLookup } from '../crypto/subjects.js';
import { readSegmentBook, type LogLayout } from '../store/file/index.js';
import type { QueryFilter } from './filter.js';
import { RecordReader, type ReadStatus } from './read.js';
import { search, type Order } from './search.js';

export interface QueryRequest {
  readonly filter: QueryFilter;
  readonly limit?: number;
  readonly cursor?: string;
  readonly order?: Order;
  /** Bring the index up to date first (default true): a query sees every acknowledged record. */
  readonly catchUp?: boolean;
  readonly catchUpOptions?: CatchUpOptions;
}

export interface QueryRecord {
  readonly channel: string;
  readonly seq: number;
  /** `ok` unless reading it back showed damage (see ReadStatus). */
  readonly status: ReadStatus;
  /**
   * The record as stored, or with personal values put back when a keystore was given. Undefined
   * when no line was found for it (`missing`).
   */
  readonly record: Record<string, unknown> | undefined;
  /** The file it was read from, relative to the logs directory. */
  readonly file: string;
}

export interface QueryResult {
  readonly records: QueryRecord[];
  /** Cursor of the next page; undefined when this was the last. */
  readonly next: string | undefined;
  /** Records whose read-back showed damage (also in `records`, with their status). */
  readonly damaged: QueryRecord[];
  /** The catch-up run before the search, when there was one. */
  readonly indexed: CatchUpReport | undefined;
  /**
   * Encrypted channels the catch-up could not read for lack of their keys (`channelKeys`): their
   * records past the point it reached are not in this answer, however they match.
   */
  readonly locked: string[];
}

/**
 * Answer a query: catch the index up, search it, read each found record from its segment and
 * check it against its chain hash, and put personal values back when `keys` is given (only for
 * a caller allowed to see them). `channelKeys` open the records of encrypted channels (and let
 * the catch-up index them); without them those records show only their readable fields.
 */
export async function runQuery(
  layout: LogLayout,
  logId: string,
  db: IndexDb,
  request: QueryRequest,
  keys?: SubjectLookup,
  channelKeys?: ChannelKeyring,
): Promise<QueryResult> {
  const indexed =
    request.catchUp === false
      ? undefined
      : await catchUp(layout, logId, db, {
          ...request.catchUpOptions,
          ...(channelKeys === undefined ? {} : { channelKeys }),
        });
  const page = search(db, request.filter, {
    ...(request.limit === undefined ? {} : { limit: request.limit }),
    ...(request.cursor === undefined ? {} : { cursor: request.cursor }),
    ...(request.order === undefined ? {} : { order: request.order }),
  });
  const reader = new RecordReader(layout, logId, readSegmentBook(layout, logId), channelKeys);
  const read = await reader.read(page.hits);
  const records = read.map((r): QueryRecord => ({
    channel: r.hit.channel,
    seq: r.hit.seq,
    status: r.status,
    record: revealed(r.record, r.status, keys, logId),
    file: r.file,
  }));
  return {
    records,
    next: page.next,
    damaged: records.filter((r) => isDamage(r.status)),
    indexed,
    locked: (indexed?.channels ?? []).filter((c) => c.locked).map((c) => c.channel),
  };
}

/** A record with its personal values put back, when keys are given and it is not damaged. */
function revealed(
  record: Record<string, unknown> | undefined,
  status: ReadStatus,
  keys: SubjectLookup | undefined,
  logId: string,
): Record<string, unknown> | undefined {
  if (record === undefined || keys === undefined || isDamage(status)) return record;
  return revealOrStored(record, keys, logId);
}

/** Whether a read status is damage (`unverified` is not: the line carries the indexed hash). */
export function isDamage(status: ReadStatus): boolean {
  return status === 'hash_mismatch' || status === 'missing';
}

/**
 * One record by channel and seq, through the index (caught up by the caller), read back and
 * checked like a query's. Undefined when the index has no such record (never written, removed
 * by retention, or an erased person's).
 */
export async function readOne(
  layout: LogLayout,
  logId: string,
  db: IndexDb,
  channel: string,
  seq: number,
  keys?: SubjectLookup,
  channelKeys?: ChannelKeyring,
): Promise<QueryRecord | undefined> {
  const hit = hitAt(db, channel, seq);
  if (hit === undefined) return undefined;
  const reader = new RecordReader(layout, logId, readSegmentBook(layout, logId), channelKeys);
  const [r] = await reader.read([hit]);
  if (r === undefined) return undefined;
  return {
    channel,
    seq,
    status: r.status,
    record: revealed(r.record, r.status, keys, logId),
    file: r.file,
  };
}
