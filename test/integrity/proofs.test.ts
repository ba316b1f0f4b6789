import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { eraseSubject } from '../../src/gdpr/erase.js';
import type { IndexDb } from '../../src/search/index-db.js';
import { catchUp, rebuild } from '../../src/search/indexer.js';
import { LEAF_BLOCK } from '../../src/search/leaves.js';
import { consistencyProofFromIndex, inclusionProofFromIndex } from '../../src/search/proofs.js';
import { chainGenesis } from '../../src/integrity/chain.js';
import { parseCheckpoint, type Checkpoint } from '../../src/integrity/checkpoint.js';
import { consistencyProof, inclusionProof, rootOf } from '../../src/integrity/merkle.js';
import { verifyConsistencyProof, verifyInclusionProof } from '../../src/integrity/proofs.js';
import { LogLayout } from '../../src/store/file/layout.js';
import { readSegmentBook } from '../../src/store/file/segment-log.js';
import { generateSigningKeyPair, publicKeyText } from '../../src/crypto/sign.js';
import { expectCode, newLog, readLines, REPO_ROOT, tempDir, type TestLog } from '../helpers.js';
import { forEachStoredLine, openIndex } from '../search/helpers.js';

/** Records written to `app` in rounds, a checkpoint signed after each round. */
interface Written {
  readonly t: TestLog;
  readonly layout: LogLayout;
  /** The signed checkpoints of `app`, as parsed and as their stored lines. */
  readonly checkpoints: Checkpoint[];
  readonly checkpointLines: string[];
  /** Stored lines of `app` and their chain hashes, by seq - 1. */
  readonly lines: string[];
  readonly hashes: string[];
}

const DAVE = 'dave-4';

async function written(
  rounds: readonly number[],
  who: (i: number) => string = (i) => `u-${i % 7}`,
): Promise<Written> {
  const t = newLog();
  const logs = await t.open();
  let i = 0;
  for (const [k, n] of rounds.entries()) {
    for (let j = 0; j < n; j++, i++)
      logs.app.info({ event: 'job.run', actor: { id: who(i), type: 'user' }, n: i }, `run ${i}`);
    await logs.flush();
    if (k % 3 === 2) await logs.lifecycle.rotate('app');
  }
  await logs.close();
  return read(t);
}

async function read(t: TestLog): Promise<Written> {
  const layout = new LogLayout(t.dir);
  // Without init's empty checkpoints (size 0): no proof is about an empty tree.
  const checkpointLines = readLines(layout.checkpointsFile).filter((l) => {
    const cp = parseCheckpoint(l);
    return cp.channel === 'app' && cp.size > 0;
  });
  const lines: string[] = [];
  await forEachStoredLine(t, ['app'], (bytes) => lines.push(bytes.toString('utf8')));
  const hashes = lines.map((l) => (JSON.parse(l) as { hash: string }).hash);
  return {
    t,
    layout,
    checkpoints: checkpointLines.map(parseCheckpoint),
    checkpointLines,
    lines,
    hashes,
  };
}

async function indexed(w: Written): Promise<IndexDb> {
  const db = openIndex(w.t);
  await catchUp(w.layout, w.t.logId, db);
  return db;
}

/** Seqs worth proving in a tree of `size`: the ends, the middle, and around block boundaries. */
function seqsOf(size: number): number[] {
  const picks = [1, 2, size - 1, size, Math.ceil(size / 2)];
  for (const b of [LEAF_BLOCK, 2 * LEAF_BLOCK, 3 * LEAF_BLOCK]) picks.push(b - 1, b, b + 1, b + 2);
  return [...new Set(picks)].filter((s) => s >= 1 && s <= size).sort((a, b) => a - b);
}

