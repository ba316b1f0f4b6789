/**
 * Queries answered by a backend that keeps its records in a database (PostgreSQL): the same
 * filters, pages, checks and answers as the file store's index (query.ts), with the selection
 * made by the database. Each record found is read back from its stored line and checked against
 * its chain hash before anyone sees it: what is shown is what is chained.
 */
import { openIfSealed, type ChannelKeyring } from '../crypto/body-cipher.js';
import type { SubjectLookup } from '../crypto/subjects.js';
import { LogsError } from '../errors.js';
import { LEVEL_RANK, LEVELS } from '../event/levels.js';
import { ChainHasher, rawLineHash } from '../integrity/chain.js';
import { revealOrStored } from '../pipeline/reveal.js';
import type { EventPattern, PersonRecord, RecordSelection, StoreRecords } from '../store/store.js';
import { isGlob, textTerms, type QueryFilter } from './filter.js';
import { isDamage, type QueryRecord, type QueryRequest, type QueryResult } from './query.js';
import type { ReadStatus } from './read.js';
import { decodeCursor, DEFAULT_LIMIT, encodeCursor, MAX_LIMIT } from './search.js';

/** Where a database record is said to have been read from (as `verify` names it). */
export const RECORDS_TABLE = 'dl_records';

/** A stored record read back: parsed, checked, an encrypted channel's body opened. */
export interface StoredReadBack {
  readonly channel: string;
  readonly seq: number;
  readonly status: ReadStatus;
  readonly record: Record<string, unknown> | undefined;
  readonly file: string;
}

/**
 * Read back a record a database store returned: parsed, checked against its chain hash
 * (`unverified` when the hash before it is gone: retention removed it), an encrypted channel's
 * body opened (a ciphertext that does not open while its chain hash holds is forged).
 */
export function readBackStored(
  r: PersonRecord,
  ring: ChannelKeyring | undefined,
  hasher: ChainHasher,
): StoredReadBack {
  const record = parseLine(r.line);
  const at = { channel: r.channel, seq: r.seq, file: RECORDS_TABLE };
  if (record === undefined || record.seq !== r.seq || record.channel !== r.channel)
    return { ...at, status: 'hash_mismatch', record };
  const line = Buffer.from(r.line, 'utf8');
  let status: ReadStatus;
  if (rawLineHash(line) !== r.hash) status = 'hash_mismatch';
  else if (r.prev === undefined) status = 'unverified';
  else status = hasher.nextFromLine(r.prev, line) === r.hash ? 'ok' : 'hash_mismatch';
  if (ring === undefined) return { ...at, status, record };
  const opened = openIfSealed(record, ring);
  return { ...at, status: opened.damaged ? 'hash_mismatch' : status, record: opened.record };
}

/** A stored line as a record; undefined when it is not a JSON object. */
export function parseLine(line: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Answer a query from a database store: select, read back and check each record, put personal
 * values back when `keys` is given (only for a caller allowed to see them).
 */
export async function runStoreQuery(
  records: StoreRecords,
  logId: string,
  request: QueryRequest,
  keys?: RevealKeys,
  channelKeys?: ChannelKeyring,
): Promise<QueryResult> {
  const limit = request.limit ?? DEFAULT_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIMIT)
    throw new LogsError('USAGE', `--limit: a whole number from 1 to ${MAX_LIMIT}`);
  const cursor = request.cursor === undefined ? undefined : decodeCursor(request.cursor);
  const order = cursor?.order ?? request.order ?? 'desc';
  const selection = selectionOf(request.filter, order, limit + 1);
  if (selection === undefined) return emptyResult();
  const found = await records.select(
    cursor === undefined
      ? selection
      : { ...selection, after: { tsMs: cursor.ts, channel: cursor.channel, seq: cursor.seq } },
  );
  const page = found.slice(0, limit);
  const hasher = new ChainHasher();
  const back = page.map((r) => readBackStored(r, channelKeys, hasher));
  if (keys !== undefined) await keys.learn(pseudonymsIn(back));
  const out = back.map((b): QueryRecord => ({ ...b, record: revealed(b, keys?.lookup, logId) }));
  const last = page[page.length - 1];
  return {
    records: out,
    next:
      found.length > limit && last !== undefined
        ? encodeCursor({ ts: last.tsMs, channel: last.channel, seq: last.seq, order })
        : undefined,
    damaged: out.filter((r) => isDamage(r.status)),
    indexed: undefined,
    locked: [],
  };
}

