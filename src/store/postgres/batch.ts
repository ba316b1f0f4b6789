/**
 * One group commit of a channel's records on PostgreSQL, the only place seqs are assigned:
 * lock the channel's head row, answer retries (idempotency keys already stored) with their
 * original seq and hash, give each new record the next seq and chain it to the head just read,
 * insert the rows, move the head, commit. Any number of instances can run this at once: the
 * head row's lock makes them take turns per channel, so seq has no gap and the chain no fork.
 */
import type pg from 'pg';
import { sealEvent, type Sealable } from '../../pipeline/prepare.js';
import { PiiSealer } from '../../crypto/pii-cipher.js';
import { levelOfHead, sealBody, type ChannelKey } from '../../crypto/body-cipher.js';
import { ChainHasher, toLine } from '../../integrity/chain.js';
import type { Ack } from '../store.js';
import type { Named, SubjectRow } from './keystore.js';
import { APPENDED_CHANNEL } from './follow.js';
import { commitConfirmed, transaction } from './pool.js';

/** A record waiting for its seq. `idem`: its idempotency key, if the producer gave one. */
export interface PendingRecord {
  readonly p: Sealable & { readonly idem?: string | undefined };
  readonly ts: string;
  readonly skew: number;
}

/** What a channel's commit needs besides the records. */
export interface BatchContext {
  readonly logId: string;
  readonly channel: string;
  /** The rows of new people a batch's records name (the keystore, or a copy). */
  readonly keys: { pendingRows(people: readonly Named[]): SubjectRow[] };
  readonly bodyKey: ChannelKey | undefined;
  readonly idempotencyWindowMs: number;
  readonly hasher: ChainHasher;
  readonly sealer: PiiSealer;
}

/** The batch as committed: one ack per record (a retry's is the original), and the new head. */
export interface BatchResult {
  readonly acks: readonly Ack[];
  /** Records actually inserted (retries answered from the table are not). */
  readonly inserted: number;
  readonly bytes: number;
  readonly head: { readonly seq: number; readonly hash: string; readonly ts: string };
  /** The people the batch's records name: their key rows are stored with them. */
  readonly people: readonly Named[];
}

/** A record's row in `dl_records`: its stored line and the columns queries filter on. */
export interface Row {
  seq: number;
  ts: string;
  level: string;
  event: string;
  actor: string | null;
  sub: string | null;
  requestId: string | null;
  outcome: string | null;
  msg: string | null;
  /** Pseudonyms of the people the record is about (sub, pii, a personal actor): export finds them. */
  people: string[] | null;
  line: string;
  hash: string;
}

/**
 * Commit `records` to `ctx.channel` in one transaction on `client` (a connection of its own).
 * Throws what PostgreSQL threw; the transaction is then rolled back and nothing was stored,
 * unless the error came with COMMIT itself (the caller checks the head: `expectedHead`).
 */
export async function commitBatch(
  client: pg.ClientBase,
  ctx: BatchContext,
  records: readonly PendingRecord[],
  onHead?: (expected: BatchResult) => void,
): Promise<BatchResult> {
  return transaction(
    client,
    async () => {
      const { rows } = await client.query<{ seq: string; hash: string; last_ts: string }>(
        'SELECT seq, hash, last_ts FROM dl_heads WHERE channel = $1 FOR UPDATE',
        [ctx.channel],
      );
      const head = rows[0];
      if (head === undefined) throw new Error(`no head row for channel ${ctx.channel}`);
      const known = await storedRetries(client, ctx, records);
      let seq = Number(head.seq);
      let hash = head.hash;
      let lastTs = head.last_ts;
      const acks: Ack[] = [];
      const out: Row[] = [];
      const idem: Array<{ key: string; seq: number; hash: string }> = [];
      let bytes = 0;
      for (const r of records) {
        const key = r.p.idem;
        const before = key === undefined ? undefined : known.get(key);
        if (before !== undefined) {
          acks.push(before);
          continue;
        }
        // Another instance may have stamped a later time first: time never goes back in a
        // channel, the difference is recorded as clock skew, as for a clock that went back.
        let ts = r.ts;
        let skew = r.skew;
        if (ts < lastTs) {
          skew += Date.parse(lastTs) - Date.parse(ts);
          ts = lastTs;
        }
        seq += 1;
        const row = sealRow(ctx, r.p, seq, ts, skew, hash);
        hash = row.hash;
        lastTs = ts;
        bytes += row.line.length + 1;
        out.push(row);
        const ack = { channel: ctx.channel, seq, hash };
        acks.push(ack);
        if (key !== undefined) {
          idem.push({ key, seq, hash });
          known.set(key, ack); // the same key twice in one batch: one record
        }
      }
      const people = await insertSubjects(client, ctx, records, out);
      if (out.length > 0) {
        await insertRows(client, ctx.channel, out);
        if (idem.length > 0) await insertKeys(client, ctx.channel, idem);
        // Tails of every instance are told in the same statement (no round trip more); the
        // notice is delivered at COMMIT, once the rows are visible, and never for a rollback.
        // The schema is the connection's own (its search path: pool.ts).
        await client.query(
          `WITH moved AS (
             UPDATE dl_heads SET seq = $2, hash = $3, last_ts = $4 WHERE channel = $1
             RETURNING channel)
           SELECT pg_notify($5, current_schema() || ' ' || channel) FROM moved`,
          [ctx.channel, seq, hash, lastTs, APPENDED_CHANNEL],
        );
      }
      const result = { acks, inserted: out.length, bytes, head: { seq, hash, ts: lastTs }, people };
      onHead?.(result); // if COMMIT's answer is lost, the head tells whether it happened
      return result;
    },
    commitConfirmed,
  );
}

