import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { formatTilePath, type Tile } from '../../src/search/tiles.js';

// An independent RFC 6962 tree: node = SHA-256(0x01 || left || right); the leaves are the
// records' chain hashes as they are (already leaf hashes).
export function node(left: Buffer, right: Buffer): Buffer {
  return createHash('sha256').update(Buffer.of(1)).update(left).update(right).digest();
}

export function mth(leaves: readonly Buffer[], lo: number, hi: number): Buffer {
  if (hi - lo === 1) return leaves[lo]!;
  let k = 1;
  while (k * 2 < hi - lo) k *= 2;
  return node(mth(leaves, lo, lo + k), mth(leaves, lo + k, hi));
}

/**
 * A tlog-tiles client: the root of the tree of `size` leaves from tiles alone. The tree is cut
 * into perfect subtrees, largest first (the bits of size); each subtree of height h is folded
 * from 2^(h mod 8) consecutive hashes of a level-floor(h / 8) tile, fetched with the width the
 * checkpoint's size implies (full, or partial for the rightmost tile of a level).
 */
export async function rootFromTiles(
  size: number,
  fetch: (tile: Tile) => Buffer | Promise<Buffer>,
): Promise<Buffer> {
  const subtrees: Buffer[] = [];
  let start = 0;
  for (let h = 52; h >= 0; h--) {
    if (Math.floor(size / 2 ** h) % 2 === 0) continue;
    const level = Math.floor(h / 8);
    const span = 256 ** level;
    const count = 2 ** (h % 8); // hashes at height 8·level under this subtree
    const first = start / span;
    const index = Math.floor(first / 256);
    const width = Math.min(256, Math.floor(size / span) - index * 256);
    const tile = await fetch({ level, index, width });
    assert.equal(tile.length, width * 32, `tile ${formatTilePath({ level, index, width })}`);
    let hashes: Buffer[] = [];
    for (let i = first - index * 256; i < first - index * 256 + count; i++)
      hashes.push(tile.subarray(i * 32, i * 32 + 32));
    while (hashes.length > 1) {
      const up: Buffer[] = [];
      for (let i = 0; i < hashes.length; i += 2) up.push(node(hashes[i]!, hashes[i + 1]!));
      hashes = up;
    }
    subtrees.push(hashes[0]!);
    start += 2 ** h;
  }
  // The empty tree's root is the hash of nothing (RFC 9162 2.1.1).
  let root = subtrees.pop() ?? createHash('sha256').digest();
  while (subtrees.length > 0) root = node(subtrees.pop()!, root);
  return root;
}
