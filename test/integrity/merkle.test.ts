import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  CompactRange,
  EMPTY_ROOT,
  consistencyProof,
  inclusionProof,
  leafHash,
  rootOf,
  verifyConsistency,
  verifyInclusion,
} from '../../src/integrity/merkle.js';
import { vector } from '../helpers.js';

interface MerkleVectors {
  leaves: string[];
  emptyRoot: string;
  roots: Array<{ size: number; root: string }>;
  inclusion: Array<{ index: number; size: number; path: string[] }>;
  consistency: Array<{ size1: number; size2: number; proof: string[] }>;
}

const v = vector('merkle-rfc6962.json') as MerkleVectors;
const leafHashes = v.leaves.map((hex) => leafHash(Buffer.from(hex, 'hex')));
const rootAt = (size: number): string =>
  size === 0 ? v.emptyRoot : v.roots.find((r) => r.size === size)!.root;

test('empty tree root is SHA-256 of nothing', () => {
  assert.equal(EMPTY_ROOT, v.emptyRoot);
  assert.equal(new CompactRange().root(), v.emptyRoot);
});

test('roots of the RFC 6962 test tree, by definition and incrementally', () => {
  const range = new CompactRange();
  for (let size = 1; size <= leafHashes.length; size++) {
    range.append(leafHashes[size - 1]!);
    assert.equal(rootOf(leafHashes.slice(0, size)), rootAt(size), `rootOf size ${size}`);
    assert.equal(range.root(), rootAt(size), `compact range size ${size}`);
  }
});

test('published inclusion proofs are generated and verified', () => {
  for (const p of v.inclusion) {
    const leaves = leafHashes.slice(0, p.size);
    assert.deepEqual(inclusionProof(leaves, p.index), p.path, `proof of ${p.index} in ${p.size}`);
    assert.ok(verifyInclusion(leafHashes[p.index]!, p.index, p.size, p.path, rootAt(p.size)));
  }
});

test('published consistency proofs are generated and verified', () => {
  for (const p of v.consistency) {
    assert.deepEqual(
      consistencyProof(leafHashes.slice(0, p.size2), p.size1),
      p.proof,
      `${p.size1} -> ${p.size2}`,
    );
    assert.ok(verifyConsistency(p.size1, p.size2, rootAt(p.size1), rootAt(p.size2), p.proof));
  }
});

test('a proof with any hash flipped, or for another leaf or index, is rejected', () => {
  const flip = (h: string): string => (h[0] === '0' ? '1' : '0') + h.slice(1);
  for (const p of v.inclusion.filter((x) => x.path.length > 0)) {
    const root = rootAt(p.size);
    for (let i = 0; i < p.path.length; i++) {
      const bad = p.path.map((h, j) => (j === i ? flip(h) : h));
      assert.equal(verifyInclusion(leafHashes[p.index]!, p.index, p.size, bad, root), false);
    }
    assert.equal(verifyInclusion(leafHashes[p.index]!, p.index + 1, p.size, p.path, root), false);
    assert.equal(
      verifyInclusion(leafHashes[(p.index + 1) % p.size]!, p.index, p.size, p.path, root),
      false,
    );
  }
  for (const p of v.consistency.filter((x) => x.proof.length > 0)) {
    for (let i = 0; i < p.proof.length; i++) {
      const bad = p.proof.map((h, j) => (j === i ? flip(h) : h));
      assert.equal(
        verifyConsistency(p.size1, p.size2, rootAt(p.size1), rootAt(p.size2), bad),
        false,
      );
    }
  }
});

test('hostile proof parameters are simply invalid', () => {
  const root = rootAt(8);
  for (const [index, size] of [
    [-1, 8],
    [8, 8],
    [0, 0],
    [1.5, 8],
    [Number.MAX_SAFE_INTEGER + 2, 8],
  ] as const) {
    assert.equal(verifyInclusion(leafHashes[0]!, index, size, [], root), false);
  }
  assert.equal(verifyConsistency(5, 3, root, root, []), false);
  assert.equal(verifyConsistency(3, 8, rootAt(3), root, []), false);
});

test('for random trees, every inclusion and consistency proof verifies against the incremental root', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 70 }), fc.nat(), fc.nat(), (size, a, b) => {
      const leaves = Array.from({ length: size }, (_, i) => leafHash(Buffer.from(`leaf ${i}`)));
      const range = new CompactRange();
      const roots = [EMPTY_ROOT];
      for (const l of leaves) {
        range.append(l);
        roots.push(range.root());
      }
      assert.equal(roots[size], rootOf(leaves));
      const index = a % size;
      assert.ok(
        verifyInclusion(leaves[index]!, index, size, inclusionProof(leaves, index), roots[size]),
      );
      const size1 = b % (size + 1);
      assert.ok(
        verifyConsistency(size1, size, roots[size1]!, roots[size], consistencyProof(leaves, size1)),
      );
      // Resuming from a saved state gives the same root as never stopping.
      const resumed = new CompactRange(new CompactRange().state());
      for (const l of leaves) resumed.append(l);
      assert.equal(new CompactRange(resumed.state()).root(), roots[size]);
    }),
    { numRuns: 200 },
  );
});
