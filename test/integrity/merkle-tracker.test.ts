import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MerkleTracker } from '../../src/integrity/merkle-tracker.js';
import { CompactRange, consistencyProof, leafHash } from '../../src/integrity/merkle.js';

const leaf = (i: number): string => leafHash(Buffer.from(`record ${i}`));

function reference(n: number): CompactRange {
  const r = new CompactRange();
  for (let i = 0; i < n; i++) r.append(leaf(i));
  return r;
}

test('the tracker gives the same tree as appending directly, at any size asked', () => {
  const tracker = new MerkleTracker({ size: 0, peaks: [] });
  // More than one 4096-leaf chunk, so folding crosses chunk boundaries.
  for (let i = 0; i < 10_000; i++) tracker.append(leaf(i));
  for (const size of [0, 1, 7, 4095, 4096, 4097, 9000, 9000, 10_000]) {
    assert.deepEqual(tracker.stateAt(size), reference(size).state(), `size ${size}`);
  }
  assert.equal(tracker.size, 10_000);
});

test('it resumes from a saved state', () => {
  const tracker = new MerkleTracker(reference(1234).state());
  for (let i = 1234; i < 5000; i++) tracker.append(leaf(i));
  assert.deepEqual(tracker.stateAt(5000), reference(5000).state());
});

test('truncate forgets leaves of records that were never stored; out-of-range sizes are refused', () => {
  const tracker = new MerkleTracker(reference(3).state());
  for (let i = 3; i < 5000; i++) tracker.append(leaf(i));
  tracker.truncate(4500);
  assert.equal(tracker.size, 4500);
  tracker.append(leaf(4500));
  assert.deepEqual(tracker.stateAt(4501), reference(4501).state());
  assert.throws(() => tracker.truncate(2), RangeError);
  assert.throws(() => tracker.stateAt(9999), RangeError);
  assert.throws(() => tracker.stateAt(10), RangeError, 'already folded past it');
});

test('consistency proofs between the sizes it folded to are RFC 9162 proofs, without hashing again', () => {
  const start = 1234;
  const tracker = new MerkleTracker(reference(start).state(), true);
  const leaves = Array.from({ length: 4000 }, (_, i) => leaf(i));
  // Folds of uneven sizes, as write batches come.
  const sizes: number[] = [];
  let size = start;
  let step = 1;
  while (size < leaves.length) {
    const next = Math.min(leaves.length, size + step);
    for (let i = size; i < next; i++) tracker.append(leaves[i]!);
    tracker.stateAt(next);
    sizes.push(next);
    size = next;
    step = (step * 7 + 3) % 513 || 1;
  }
  for (const from of [start, ...sizes.filter((_, i) => i % 4 === 0)]) {
    for (const to of sizes.filter((s, i) => s >= from && i % 3 === 0)) {
      const got = tracker.consistency(from, to);
      assert.deepEqual(got, consistencyProof(leaves.slice(0, to), from), `${from} -> ${to}`);
    }
  }
  // Sizes it never folded to, or backwards: no proof rather than a wrong one.
  const never = sizes.findIndex((x, i) => i > 0 && x - (sizes[i - 1] ?? 0) > 1);
  assert.equal(tracker.consistency(sizes[never]! - 1, sizes.at(-1)!), undefined);
  assert.equal(tracker.consistency(sizes[3]!, sizes[1]!), undefined);
  assert.deepEqual(tracker.consistency(0, sizes[2]!), []);
  // Without witnesses nothing is kept: no proof, and no cost on the writer's fold.
  const plain = new MerkleTracker(reference(start).state());
  for (let i = start; i < 2000; i++) plain.append(leaves[i]!);
  plain.stateAt(2000);
  assert.equal(plain.consistency(start, 2000), undefined);
});
