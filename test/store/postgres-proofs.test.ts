/**
 * RFC 9162 proofs on the PostgreSQL store (store.ts `StoreRecords.inclusion`, `consistency`,
 * `checkpointAt`): at sizes around the edges of the 1,024-leaf blocks they are exactly what
 * integrity/merkle.ts computes over every leaf, and verify against the signed checkpoint of
 * the same size; they survive a tombstone; altered leaves give proofs the signed checkpoint
 * rejects; leaves that are missing (an imported log) are caught up by the checkpoint leader,
 * only as far as the records chain to a signed head. No server: the tests fail, they do not
 * skip.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type pg from 'pg';
import type { LogsError } from '../../src/errors.js';
import { chainGenesis, lineHash } from '../../src/integrity/chain.js';
import type { Checkpoint } from '../../src/integrity/checkpoint.js';
import { consistencyProof, inclusionProof, verifyInclusion } from '../../src/integrity/merkle.js';
import { verifyConsistencyProof, verifyInclusionProof } from '../../src/integrity/proofs.js';
import { CHECKPOINT_SIZE } from '../../src/store/postgres/signed-logs.js';
import type { Store } from '../../src/store/store.js';
import { newSpec, recordsOf, sql, storesOnSchemas } from './postgres-backend.js';
import { channelIndex, now, readAll, testRecord } from './records.js';

type Spec = ReturnType<typeof newSpec>;

const KEY = randomBytes(32);
const stores = storesOnSchemas(KEY);
const open = (spec: Spec, errors: LogsError[] = []): Promise<Store> =>
  stores.open(spec, (err) => errors.push(err));
after(() => stores.dispose());

/** Append records to `channel` (1,000 at a time, acknowledged once sequenced) up to seq `upTo`. */
async function fillTo(store: Store, channel: string, upTo: number): Promise<void> {
  const c = channelIndex(store, channel);
  let seq = lastSeq(store, channel);
  while (seq < upTo) {
    const n = Math.min(1000, upTo - seq);
    const acks = await Promise.all(
      Array.from({ length: n }, (_, i) => {
        const ack = store.append(c, testRecord(channel, `${seq + i + 1}`), now(), 0, 'a');
        assert.ok(ack !== undefined, 'mode a answers');
        return ack;
      }),
    );
    seq = Math.max(...acks.map((a) => a.seq));
    if (!seqOf.has(store)) seqOf.set(store, new Map());
    seqOf.get(store)?.set(channel, seq);
  }
  assert.equal(seq, upTo);
}

/** The last seq of each channel of each store, as appends answered. */
const seqOf = new Map<Store, Map<string, number>>();

function lastSeq(store: Store, channel: string): number {
  const known = seqOf.get(store)?.get(channel);
  return known ?? store.channels.find((c) => c.name === channel)?.seq ?? 0;
}

/** Append up to `size`, sign it, and hand back the checkpoint of exactly that size. */
async function signedAt(store: Store, channel: string, size: number): Promise<Checkpoint> {
  await fillTo(store, channel, size);
  await store.flush();
  const cp = await recordsOf(store).checkpointAt(channel, size);
  assert.ok(cp !== undefined, `a checkpoint of ${channel} at ${size}`);
  assert.equal(cp.size, size);
  return cp;
}

/** Every leaf of the channel (its records' chain hashes), and the stored lines, by seq - 1. */
async function leavesOf(
  store: Store,
  channel: string,
): Promise<{ leaves: string[]; lines: string[] }> {
  const rows = await readAll(store, channel);
  rows.forEach((r, i) => assert.equal(r.seq, i + 1));
  return {
    leaves: rows.map((r) => lineHash(Buffer.from(r.line)) as string),
    lines: rows.map((r) => r.line),
  };
}

