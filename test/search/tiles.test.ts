import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import type { IndexDb } from '../../src/search/index-db.js';
import { catchUp, rebuild } from '../../src/search/indexer.js';
import { LEAF_BLOCK } from '../../src/search/leaves.js';
import { recordId } from '../../src/search/schema.js';
import {
  formatTilePath,
  parseTilePath,
  TileCache,
  tileFromIndex,
  type Tile,
} from '../../src/search/tiles.js';
import { LogLayout } from '../../src/store/file/layout.js';
import { expectCode, newLog, readLines, readRecords, type TestLog } from '../helpers.js';
import { openIndex } from './helpers.js';
import { mth, rootFromTiles } from './tile-client.js';

/** What tile (L, N) of width W must hold: the MTH of each of its nodes' 256^L leaves. */
function expectedTile(leaves: readonly Buffer[], { level, index, width }: Tile): Buffer {
  const span = 256 ** level;
  const out: Buffer[] = [];
  for (let i = index * 256; i < index * 256 + width; i++)
    out.push(mth(leaves, i * span, (i + 1) * span));
  return Buffer.concat(out);
}

interface Written {
  readonly t: TestLog;
  readonly db: IndexDb;
  /** The chain hashes of `app`, read from its file: leaf i is record i + 1. */
  readonly leaves: Buffer[];
  /** The signed checkpoints of `app`. */
  readonly checkpoints: Array<{ size: number; root: string }>;
}

/** `app` records written in rounds (a checkpoint after each), then indexed. */
async function written(rounds: readonly number[]): Promise<Written> {
  const t = newLog();
  const logs = await t.open();
  let n = 0;
  for (const count of rounds) {
    for (let i = 0; i < count; i++, n++) logs.app.info({ n }, 'tick');
    await logs.flush();
  }
  await logs.close();
  const layout = new LogLayout(t.dir);
  const leaves = readLines(path.join(t.dir, 'app.log')).map((l) =>
    Buffer.from((JSON.parse(l) as { hash: string }).hash, 'hex'),
  );
  assert.equal(leaves.length, n);
  const checkpoints = readRecords(layout.checkpointsFile)
    .filter((c) => c.channel === 'app')
    .map((c) => ({ size: c.size as number, root: c.root as string }));
  const db = openIndex(t);
  await catchUp(layout, t.logId, db);
  return { t, db, leaves, checkpoints };
}

test('tile paths: the canonical form of c2sp.org/tlog-tiles, parsed and formatted', () => {
  const good: Array<[string, Tile]> = [
    ['tile/0/000', { level: 0, index: 0, width: 256 }],
    ['tile/0/999', { level: 0, index: 999, width: 256 }],
    ['tile/0/x001/000', { level: 0, index: 1000, width: 256 }],
    ['tile/0/x001/x234/067', { level: 0, index: 1234067, width: 256 }],
    ['tile/1/005.p/1', { level: 1, index: 5, width: 1 }],
    ['tile/2/000.p/255', { level: 2, index: 0, width: 255 }],
    ['tile/63/000.p/7', { level: 63, index: 0, width: 7 }],
    // The last level-0 tile a channel of 2^43 - 1 records can have.
    ['tile/0/x034/x359/x738/367', { level: 0, index: 2 ** 35 - 1, width: 256 }],
  ];
  for (const [p, tile] of good) {
    assert.deepEqual(parseTilePath(p), tile, p);
    assert.equal(formatTilePath(tile), p);
  }
  const bad = [
    '',
    'tile',
    'tile/0',
    'tile/0/',
    'tile/0/0',
    'tile/0/00',
    'tile/0/0000',
    'tile/00/000', // leading zeros
    'tile/01/000',
    'tile/0/x000/001', // not the canonical spelling of 1
    'tile/0/x001/67',
    'tile/0/001/234',
    'tile/0/x001',
    'tile/0/001.p/0',
    'tile/0/001.p/256', // a full tile has no .p
    'tile/0/001.p/007',
    'tile/0/001.p/',
    'tile/0/001.p',
    'tile/0/001.p/1/',
    'tile/64/000', // L is at most 63
    'tile/100/000',
    'tile/-1/000',
    'tile/0/-01',
    'tile/0/+01',
    'tile/0/x001/x001/x001/x001/x001/001', // six groups
    'tile/0/x034/x359/x738/368', // starts at leaf 2^43: past any channel
    'tile/0/x999/x999/x999/x999/999',
    'tile/5/001', // 256^6 leaves before it
    'tile/entries/000', // entries are never tiles
    'tile/entries/000.p/5',
    'tile/entries/x001/000',
    'tile/0/../000',
    'tile/../0/000',
    'tile/0/./000',
    '/tile/0/000',
    'tile/0/000/',
    'tile//0/000',
    'tile/0/000\n',
    ' tile/0/000',
    'tile/0/０００',
    'tile/0/%30%30%30',
    'TILE/0/000',
    'tile/0/X001/000',
    'tile/0/1e3',
    `tile/0/${'x001/'.repeat(2000)}000`,
  ];
  for (const p of bad) assert.equal(parseTilePath(p), undefined, JSON.stringify(p));
  for (const v of [undefined, null, 0, {}, ['tile/0/000']])
    assert.equal(parseTilePath(v), undefined);
});

