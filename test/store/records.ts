/**
 * Records for the store conformance suite and its crash child: built as the pipeline builds
 * them (prepareEvent, no classification), read back and checked against the chain.
 */
import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { resolveConfig } from '../../src/config/resolve.js';
import { ChainHasher, chainGenesis, lineHash } from '../../src/integrity/chain.js';
import { prepareEvent, type Sealable } from '../../src/pipeline/prepare.js';
import type { Store, StoredRecord } from '../../src/store/store.js';

const LIMITS = resolveConfig({}, tmpdir()).limits;

/** The two channels the suite writes: one durable by default, one buffered. */
export const AUDIT = 'audit';
export const APP = 'app';

/**
 * A record for `channel` carrying `id` (in `data`) and a message the tamper cases change; with
 * `key`, its idempotency key.
 */
export function testRecord(channel: string, id: string, key?: string): Sealable {
  return prepareEvent(
    {
      channel,
      event: 'store.conformance',
      msg: `record ${id}`,
      data: { id },
      ...(key === undefined ? {} : { idempotency_key: key }),
    },
    { ...LIMITS },
  );
}

/** The number `append` takes for a channel. */
export function channelIndex(store: Store, name: string): number {
  const i = store.channels.findIndex((c) => c.name === name);
  assert.notEqual(i, -1, `the store has no channel ${name}`);
  return i;
}

export const now = (): string => new Date().toISOString();

/** A stored line's fields the suite looks at. */
export interface Parsed {
  readonly seq: number;
  readonly channel: string;
  readonly ts: string;
  readonly id: string;
  readonly hash: string;
  /** Absent in an encrypted channel's records (it is inside their body). */
  readonly key?: string;
}

export function parse(line: string): Parsed {
  const r = JSON.parse(line) as {
    seq: number;
    channel: string;
    ts: string;
    data?: { id?: string };
    hash: string;
    idempotency_key?: string;
  };
  return {
    seq: r.seq,
    channel: r.channel,
    ts: r.ts,
    id: r.data?.id ?? '',
    hash: r.hash,
    ...(r.idempotency_key === undefined ? {} : { key: r.idempotency_key }),
  };
}

export async function readAll(store: Store, channel: string, fromSeq = 1): Promise<StoredRecord[]> {
  const out: StoredRecord[] = [];
  for await (const r of store.read(channel, fromSeq)) out.push(r);
  return out;
}

/** The seqs of records read back, or of acks. */
export const seqs = (records: ReadonlyArray<{ seq: number }>): number[] =>
  records.map((r) => r.seq);

/** 1, 2, ... n */
export function oneTo(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i + 1);
}

/**
 * Check that records read back form one chain: each line carries the hash that follows from the
 * one before (from `prev`, the channel's genesis by default) and its own bytes, and its seq
 * matches. Returns the last hash.
 */
export function assertChained(
  store: Store,
  channel: string,
  records: readonly StoredRecord[],
  prev = chainGenesis(store.logId, channel),
): string {
  const hasher = new ChainHasher();
  for (const r of records) {
    const bytes = Buffer.from(r.line, 'utf8');
    const hash = lineHash(bytes);
    assert.ok(hash !== undefined, `${channel} #${r.seq}: the line does not end with a hash`);
    assert.equal(
      hasher.nextFromLine(prev, bytes),
      hash,
      `${channel} #${r.seq}: its hash does not follow from the record before it`,
    );
    const p = parse(r.line);
    assert.equal(p.seq, r.seq, `${channel}: the line of seq ${r.seq} says seq ${p.seq}`);
    assert.equal(p.channel, channel);
    prev = hash;
  }
  return prev;
}

/** Append `n` records to `channel` with `mode`, one at a time; their acks (none for `f`). */
export async function appendSome(
  store: Store,
  channel: string,
  n: number,
  mode: 'a' | 'd',
  prefix = channel,
): Promise<Array<{ seq: number; hash: string }>> {
  const c = channelIndex(store, channel);
  const acks = [];
  for (let i = 0; i < n; i++) {
    const ack = await store.append(c, testRecord(channel, `${prefix}-${i}`), now(), 0, mode);
    assert.ok(ack !== undefined, `mode ${mode} must answer with an ack`);
    acks.push(ack);
  }
  return acks;
}
