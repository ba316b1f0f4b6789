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