/** How many leaves `dl_leaf_blocks` holds for the channel. */
async function storedLeaves(spec: Spec, channel: string): Promise<number> {
  const { rows } = await sql(
    spec.schema,
    `SELECT coalesce(max(block * 1024 + length(hashes) / 32), 0) AS n FROM dl_leaf_blocks
      WHERE channel = $1 AND block = (SELECT max(block) FROM dl_leaf_blocks WHERE channel = $1)`,
    [channel],
  );
  return Number((rows[0] as { n: string }).n);
}

const code = (c: string) => (err: unknown) => (err as LogsError).code === c;

test('postgres proofs: at block edges, what merkle.ts computes over every leaf, and they verify against the signed checkpoints', async () => {
  const spec = newSpec();
  const errors: LogsError[] = [];
  const store = await open(spec, errors);
  const records = recordsOf(store);
  const SIZES = [1, 2, 3, 1023, 1024, 1025, 2047, 2048, 2049, 3073];
  const signed = new Map<number, Checkpoint>();
  for (const size of SIZES) signed.set(size, await signedAt(store, 'app', size));
  const { leaves, lines } = await leavesOf(store, 'app');
  const genesis = chainGenesis(store.logId, 'app');
  for (const size of SIZES) {
    const cp = signed.get(size) as Checkpoint;
    const all = leaves.slice(0, size);
    const seqs = [1, 2, 512, 1023, 1024, 1025, 1026, 2048, 2049, 2050, size - 1, size];
    for (const seq of new Set(seqs.filter((s) => s >= 1 && s <= size))) {
      const p = await records.inclusion('app', seq, size);
      const what = `seq ${seq} in ${size}`;
      assert.equal(p.leaf_hash, leaves[seq - 1], what);
      assert.equal(p.prev_hash, seq === 1 ? genesis : leaves[seq - 2], what);
      assert.deepEqual(p.hashes, inclusionProof(all, seq - 1), what);
      assert.equal(p.root, cp.root, what);
      assert.ok(verifyInclusion(p.leaf_hash, p.leaf_index, size, p.hashes, cp.root), what);
      assert.deepEqual(
        verifyInclusionProof(p, cp, store.publicKey, { line: lines[seq - 1] as string }),
        { ok: true },
        what,
      );
    }
  }
  for (const a of SIZES)
    for (const b of SIZES.filter((s) => s >= a)) {
      const c = await records.consistency('app', a, b);
      assert.deepEqual(c.hashes, consistencyProof(leaves.slice(0, b), a), `${a}..${b}`);
      assert.deepEqual(
        verifyConsistencyProof(c, signed.get(a), signed.get(b), store.publicKey),
        { ok: true },
        `${a}..${b}`,
      );
    }
  // The channel's empty tree was signed when the log was made; sizes never signed are not.
  assert.equal((await records.checkpointAt('app', 0))?.size, 0);
  assert.equal(await records.checkpointAt('app', 4000), undefined);
  assert.equal(await records.checkpointAt('app', -1), undefined);
  assert.equal(await records.checkpointAt('nope', 1), undefined);

  // Numbers come from a query string: anything but a whole number in range is USAGE.
  for (const [seq, size] of [
    [0, 1],
    [2, 1],
    [1.5, 3],
    [Number.NaN, 3],
    [1, 2 ** 53],
    [1, 3074], // past the signed tree
  ] as const)
    await assert.rejects(records.inclusion('app', seq, size), code('USAGE'), `${seq} ${size}`);
  await assert.rejects(records.inclusion('nope', 1, 1), code('USAGE'));
  await assert.rejects(records.consistency('app', 3, 2), code('USAGE'));
  await assert.rejects(records.consistency('app', 0, 2), code('USAGE'));
  await assert.rejects(records.consistency('app', 1, 3074), code('USAGE'));
  assert.deepEqual(errors, []);
  // Checkpoints are found by size through the index, whatever the table's size.
  const plan = await sql(
    spec.schema,
    `SET enable_seqscan = off; EXPLAIN SELECT line FROM dl_checkpoints
      WHERE channel = 'app' AND ${CHECKPOINT_SIZE} = 1024`,
  );
  const steps = (plan as unknown as pg.QueryResult[])[1]?.rows ?? [];
  assert.match(JSON.stringify(steps), /dl_checkpoints_size/);
});