/** One record by channel and seq, read back and checked as a query's; undefined when none. */
export async function readStoreOne(
  records: StoreRecords,
  logId: string,
  channel: string,
  seq: number,
  keys?: RevealKeys,
  channelKeys?: ChannelKeyring,
): Promise<QueryRecord | undefined> {
  const r = await records.one(channel, seq);
  if (r === undefined) return undefined;
  const back = readBackStored(r, channelKeys, new ChainHasher());
  if (keys !== undefined) await keys.learn(pseudonymsIn([back]));
  return { ...back, record: revealed(back, keys?.lookup, logId) };
}

/**
 * The keys that put personal values back, and how to learn the people this process has not
 * met (a database store: another process wrote their records).
 */
export interface RevealKeys {
  readonly lookup: SubjectLookup;
  readonly learn: (pseudonyms: readonly string[]) => Promise<void>;
}

const PSEUDONYMS = /sub_[\da-f]{24}/g;

/** The pseudonyms named anywhere in these records (actor, subject, target, pii, data). */
export function pseudonymsIn(
  records: ReadonlyArray<{ readonly record?: Record<string, unknown> | undefined }>,
): string[] {
  const found = new Set<string>();
  for (const r of records)
    if (r.record !== undefined)
      for (const m of JSON.stringify(r.record).matchAll(PSEUDONYMS)) found.add(m[0]);
  return [...found];
}

function revealed(
  back: StoredReadBack,
  keys: SubjectLookup | undefined,
  logId: string,
): Record<string, unknown> | undefined {
  if (back.record === undefined || keys === undefined || isDamage(back.status)) return back.record;
  return revealOrStored(back.record, keys, logId);
}

function emptyResult(): QueryResult {
  return { records: [], next: undefined, damaged: [], indexed: undefined, locked: [] };
}

/**
 * A query's filter as a database selection; undefined when nothing can match (a text with no
 * word to search for, as the file store's index answers it).
 */
export function selectionOf(
  filter: QueryFilter,
  order: 'asc' | 'desc',
  limit: number,
): RecordSelection | undefined {
  const terms = filter.text === undefined ? undefined : textTerms(filter.text);
  if (terms !== undefined && terms.length === 0) return undefined;
  const level = filter.level;
  return {
    order,
    limit,
    ...(filter.channels === undefined ? {} : { channels: filter.channels }),
    ...(level === undefined
      ? {}
      : { levels: LEVELS.filter((l) => LEVEL_RANK[l] >= LEVEL_RANK[level]) }),
    ...(filter.events === undefined ? {} : { events: patterns(filter.events) }),
    ...(filter.excludeEvents === undefined
      ? {}
      : { excludeEvents: patterns(filter.excludeEvents) }),
    ...(filter.outcomes === undefined ? {} : { outcomes: filter.outcomes }),
    ...(filter.actors === undefined ? {} : { actors: filter.actors }),
    ...(filter.subjects === undefined ? {} : { subjects: filter.subjects }),
    ...(filter.requestIds === undefined ? {} : { requestIds: filter.requestIds }),
    ...(filter.sinceMs === undefined ? {} : { sinceMs: filter.sinceMs }),
    ...(filter.untilMs === undefined ? {} : { untilMs: filter.untilMs }),
    ...(terms === undefined
      ? {}
      : {
          text: {
            words: terms
              .filter((t) => t.kind !== 'phrase')
              .map((t) => ({ word: t.words[0] ?? '', prefix: t.kind === 'prefix' })),
            phrases: terms.filter((t) => t.kind === 'phrase').map((t) => t.words),
          },
        }),
  };
}

function patterns(events: readonly string[]): EventPattern[] {
  return events.map((text) => ({ text, glob: isGlob(text) }));
}