/** The acks of keys already stored within the window; expired ones are removed first. */
async function storedRetries(
  client: pg.ClientBase,
  ctx: BatchContext,
  records: readonly PendingRecord[],
): Promise<Map<string, Ack>> {
  const keys = [...new Set(records.flatMap((r) => (r.p.idem === undefined ? [] : [r.p.idem])))];
  const known = new Map<string, Ack>();
  if (keys.length === 0) return known;
  const windowS = ctx.idempotencyWindowMs / 1000;
  await client.query(
    `DELETE FROM dl_idempotency WHERE channel = $1 AND key = ANY($2)
       AND created <= now() - make_interval(secs => $3)`,
    [ctx.channel, keys, windowS],
  );
  const { rows } = await client.query<{ key: string; seq: string; hash: string }>(
    'SELECT key, seq, hash FROM dl_idempotency WHERE channel = $1 AND key = ANY($2)',
    [ctx.channel, keys],
  );
  for (const r of rows)
    known.set(r.key, { channel: ctx.channel, seq: Number(r.seq), hash: r.hash });
  return known;
}

/**
 * The people these records name (encrypted for, or named only by pseudonym: their subject, a
 * personal actor), written in the same transaction as the records: no record is stored without
 * the key that opens it, nor a pseudonym without the row an export or erasure finds the person
 * by. Another instance's commit may be writing the same new person (both saw them first): the
 * row is written once. A person erased since (erasure.ts) is not written back: their records
 * here stay unreadable, as all of theirs. Returns the people named.
 */
async function insertSubjects(
  client: pg.ClientBase,
  ctx: BatchContext,
  records: readonly PendingRecord[],
  out: readonly Row[],
): Promise<Named[]> {
  const named = new Set<string>();
  for (const r of records) for (const p of r.p.pii ?? []) named.add(p.pseudonym);
  for (const r of out) for (const p of r.people ?? []) named.add(p);
  const people = [...named].map((pseudonym) => ({ pseudonym }));
  const rows = ctx.keys.pendingRows(people);
  if (rows.length === 0) return people;
  await client.query(
    `INSERT INTO dl_subjects (pseudonym, lookup, wrapped, sealed_id)
       SELECT * FROM unnest($1::text[], $2::bytea[], $3::bytea[], $4::bytea[]) AS x(p, l, w, s)
        WHERE NOT EXISTS (SELECT 1 FROM dl_erased e WHERE e.pseudonym = x.p)
     ON CONFLICT (pseudonym) DO NOTHING`,
    [
      rows.map((r) => r.pseudonym),
      rows.map((r) => r.lookup),
      rows.map((r) => r.wrapped),
      rows.map((r) => r.sealedId),
    ],
  );
  return people;
}

/** A record's stored line and its indexed columns. */
function sealRow(
  ctx: BatchContext,
  p: Sealable,
  seq: number,
  ts: string,
  skew: number,
  prev: string,
): Row {
  const pii = p.pii === undefined ? undefined : ctx.sealer.seal(p.pii);
  const plain = sealEvent(p, seq, ts, skew, pii);
  let canonical = plain;
  const level = levelOfHead(p.pre);
  if (ctx.bodyKey !== undefined)
    canonical = sealBody(ctx.bodyKey, ctx.logId, ctx.channel, level, seq, ts, canonical);
  const hash = ctx.hasher.next(prev, canonical);
  const line = toLine(canonical, hash).slice(0, -1);
  const r = JSON.parse(plain) as Record<string, unknown>;
  const columns = ctx.bodyKey === undefined ? columnsOf(r) : sealedColumnsOf(r);
  return { seq, ts, level, ...columns, line, hash };
}