test('postgres proofs: records deleted by a tombstone keep their proofs; leaves that were behind are caught up before they go', async () => {
  const spec = newSpec();
  const errors: LogsError[] = [];
  const store = await open(spec, errors);
  const records = recordsOf(store);
  const cp1500 = await signedAt(store, 'app', 1500);
  const [cut] = await store.rotate({ channel: 'app' });
  assert.equal(cut?.seal?.last, 1500);
  const { leaves: before, lines } = await leavesOf(store, 'app');
  // Leaves behind the tree when retention comes (an imported log): the tombstone's round
  // catches them up before the records go.
  await sql(spec.schema, `DELETE FROM dl_leaf_blocks WHERE channel = 'app'`);
  await store.tombstone('app', 1, 1500, 'retention test');
  const left = await sql(spec.schema, `SELECT count(*) AS n FROM dl_records WHERE channel = 'app'`);
  assert.equal(Number((left.rows[0] as { n: string }).n), 0, 'the rows are gone');
  const cp2100 = await signedAt(store, 'app', 2100);
  const after1500 = await readAll(store, 'app', 1501);
  const leaves = [...before, ...after1500.map((r) => lineHash(Buffer.from(r.line)) as string)];
  for (const [seq, size, cp] of [
    [1, 1500, cp1500],
    [1024, 1500, cp1500],
    [700, 2100, cp2100],
    [1501, 2100, cp2100],
    [2100, 2100, cp2100],
  ] as const) {
    const p = await records.inclusion('app', seq, size);
    assert.deepEqual(p.hashes, inclusionProof(leaves.slice(0, size), seq - 1));
    const line = seq <= 1500 ? { line: lines[seq - 1] as string } : {};
    assert.deepEqual(verifyInclusionProof(p, cp, store.publicKey, line), { ok: true });
  }
  const c = await records.consistency('app', 1500, 2100);
  assert.deepEqual(verifyConsistencyProof(c, cp1500, cp2100, store.publicKey), { ok: true });
  assert.deepEqual(errors, []);

  // Leaves lost with the records cannot be made again: unavailable, never wrong, and nothing
  // is appended after the gap; checkpoints go on.
  await sql(spec.schema, `DELETE FROM dl_leaf_blocks WHERE channel = 'app'`);
  await signedAt(store, 'app', 2200);
  assert.equal(await storedLeaves(spec, 'app'), 0);
  await assert.rejects(records.inclusion('app', 1, 1500), code('PROOF_UNAVAILABLE'));
  await assert.rejects(records.inclusion('app', 2150, 2200), code('PROOF_UNAVAILABLE'));
  await assert.rejects(records.consistency('app', 2100, 2200), code('PROOF_UNAVAILABLE'));
  assert.deepEqual(errors, [], 'records removed by retention are not damage');
});