test('proofs from the index are the RFC 9162 proofs of the trees the writer signed', async () => {
  // Sizes 1, 3, 8, 1024, 1025, 1028, 2052, 2552, 3252: in and across blocks of leaves.
  const w = await written([1, 2, 5, 1016, 1, 3, 1024, 500, 700]);
  const db = await indexed(w);
  const key = w.t.publicKey;
  assert.ok(w.checkpoints.length >= 9);
  assert.equal(w.hashes.length, 3252);
  for (const cp of w.checkpoints) {
    const leaves = w.hashes.slice(0, cp.size);
    // The writer's tree: its leaves are the chain hashes themselves.
    assert.equal(rootOf(leaves), cp.root, `reference root at ${cp.size}`);
    for (const seq of seqsOf(cp.size)) {
      const p = inclusionProofFromIndex(db, 'app', seq, cp.size);
      assert.equal(p.root, cp.root, `root at size ${cp.size}`);
      assert.equal(p.leaf_hash, w.hashes[seq - 1]);
      assert.equal(p.prev_hash, seq === 1 ? chainGenesis(w.t.logId, 'app') : w.hashes[seq - 2]);
      assert.equal(p.leaf_index, seq - 1);
      assert.deepEqual(p.hashes, inclusionProof(leaves, seq - 1), `path of ${seq} in ${cp.size}`);
      assert.deepEqual(verifyInclusionProof(p, cp, key, { line: w.lines[seq - 1] }), { ok: true });
    }
  }
  for (const a of w.checkpoints) {
    for (const b of w.checkpoints) {
      if (a.size > b.size) continue;
      const p = consistencyProofFromIndex(db, 'app', a.size, b.size);
      assert.equal(p.first_root, a.root);
      assert.equal(p.second_root, b.root);
      assert.deepEqual(p.hashes, consistencyProof(w.hashes.slice(0, b.size), a.size));
      assert.deepEqual(verifyConsistencyProof(p, a, b, key), { ok: true }, `${a.size}..${b.size}`);
    }
  }
  // Sizes no checkpoint signed: the same paths as the reference implementation.
  for (let size = 1; size <= w.hashes.length; size += 97) {
    const leaves = w.hashes.slice(0, size);
    const seq = 1 + ((size * 7919) % size);
    assert.deepEqual(
      inclusionProofFromIndex(db, 'app', seq, size).hashes,
      inclusionProof(leaves, seq - 1),
    );
    assert.equal(inclusionProofFromIndex(db, 'app', seq, size).root, rootOf(leaves));
    const from = 1 + ((size * 104729) % size);
    assert.deepEqual(
      consistencyProofFromIndex(db, 'app', from, size).hashes,
      consistencyProof(leaves, from),
    );
  }
  db.close();
});

test('the leaves are the same whether the index is caught up bit by bit, built at once, in small batches or in a worker thread', async () => {
  const t = newLog();
  const layout = new LogLayout(t.dir);
  const logs = await t.open();
  const db = openIndex(t);
  for (const n of [1, 700, 400, 1, 1100, 900, 3]) {
    for (let i = 0; i < n; i++) logs.app.info({ i }, 'step');
    await logs.flush();
    await catchUp(layout, t.logId, db);
  }
  await logs.close();
  await catchUp(layout, t.logId, db);
  const dump = (): unknown[] =>
    db.connection.prepare('SELECT id, root, hashes FROM leaf_blocks ORDER BY id').all();
  const bitByBit = dump();
  // 3,105 leaves: three full blocks with their roots, and a partial one without.
  assert.deepEqual(
    bitByBit.map((r) => (r as { root: Buffer | null }).root === null),
    [false, false, false, true],
  );
  await rebuild(layout, t.logId, db);
  assert.deepEqual(dump(), bitByBit, 'at once');
  await rebuild(layout, t.logId, db, { batchSize: 300, workerThreshold: 0 });
  assert.deepEqual(dump(), bitByBit, 'in batches of 300, in a worker thread');
  const w = await read(t);
  assert.equal(bitByBit.length, Math.ceil(w.hashes.length / LEAF_BLOCK));
  const last = w.checkpoints[w.checkpoints.length - 1]!;
  assert.equal(inclusionProofFromIndex(db, 'app', 1, last.size).root, last.root);
  db.close();
});