test('formatTilePath and tileFromIndex refuse a tile that is not one (USAGE)', async () => {
  const w = await written([3]);
  for (const tile of [
    { level: -1, index: 0, width: 1 },
    { level: 64, index: 0, width: 1 },
    { level: 0.5, index: 0, width: 1 },
    { level: 0, index: -1, width: 1 },
    { level: 0, index: 2 ** 53, width: 1 },
    { level: 0, index: Number.NaN, width: 1 },
    { level: 0, index: 0, width: 0 },
    { level: 0, index: 0, width: 257 },
    { level: 0, index: 0, width: 1.5 },
  ]) {
    await expectCode('USAGE', () => formatTilePath(tile));
    await expectCode('USAGE', () => tileFromIndex(w.db, 'app', tile));
  }
  w.db.close();
});

test('level 0 and level 1 tiles, full and partial, are the tree the channel file gives', async () => {
  // 3,000 records: 11 full level-0 tiles and one of 184 hashes; a level-1 tile of 11.
  const w = await written([1000, 1300, 700]);
  const get = (tile: Tile): Buffer => tileFromIndex(w.db, 'app', tile);
  for (let index = 0; index < 11; index++) {
    const tile = { level: 0, index, width: 256 };
    assert.deepEqual(get(tile), expectedTile(w.leaves, tile), `level 0 tile ${index}`);
  }
  for (const width of [1, 2, 100, 183, 184]) {
    const tile = { level: 0, index: 11, width };
    assert.deepEqual(get(tile), expectedTile(w.leaves, tile));
  }
  assert.deepEqual(get({ level: 0, index: 3, width: 17 }), Buffer.concat(w.leaves.slice(768, 785)));
  for (const width of [1, 4, 5, 10, 11]) {
    const tile = { level: 1, index: 0, width };
    assert.deepEqual(get(tile), expectedTile(w.leaves, tile), `level 1 width ${width}`);
  }
  // Nothing the index does not hold: past the leaves, another level, another channel.
  for (const tile of [
    { level: 0, index: 11, width: 185 },
    { level: 0, index: 11, width: 256 },
    { level: 0, index: 12, width: 1 },
    { level: 1, index: 0, width: 12 },
    { level: 1, index: 1, width: 1 },
    { level: 2, index: 0, width: 1 },
    { level: 63, index: 0, width: 1 },
  ])
    await expectCode('TILE_UNAVAILABLE', () => get(tile));
  await expectCode('TILE_UNAVAILABLE', () =>
    tileFromIndex(w.db, 'nope', { level: 0, index: 0, width: 1 }),
  );
  w.db.close();
});

test('the tile cache gives the same bytes, serves a narrower tile from a wider one, and is dropped with the connection', async () => {
  const w = await written([700]);
  const cache = new TileCache(2);
  const full = { level: 0, index: 1, width: 256 };
  const a = tileFromIndex(w.db, 'app', full, cache);
  const b = tileFromIndex(w.db, 'app', full, cache);
  assert.deepEqual(a, b);
  assert.deepEqual(a, expectedTile(w.leaves, full));
  a.fill(0); // the caller's copy: the cached tile is untouched
  assert.deepEqual(tileFromIndex(w.db, 'app', full, cache), b);
  // A partial tile grows: what is known is kept, the rest computed.
  for (const width of [10, 5, 188, 100]) {
    const tile = { level: 0, index: 2, width };
    assert.deepEqual(tileFromIndex(w.db, 'app', tile, cache), expectedTile(w.leaves, tile));
  }
  tileFromIndex(w.db, 'app', { level: 0, index: 0, width: 256 }, cache);
  assert.equal(cache.size, 2, 'at most maxTiles');
  // A rebuild opens another connection: nothing cached before it is served after it.
  await rebuild(new LogLayout(w.t.dir), w.t.logId, w.db);
  assert.deepEqual(tileFromIndex(w.db, 'app', full, cache), expectedTile(w.leaves, full));
  assert.equal(cache.size, 1);
  w.db.close();
});