test('postgres proofs: from altered leaves a proof still holds together, and only the signed checkpoint shows it wrong', async () => {
  const spec = newSpec();
  const store = await open(spec);
  const records = recordsOf(store);
  const cp1000 = await signedAt(store, 'app', 1000);
  const cp2100 = await signedAt(store, 'app', 2100);
  const { lines } = await leavesOf(store, 'app');
  // Someone with write access to the database but not the key changes leaf 1.
  await sql(
    spec.schema,
    `UPDATE dl_leaf_blocks SET hashes = overlay(hashes placing $1 from 1 for 32)
      WHERE channel = 'app' AND block = 0`,
    [randomBytes(32)],
  );
  // A proof is only as good as the signature it is checked against: this one verifies against
  // its own root, which the altered leaves make, and the signed checkpoint rejects it.
  const p = await records.inclusion('app', 1, 1000);
  assert.ok(verifyInclusion(p.leaf_hash, p.leaf_index, 1000, p.hashes, p.root));
  assert.notEqual(p.root, cp1000.root);
  assert.equal(verifyInclusionProof(p, cp1000, store.publicKey).ok, false);
  assert.equal(
    verifyInclusionProof({ ...p, root: cp1000.root }, cp1000, store.publicKey).ok,
    false,
    'nor does its path lead to the signed root',
  );
  assert.equal(
    verifyInclusionProof(p, cp1000, store.publicKey, { line: lines[0] as string }).ok,
    false,
  );
  // Past the block, its stored root stands for it: the root is right, the path is not.
  const q = await records.inclusion('app', 1, 2100);
  assert.equal(q.root, cp2100.root);
  assert.equal(verifyInclusionProof(q, cp2100, store.publicKey).ok, false);
  // Another leaf of a tampered block is proven through the altered one.
  const r = await records.inclusion('app', 2, 1000);
  assert.equal(verifyInclusionProof(r, cp1000, store.publicKey).ok, false);
  // A block root changed: every proof through it fails, consistency too.
  await sql(
    spec.schema,
    `UPDATE dl_leaf_blocks SET root = $1 WHERE channel = 'app' AND block = 1`,
    [randomBytes(32)],
  );
  const s = await records.inclusion('app', 5, 2100);
  assert.equal(verifyInclusionProof(s, cp2100, store.publicKey).ok, false);
  const c = await records.consistency('app', 1000, 2100);
  assert.equal(verifyConsistencyProof(c, cp1000, cp2100, store.publicKey).ok, false);
  // A block cut short, or without its root, is damage the store can see: no proof at all.
  await sql(
    spec.schema,
    `UPDATE dl_leaf_blocks SET hashes = substring(hashes from 1 for 64) WHERE channel = 'app' AND block = 0`,
  );
  await assert.rejects(records.inclusion('app', 3, 2100), code('PROOF_UNAVAILABLE'));
  await sql(
    spec.schema,
    `UPDATE dl_leaf_blocks SET root = NULL WHERE channel = 'app' AND block = 0`,
  );
  await assert.rejects(records.inclusion('app', 2100, 2100), code('PROOF_UNAVAILABLE'));
});

test('postgres proofs: leaves missing below the tree (an imported log) are caught up by the leader from the checked records', async () => {
  const spec = newSpec();
  const errors: LogsError[] = [];
  const store = await open(spec, errors);
  const records = recordsOf(store);
  const cp1000 = await signedAt(store, 'audit', 1000);
  const cp3000 = await signedAt(store, 'audit', 3000);
  const want = [
    await records.inclusion('audit', 1, 1000),
    await records.inclusion('audit', 2049, 3000),
    await records.consistency('audit', 1000, 3000),
  ];
  const again = (): Promise<unknown[]> =>
    Promise.all([
      records.inclusion('audit', 1, 1000),
      records.inclusion('audit', 2049, 3000),
      records.consistency('audit', 1000, 3000),
    ]);
  // From the last leaf stored on (the rows of later blocks gone), by a round.
  await sql(spec.schema, `DELETE FROM dl_leaf_blocks WHERE channel = 'audit' AND block >= 1`);
  await assert.rejects(records.inclusion('audit', 1, 3000), code('PROOF_UNAVAILABLE'));
  await store.flush();
  assert.deepEqual(await again(), want);
  // From nothing, by the leader on its own (no record written meanwhile).
  await sql(spec.schema, `DELETE FROM dl_leaf_blocks WHERE channel = 'audit'`);
  await assert.rejects(records.inclusion('audit', 1, 1000), code('PROOF_UNAVAILABLE'));
  const until = Date.now() + 10_000;
  while ((await storedLeaves(spec, 'audit')) < 3000 && Date.now() < until)
    await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(await again(), want);
  assert.deepEqual(verifyConsistencyProof(want[2], cp1000, cp3000, store.publicKey), { ok: true });
  assert.equal(errors.length, 0, errors.map((e) => e.message).join('\n'));

  // A record changed after it was signed is not made a leaf: damage reported, and no proof.
  await signedAt(store, 'app', 1500);
  await sql(
    spec.schema,
    `UPDATE dl_records SET line = regexp_replace(line, '"msg":"record ', '"msg":"Record ')
      WHERE channel = 'app' AND seq = 700`,
  );
  await sql(spec.schema, `DELETE FROM dl_leaf_blocks WHERE channel = 'app'`);
  await store.flush();
  assert.equal(await storedLeaves(spec, 'app'), 0);
  await assert.rejects(records.inclusion('app', 1, 1500), code('PROOF_UNAVAILABLE'));
  const found = errors.find((e) => e.code === 'INTEGRITY_STATE');
  assert.match(found?.message ?? '', /app: record seq 700 does not follow from the chain/);
});