test("a proof still works after a GDPR erasure removed the person's rows, and after a rebuild that skips them", async () => {
  const w = await written([30, 1100], (i) => (i % 5 === 0 ? DAVE : `u-${i % 7}`));
  const logs = await w.t.open();
  const erased = await eraseSubject({ logs, ids: [DAVE], reason: 'asked', requestedBy: 'dpo-1' });
  await logs.close();
  assert.equal(erased.status, 'done');
  assert.equal(erased.now.indexRows, 226);
  const after = await read(w.t);
  const last = after.checkpoints[after.checkpoints.length - 1]!;
  assert.equal(last.size, 1130);

  const db = openIndex(w.t);
  for (const step of ['erased', 'rebuilt'] as const) {
    if (step === 'rebuilt') await rebuild(w.layout, w.t.logId, db);
    else await catchUp(w.layout, w.t.logId, db);
    const rows = new Set(
      db.connection
        .prepare<[], number>(
          "SELECT r.seq FROM records r JOIN state s ON s.channel_no = r.channel WHERE s.channel = 'app'",
        )
        .pluck()
        .all(),
    );
    const gone = after.hashes.map((_, i) => i + 1).filter((seq) => !rows.has(seq));
    // Dave's rows are not in the index (records 1, 6, 11, ...), yet each is in the tree.
    assert.equal(gone.length, 226, step);
    assert.deepEqual(gone.slice(0, 3), [1, 6, 11]);
    for (const seq of gone) {
      const p = inclusionProofFromIndex(db, 'app', seq, last.size);
      assert.deepEqual(
        verifyInclusionProof(p, last, w.t.publicKey),
        { ok: true },
        `${step} ${seq}`,
      );
    }
    const first = after.checkpoints[0]!;
    const c = consistencyProofFromIndex(db, 'app', first.size, last.size);
    assert.deepEqual(verifyConsistencyProof(c, first, last, w.t.publicKey), { ok: true });
  }
  db.close();
});

test('leaves stay when retention drops rows; an index built after the deletion has none to give', async () => {
  const t = newLog();
  const now = Date.parse('2026-06-30T12:00:00.000Z');
  let clock = now - 400 * 86_400_000;
  const logs = await t.open({ clock: () => clock });
  for (const age of [400, 300, 10]) {
    clock = now - age * 86_400_000;
    for (let i = 0; i < 600; i++) logs.app.info({ age, i }, `record from ${age} days ago`);
    await logs.lifecycle.rotate('app');
  }
  logs.app.info('still active');
  await logs.flush();
  const w = await read(t);
  const db = await indexed(w);
  const oldest = readSegmentBook(w.layout, t.logId).segments('app')[0]!;
  assert.equal(oldest.last, 600);
  await logs.lifecycle.deleteSegment('app', oldest.first, oldest.last, 'test', now);
  await logs.close();
  assert.equal((await catchUp(w.layout, t.logId, db)).dropped, 600);

  const after = await read(t);
  const last = after.checkpoints[after.checkpoints.length - 1]!;
  for (const seq of [1, 600, 601, 1801]) {
    const p = inclusionProofFromIndex(db, 'app', seq, last.size);
    assert.equal(p.leaf_hash, w.hashes[seq - 1]);
    assert.deepEqual(verifyInclusionProof(p, last, t.publicKey), { ok: true });
  }
  db.close();

  const fresh = openIndex(t);
  await rebuild(w.layout, t.logId, fresh);
  assert.equal(fresh.state('app')?.indexedSeq, 1801);
  const err = await expectCode('PROOF_UNAVAILABLE', () =>
    inclusionProofFromIndex(fresh, 'app', 1801, 1801),
  );
  assert.equal(err.httpStatus, 409);
  await expectCode('PROOF_UNAVAILABLE', () => consistencyProofFromIndex(fresh, 'app', 1, 1801));
  fresh.close();
});