/**
 * The columns of a record of an encrypted channel: what finds it without opening it, as the
 * file store's index keeps it (event type, outcome, request id, actor and subject ids, which
 * are pseudonyms for people, and the pseudonyms of its people: GDPR export and erasure find a
 * person's records by them), never its message.
 */
export function sealedColumnsOf(
  r: Record<string, unknown>,
): Pick<Row, 'event' | 'actor' | 'sub' | 'requestId' | 'outcome' | 'msg' | 'people'> {
  return { ...columnsOf(r), msg: null };
}

/** The filtered columns of a record in clear (its stored JSON, parsed). */
export function columnsOf(
  r: Record<string, unknown>,
): Pick<Row, 'event' | 'actor' | 'sub' | 'requestId' | 'outcome' | 'msg' | 'people'> {
  const actor = actorOf(r.actor);
  return {
    event: typeof r.event === 'string' ? r.event : '',
    actor,
    sub: typeof r.sub === 'string' ? r.sub : null,
    requestId: typeof r.request_id === 'string' ? r.request_id : null,
    outcome: typeof r.outcome === 'string' ? r.outcome : null,
    msg: typeof r.msg === 'string' ? r.msg : null,
    people: peopleOf(r, actor),
  };
}

export const NO_COLUMNS = {
  actor: null,
  sub: null,
  requestId: null,
  outcome: null,
  msg: null,
  people: null,
};

/**
 * The actor column, as the file store's index reads it: its id (a pseudonym when it was
 * personal; a number as its digits), an actor given as a bare string itself, else its JSON.
 */
function actorOf(a: unknown): string | null {
  if (a === undefined || a === null) return null;
  if (typeof a === 'string') return a;
  const id = typeof a === 'object' ? (a as { id?: unknown }).id : undefined;
  if (typeof id === 'string') return id;
  if (typeof id === 'number') return String(id);
  return JSON.stringify(a);
}

/** The pseudonyms a record names: its subject, its personal actor, the people of its pii. */
function peopleOf(r: Record<string, unknown>, actor: string | null): string[] | null {
  const pii = r.pii;
  const set = new Set<string>(typeof pii === 'object' && pii !== null ? Object.keys(pii) : []);
  if (typeof r.sub === 'string') set.add(r.sub);
  if (actor?.startsWith('sub_') === true) set.add(actor);
  return set.size === 0 ? null : [...set];
}

async function insertRows(
  client: pg.ClientBase,
  channel: string,
  rows: readonly Row[],
): Promise<void> {
  await client.query(
    `INSERT INTO dl_records
       (channel, seq, ts, level, event, actor, sub, request_id, outcome, msg, people, line, hash)
     SELECT $1, s, t, l, e, a, u, q, o, m, string_to_array(p, ' '), li, h
       FROM unnest($2::bigint[], $3::timestamptz[], $4::text[], $5::text[], $6::text[],
         $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[])
         AS x(s, t, l, e, a, u, q, o, m, p, li, h)`,
    [
      channel,
      rows.map((r) => r.seq),
      rows.map((r) => r.ts),
      rows.map((r) => r.level),
      rows.map((r) => r.event),
      rows.map((r) => r.actor),
      rows.map((r) => r.sub),
      rows.map((r) => r.requestId),
      rows.map((r) => r.outcome),
      rows.map((r) => r.msg),
      // Arrays of arrays must be rectangular in PostgreSQL: each row's people as one string.
      rows.map((r) => (r.people === null ? null : r.people.join(' '))),
      rows.map((r) => r.line),
      rows.map((r) => r.hash),
    ],
  );
}

async function insertKeys(
  client: pg.ClientBase,
  channel: string,
  keys: ReadonlyArray<{ key: string; seq: number; hash: string }>,
): Promise<void> {
  await client.query(
    `INSERT INTO dl_idempotency (channel, key, seq, hash)
       SELECT $1, * FROM unnest($2::text[], $3::bigint[], $4::text[])`,
    [channel, keys.map((k) => k.key), keys.map((k) => k.seq), keys.map((k) => k.hash)],
  );
}