test('postgres proofs: 100,000 records, proof timings, and a catch-up in rounds that stops at signed heads', async (t) => {
  const spec = newSpec();
  const errors: LogsError[] = [];
  const store = await open(spec, errors);
  const records = recordsOf(store);
  let started = performance.now();
  for (let size = 10_000; size <= 100_000; size += 10_000) await signedAt(store, 'app', size);
  t.diagnostic(`wrote and signed 100,000 records in ${ms(started)}`);
  const cp50k = await records.checkpointAt('app', 50_000);
  const cp100k = await records.checkpointAt('app', 100_000);
  assert.ok(cp50k !== undefined && cp100k !== undefined);

  const time = async <T>(what: string, fn: (i: number) => Promise<T>): Promise<T> => {
    const runs: number[] = [];
    let out: T | undefined;
    for (let i = 0; i < 21; i++) {
      const s = performance.now();
      out = await fn(i);
      runs.push(performance.now() - s);
    }
    runs.sort((a, b) => a - b);
    t.diagnostic(`${what}: median ${runs[10]?.toFixed(2)} ms, max ${runs[20]?.toFixed(2)} ms`);
    return out as T;
  };
  const p = await time('inclusion at 100,000', (i) =>
    records.inclusion('app', 1 + ((i * 4793) % 100_000), 100_000),
  );
  assert.deepEqual(verifyInclusionProof(p, cp100k, store.publicKey), { ok: true });
  await time('consistency ~50,000..100,000', (i) =>
    records.consistency('app', 50_000 - i * 333, 100_000),
  );
  const c = await records.consistency('app', 50_000, 100_000);
  assert.deepEqual(verifyConsistencyProof(c, cp50k, cp100k, store.publicKey), { ok: true });
  await time('checkpointAt', () => records.checkpointAt('app', 50_000));

  // Every leaf gone while no instance runs (closing signs a last round): opening runs one,
  // which catches up about 50,000 records, up to a signed head; the next, the rest.
  const want = await records.inclusion('app', 77_777, 100_000);
  await store.close();
  await sql(spec.schema, `DELETE FROM dl_leaf_blocks WHERE channel = 'app'`);
  started = performance.now();
  const reopened = await open(spec, errors);
  t.diagnostic(`opening, with a round catching up 50,000 leaves: ${ms(started)}`);
  assert.equal(await storedLeaves(spec, 'app'), 50_000, 'the first round stops at a signed head');
  const again = recordsOf(reopened);
  assert.deepEqual(
    verifyInclusionProof(await again.inclusion('app', 49_999, 50_000), cp50k, store.publicKey),
    { ok: true },
  );
  await assert.rejects(again.inclusion('app', 1, 100_000), code('PROOF_UNAVAILABLE'));
  started = performance.now();
  await reopened.flush();
  t.diagnostic(`a round catching up 50,000 leaves: ${ms(started)}`);
  assert.deepEqual(await again.inclusion('app', 77_777, 100_000), want);
  assert.deepEqual(errors, []);
});

function ms(since: number): string {
  return `${(performance.now() - since).toFixed(0)} ms`;
}