test('tampered or mismatched proofs and checkpoints are rejected, malformed ones without throwing', async () => {
  const w = await written([10, 1100]);
  const db = await indexed(w);
  const key = w.t.publicKey;
  const [small, big] = [w.checkpoints[0]!, w.checkpoints[w.checkpoints.length - 1]!];
  const p = inclusionProofFromIndex(db, 'app', 7, big.size);
  assert.equal(verifyInclusionProof(p, big, key).ok, true);
  const flip = (h: string): string => (h[0] === '0' ? '1' : '0') + h.slice(1);
  const bad: Array<[string, unknown, unknown]> = [
    ['a path hash', { ...p, hashes: [flip(p.hashes[0]!), ...p.hashes.slice(1)] }, big],
    ['a hash removed', { ...p, hashes: p.hashes.slice(1) }, big],
    ['a hash added', { ...p, hashes: [...p.hashes, p.hashes[0]] }, big],
    ['the leaf', { ...p, leaf_hash: w.hashes[7] }, big],
    ['the index', { ...p, seq: 8, leaf_index: 7 }, big],
    ['leaf_index alone', { ...p, leaf_index: 7 }, big],
    ['the root', { ...p, root: flip(p.root) }, big],
    ['the size', { ...p, tree_size: small.size }, big],
    ['another checkpoint', p, small],
    ['an altered checkpoint', p, { ...big, root: flip(big.root) }],
    ['an unsigned checkpoint', p, { ...big, sig: '' }],
    ['another channel', { ...p, channel: 'audit' }, big],
    ['not a proof', null, big],
    ['no fields', {}, big],
    ['hashes not a list', { ...p, hashes: 'abc' }, big],
    ['a huge size', { ...p, tree_size: 1e300 }, big],
    ['a long path', { ...p, hashes: new Array(1000).fill(p.hashes[0]) }, big],
    ['not a checkpoint', p, 'nope'],
  ];
  for (const [what, proof, cp] of bad)
    assert.equal(verifyInclusionProof(proof, cp, key).ok, false, what);
  const other = publicKeyText(generateSigningKeyPair().publicKey);
  assert.equal(verifyInclusionProof(p, big, other).ok, false, 'another key');

  // The record itself: its stored line, or nothing else.
  assert.equal(verifyInclusionProof(p, big, key, { line: w.lines[6] }).ok, true);
  const edited = w.lines[6]!.replace('run 6', 'run 9');
  assert.notEqual(edited, w.lines[6]);
  for (const line of [edited, w.lines[7]!, '', '{}'])
    assert.equal(verifyInclusionProof(p, big, key, { line }).ok, false, line.slice(0, 40));
  assert.equal(
    verifyInclusionProof({ ...p, prev_hash: w.hashes[6] }, big, key, { line: w.lines[6] }).ok,
    false,
  );

  const c = consistencyProofFromIndex(db, 'app', small.size, big.size);
  assert.equal(verifyConsistencyProof(c, small, big, key).ok, true);
  const badC: Array<[string, unknown, unknown, unknown]> = [
    ['a hash', { ...c, hashes: [flip(c.hashes[0]!), ...c.hashes.slice(1)] }, small, big],
    ['no hashes', { ...c, hashes: [] }, small, big],
    ['the checkpoints swapped', c, big, small],
    ['a first root', { ...c, first_root: flip(c.first_root) }, small, big],
    ['sizes', { ...c, first: big.size, second: small.size }, small, big],
    ['an altered checkpoint', c, small, { ...big, root: flip(big.root) }],
    ['malformed', { ...c, first: -1 }, small, big],
  ];
  for (const [what, proof, a, b] of badC)
    assert.equal(verifyConsistencyProof(proof, a, b, key).ok, false, what);
  db.close();
});

test('bad arguments are USAGE; a size past what is indexed too', async () => {
  const w = await written([5, 20]);
  const db = await indexed(w);
  for (const [seq, size] of [
    [0, 5],
    [-1, 5],
    [1.5, 5],
    [Number.NaN, 5],
    [1, 0],
    [6, 5],
    [1, 26],
    [1, 2 ** 60],
  ] as const) {
    const err = await expectCode('USAGE', () => inclusionProofFromIndex(db, 'app', seq, size));
    assert.equal(err.httpStatus, 400);
  }
  await expectCode('USAGE', () => inclusionProofFromIndex(db, 'nope', 1, 1));
  for (const [from, to] of [
    [0, 5],
    [6, 5],
    [1, 26],
    [2, Number.POSITIVE_INFINITY],
  ] as const)
    await expectCode('USAGE', () => consistencyProofFromIndex(db, 'app', from, to));
  // Equal sizes: an empty proof, both roots the same.
  const same = consistencyProofFromIndex(db, 'app', 25, 25);
  assert.deepEqual(same.hashes, []);
  assert.equal(same.first_root, same.second_root);
  assert.deepEqual(
    verifyConsistencyProof(same, w.checkpoints.at(-1), w.checkpoints.at(-1), w.t.publicKey),
    { ok: true },
  );
  // Leaves the index lost (a damaged file): unavailable, never a wrong proof.
  db.connection.prepare('DELETE FROM leaf_blocks').run();
  await expectCode('PROOF_UNAVAILABLE', () => inclusionProofFromIndex(db, 'app', 1, 25));
  db.close();
});

