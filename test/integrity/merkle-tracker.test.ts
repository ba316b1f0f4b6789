import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MerkleTracker } from '../../src/integrity/merkle-tracker.js';
import { CompactRange, leafHash } from '../../src/integrity/merkle.js';

const leaf = (i: number): string => leafHash(Buffer.from(`record ${i}`));

function reference(n: number): CompactRange {
  const r = new CompactRange();
  for (let i = 0; i < n; i++) r.append(leaf(i));
  return r;
}

test('the tracker gives the same tree as appending directly, folded here or in the worker', async () => {
  const tracker = new MerkleTracker({ size: 0, peaks: [] });
  for (let i = 0; i < 10_000; i++) tracker.append(leaf(i));
  // Small steps fold on this thread, a large one goes to the worker.
  for (const size of [1, 7, 100, 9000, 9000, 10_000]) {
    const state = await tracker.stateAt(size);
    assert.deepEqual(state, reference(size).state(), `size ${size}`);
  }
  assert.equal(tracker.size, 10_000);
});

test('requests are served in order, and the exit path folds synchronously', async () => {
  const tracker = new MerkleTracker({ size: 0, peaks: [] });
  for (let i = 0; i < 6000; i++) tracker.append(leaf(i));
  const [a, b] = await Promise.all([tracker.stateAt(5000), tracker.stateAt(6000)]);
  assert.equal(a.size, 5000);
  assert.deepEqual(b, reference(6000).state());
  for (let i = 6000; i < 9000; i++) tracker.append(leaf(i));
  assert.deepEqual(tracker.stateAtSync(9000), reference(9000).state());
});

test('truncate forgets leaves of records that were never stored', async () => {
  const tracker = new MerkleTracker(reference(3).state());
  for (let i = 3; i < 5000; i++) tracker.append(leaf(i));
  tracker.truncate(4500);
  assert.equal(tracker.size, 4500);
  tracker.append(leaf(4500));
  assert.deepEqual(await tracker.stateAt(4501), reference(4501).state());
  assert.throws(() => tracker.truncate(2), RangeError);
  await assert.rejects(tracker.stateAt(9999), RangeError);
});