test('70,000 records, the example of c2sp.org/tlog-tiles: every tile of every level, and a client reproduces each signed root', async (t) => {
  const started = Date.now();
  const w = await written([1, 299, 65_236, 1, 4463]);
  t.diagnostic(`wrote and indexed 70,000 records in ${Date.now() - started} ms`);
  const sizes = w.checkpoints.map((c) => c.size);
  for (const s of [1, 300, 65_536, 65_537, 70_000]) assert.ok(sizes.includes(s), sizes.join());

  // 273 full level-0 tiles and one of 112; a full level-1 tile and one of 17; a level-2 tile of
  // 1. Level 0 is checked by slicing the leaves, the levels above by folding the level below.
  const leafBytes = Buffer.concat(w.leaves);
  const cache = new TileCache();
  const get = (tile: Tile): Buffer => tileFromIndex(w.db, 'app', tile, cache);
  for (let index = 0; index < 273; index++)
    assert.deepEqual(
      get({ level: 0, index, width: 256 }),
      leafBytes.subarray(index * 8192, (index + 1) * 8192),
    );
  assert.deepEqual(get({ level: 0, index: 273, width: 112 }), leafBytes.subarray(273 * 8192));
  const level1 = Buffer.concat([
    get({ level: 1, index: 0, width: 256 }),
    get({ level: 1, index: 1, width: 17 }),
  ]);
  for (let i = 0; i < 273; i++) {
    const want = mth(w.leaves, i * 256, (i + 1) * 256);
    assert.deepEqual(level1.subarray(i * 32, i * 32 + 32), want, `level 1 node ${i}`);
  }
  assert.deepEqual(get({ level: 2, index: 0, width: 1 }), mth(w.leaves, 0, 65_536));
  for (const tile of [
    { level: 0, index: 273, width: 113 },
    { level: 1, index: 1, width: 18 },
    { level: 2, index: 0, width: 2 },
    { level: 3, index: 0, width: 1 },
  ])
    await expectCode('TILE_UNAVAILABLE', () => get(tile));

  for (const cp of w.checkpoints) {
    const root = (await rootFromTiles(cp.size, get)).toString('hex');
    assert.equal(root, cp.root, `the root of the checkpoint of size ${cp.size}`);
  }
  assert.equal(
    (await rootFromTiles(70_000, get)).toString('hex'),
    mth(w.leaves, 0, 70_000).toString('hex'),
  );

  // What a tile costs the first time (no cache).
  for (const tile of [
    { level: 0, index: 100, width: 256 },
    { level: 1, index: 0, width: 256 },
    { level: 2, index: 0, width: 1 },
  ]) {
    const t0 = process.hrtime.bigint();
    tileFromIndex(w.db, 'app', tile);
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    t.diagnostic(`${formatTilePath(tile)}: ${ms.toFixed(2)} ms`);
  }
  w.db.close();
});

test('levels 2 and 3 fold the stored roots of whole blocks (an index of 2^24 leaves, made up)', async (t) => {
  // Only the block roots are read from level 2 up: an index whose blocks hold random roots
  // (and no leaves but the last block's, which says how many there are) is enough.
  const w = await written([1]);
  const blocks = 2 ** 24 / LEAF_BLOCK;
  const roots = Array.from({ length: blocks }, () => randomBytes(32));
  const { channelNo } = w.db.channel('made-up');
  const put = w.db.connection.prepare(
    'INSERT INTO leaf_blocks (id, root, hashes) VALUES (?, ?, ?)',
  );
  w.db.connection.transaction(() => {
    for (const [b, root] of roots.entries())
      put.run(
        recordId(channelNo, b),
        root,
        b === blocks - 1 ? Buffer.alloc(LEAF_BLOCK * 32) : Buffer.alloc(0),
      );
  })();
  const get = (tile: Tile): Buffer => tileFromIndex(w.db, 'made-up', tile);
  let t0 = process.hrtime.bigint();
  const level2 = get({ level: 2, index: 0, width: 256 });
  t.diagnostic(`tile/2/000: ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(2)} ms`);
  for (let i = 0; i < 256; i++)
    assert.deepEqual(level2.subarray(i * 32, i * 32 + 32), mth(roots, i * 64, (i + 1) * 64));
  t0 = process.hrtime.bigint();
  assert.deepEqual(get({ level: 3, index: 0, width: 1 }), mth(roots, 0, blocks));
  t.diagnostic(`tile/3/000.p/1: ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(2)} ms`);
  await expectCode('TILE_UNAVAILABLE', () => get({ level: 3, index: 0, width: 2 }));
  // A block root missing where one must be: damage, not a wrong tile.
  w.db.connection
    .prepare('UPDATE leaf_blocks SET root = NULL WHERE id = ?')
    .run(recordId(channelNo, 77));
  await expectCode('PROOF_UNAVAILABLE', () => get({ level: 2, index: 0, width: 2 }));
  w.db.close();
});