test('a channel of 100,000 records gives proofs that match its signed checkpoints', async () => {
  const t = newLog();
  const logs = await t.open();
  for (let i = 1; i <= 100_000; i++) {
    logs.app.info({ i }, 'tick');
    if (i % 25_000 === 0) await logs.flush();
  }
  await logs.close();
  const w = await read(t);
  const db = await indexed(w);
  const sizes = w.checkpoints.map((c) => c.size);
  assert.ok(sizes.includes(100_000) && sizes.includes(25_000), sizes.join(','));
  for (const cp of w.checkpoints) {
    for (const seq of [1, 4242, LEAF_BLOCK * 50 + 1, cp.size]) {
      if (seq > cp.size) continue;
      const p = inclusionProofFromIndex(db, 'app', seq, cp.size);
      assert.equal(p.root, cp.root);
      assert.deepEqual(verifyInclusionProof(p, cp, t.publicKey, { line: w.lines[seq - 1] }), {
        ok: true,
      });
    }
  }
  const [a, b] = [w.checkpoints[0]!, w.checkpoints[w.checkpoints.length - 1]!];
  const c = consistencyProofFromIndex(db, 'app', a.size, b.size);
  assert.deepEqual(verifyConsistencyProof(c, a, b, t.publicKey), { ok: true });
  db.close();
});

const SCRIPT = path.join(REPO_ROOT, 'test', 'fixtures', 'check-proof.mjs');

test('the standalone checker of docs/integrity.md accepts real proofs and rejects tampered ones', async () => {
  const doc = readFileSync(path.join(REPO_ROOT, 'docs', 'integrity.md'), 'utf8');
  const start = doc.indexOf('```js\n// Check a dihya-logs Merkle proof') + '```js\n'.length;
  const block = doc.slice(start, doc.indexOf('\n```\n', start) + 1);
  assert.equal(block, readFileSync(SCRIPT, 'utf8'), 'the script in the docs is the fixture');

  const w = await written([3, 1500, 40]);
  const db = await indexed(w);
  const dir = tempDir();
  const file = (name: string, value: unknown): string => {
    const f = path.join(dir, name);
    writeFileSync(f, typeof value === 'string' ? value : JSON.stringify(value));
    return f;
  };
  const check = (...args: string[]): { status: number | null; out: string } => {
    const r = spawnSync(process.execPath, [SCRIPT, w.t.publicKey, ...args], { encoding: 'utf8' });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  };
  const n = w.checkpoints.length;
  const [first, last] = [0, n - 1].map((i) => file(`cp${i}.json`, w.checkpointLines[i]!));
  const big = w.checkpoints[n - 1]!;
  for (const seq of [1, 1024, 1025, big.size]) {
    const p = inclusionProofFromIndex(db, 'app', seq, big.size);
    const line = file(`line${seq}.txt`, `${w.lines[seq - 1]!}\n`);
    assert.deepEqual(check(file('p.json', p), last!), { status: 0, out: 'OK\n' });
    assert.deepEqual(check(file('p.json', p), last!, line), { status: 0, out: 'OK\n' });
    const tampered = { ...p, hashes: [...p.hashes].reverse() };
    assert.equal(check(file('t.json', tampered), last!).status, 1, `reversed path of ${seq}`);
    const wrongLine = file('l.txt', w.lines[seq % big.size]!);
    assert.equal(check(file('p.json', p), last!, wrongLine).status, 1, `wrong line for ${seq}`);
  }
  const c = consistencyProofFromIndex(db, 'app', w.checkpoints[0]!.size, big.size);
  assert.deepEqual(check(file('c.json', c), first!, last!), { status: 0, out: 'OK\n' });
  const tamperedC = { ...c, hashes: c.hashes.slice(0, -1) };
  assert.equal(check(file('c.json', tamperedC), first!, last!).status, 1);
  assert.equal(check(file('c.json', c), last!, first!).status, 1);
  const forged = { ...JSON.parse(w.checkpointLines[n - 1]!), size: big.size + 1 } as Checkpoint;
  const p = inclusionProofFromIndex(db, 'app', 2, big.size);
  assert.equal(
    check(file('p.json', { ...p, tree_size: big.size + 1 }), file('f.json', forged)).status,
    1,
  );
  db.close();
});
