import type Database from 'better-sqlite3';
import { LogsError } from '../errors.js';
import { perfectRoot } from '../integrity/merkle-range.js';
import type { IndexDb } from './index-db.js';
import { LEAF_BLOCK, leafCount } from './leaves.js';
import { recordId, SEQ_LIMIT } from './schema.js';

/**
 * The channels' Merkle trees as c2sp.org/tlog-tiles hash tiles, computed from the index's
 * `leaf_blocks`. Tile (L, N) holds the hashes of the nodes at height 8·L numbered N·256 to
 * N·256 + 255: each the RFC 9162 root of a perfect subtree of 256^L leaves. A tile of width W
 * holds the first W of them; every node in it is complete, so a tile never changes once the
 * index holds its leaves. Hashes only: entries (the records) are never served as tiles.
 */

/** Hashes in a full tile. */
export const TILE_WIDTH = 256;
/** Bytes of one hash in a tile. */
export const TILE_HASH_BYTES = 32;
/** The highest level the tlog-tiles path allows. */
export const MAX_TILE_LEVEL = 63;

/** A tile: `width` 256 is the full tile, 1 to 255 a partial one. */
export interface Tile {
  readonly level: number;
  readonly index: number;
  readonly width: number;
}

// Leaves in a full tile of level 0, and the log's bound on leaves (seq < 2^43).
const LEVEL_SPAN = TILE_WIDTH;
const MAX_LEAVES = SEQ_LIMIT;
// Longest canonical path: tile/63/x999/x999/x999/x999/999.p/255 is 41 characters.
const MAX_PATH = 64;
// Up to five 3-digit groups: any index this log can have (below 2^35 at level 0) fits, and
// the number stays far below 2^53.
const PATH = /^tile\/(\d{1,2})\/((?:x\d{3}\/){0,4}\d{3})(?:\.p\/(\d{1,3}))?$/;

/**
 * The tile a tlog-tiles path names (`tile/<L>/<N>[.p/<W>]`), or undefined for anything else.
 * Parse defensively: the path comes from the network. Only the canonical spelling is
 * accepted (no leading zeros in L or W, no leading `x000` groups), so each tile has one URL;
 * L is at most 63, W of a partial tile 1 to 255, and a tile must start below the most leaves
 * a channel can hold. Entry bundles (`tile/entries/...`) are not tiles: undefined.
 */
export function parseTilePath(path: unknown): Tile | undefined {
  if (typeof path !== 'string' || path.length > MAX_PATH) return undefined;
  const m = PATH.exec(path);
  if (m === null) return undefined;
  const [, l = '', n = '', w] = m;
  const level = Number(l);
  if (level > MAX_TILE_LEVEL) return undefined;
  let index = 0;
  for (const group of n.split('/')) index = index * 1000 + Number(group.replace('x', ''));
  const width = w === undefined ? TILE_WIDTH : Number(w);
  if (width < 1 || width > TILE_WIDTH) return undefined;
  if (index * LEVEL_SPAN ** (level + 1) >= MAX_LEAVES) return undefined;
  const tile = { level, index, width };
  // One spelling per tile: `.p/256`, `01`, `x000/005` and the like are refused here.
  return formatTilePath(tile) === path ? tile : undefined;
}

/** The tlog-tiles path of a tile: `tile/<L>/<N>`, with `.p/<W>` for a partial one. */
export function formatTilePath(tile: Tile): string {
  checkTile(tile);
  let n = String(tile.index % 1000).padStart(3, '0');
  for (let rest = Math.floor(tile.index / 1000); rest > 0; rest = Math.floor(rest / 1000))
    n = `x${String(rest % 1000).padStart(3, '0')}/${n}`;
  const partial = tile.width < TILE_WIDTH ? `.p/${tile.width}` : '';
  return `tile/${tile.level}/${n}${partial}`;
}

/**
 * Full tiles (and the longest prefix computed of a partial one), least recently used first
 * out. Tiles never change, but a rebuilt index may hold another log's leaves: entries are
 * kept for one SQLite connection, and a rebuild opens a new one.
 */
export class TileCache {
  private conn: Database.Database | undefined;
  private readonly tiles = new Map<string, Buffer>();

  /** `maxTiles` of at most 8 KiB each (default 1,024: 8 MiB). */
  constructor(private readonly maxTiles = 1024) {}

  /** The tile kept under `key` for this connection (the caller must not change it). */
  get(conn: Database.Database, key: string): Buffer | undefined {
    if (conn !== this.conn) return undefined;
    const hit = this.tiles.get(key);
    if (hit !== undefined) {
      this.tiles.delete(key);
      this.tiles.set(key, hit);
    }
    return hit;
  }

  /** Keep a tile; one of another connection drops all the others first. */
  set(conn: Database.Database, key: string, tile: Buffer): void {
    if (conn !== this.conn) {
      this.tiles.clear();
      this.conn = conn;
    }
    this.tiles.delete(key);
    this.tiles.set(key, tile);
    if (this.tiles.size > this.maxTiles) {
      const oldest = this.tiles.keys().next().value;
      if (oldest !== undefined) this.tiles.delete(oldest);
    }
  }

  /** Tiles kept. */
  get size(): number {
    return this.tiles.size;
  }
}

/**
 * The bytes of a tile of `channel`'s tree: `width` hashes of 32 bytes. Level 0 is read from
 * the leaves; level 1 hashes them (256 per node); from level 2 up, a node spans whole blocks of
 * 1,024 leaves and is folded from their stored roots (64 per node at level 2), and from
 * level 3 from the full tile below it (cached): a full level-2 tile reads 16,384 block roots.
 *
 * TILE_UNAVAILABLE when the index does not hold every leaf the tile needs
 * ((N·256 + W)·256^L of them): the channel is unknown to it, the tile lies past what it has
 * indexed, or the leaves stop at a gap. USAGE for a malformed tile; PROOF_UNAVAILABLE when
 * the stored leaves are damaged.
 */
export function tileFromIndex(db: IndexDb, channel: string, tile: Tile, cache?: TileCache): Buffer {
  checkTile(tile);
  const state = db.state(channel);
  const leaves = state === undefined ? 0 : leafCount(db.connection, state.channelNo);
  const needed = (tile.index * TILE_WIDTH + tile.width) * LEVEL_SPAN ** tile.level;
  if (state === undefined || needed > leaves) {
    throw new LogsError(
      'TILE_UNAVAILABLE',
      `the index holds ${leaves} Merkle leaves of ${channel}, fewer than the tile needs (catch the index up, or see PROOF_UNAVAILABLE for a gap)`,
      { details: { channel, leaves } },
    );
  }
  return new TileReader(db.connection, state.channelNo, channel, cache).tile(tile);
}

function checkTile(tile: Tile): void {
  const { level, index, width } = tile;
  if (
    !Number.isInteger(level) ||
    level < 0 ||
    level > MAX_TILE_LEVEL ||
    !Number.isSafeInteger(index) ||
    index < 0 ||
    !Number.isInteger(width) ||
    width < 1 ||
    width > TILE_WIDTH
  ) {
    throw new LogsError(
      'USAGE',
      `a tile has a level from 0 to ${MAX_TILE_LEVEL}, an index from 0 and a width from 1 to ${TILE_WIDTH}`,
    );
  }
}

/** Reads the nodes of one channel's tiles; the caller has checked the leaves are there. */
class TileReader {
  private readonly base: number;

  constructor(
    private readonly conn: Database.Database,
    channelNo: number,
    private readonly channel: string,
    private readonly cache: TileCache | undefined,
  ) {
    this.base = recordId(channelNo, 0);
  }

  tile({ level, index, width }: Tile): Buffer {
    const key = `${this.channel}\n${level}/${index}`;
    const known = this.cache?.get(this.conn, key);
    const have = known === undefined ? 0 : known.length / TILE_HASH_BYTES;
    if (known !== undefined && have >= width)
      return Buffer.from(known.subarray(0, width * TILE_HASH_BYTES));
    // Only the nodes not already known are computed: a partial tile growing with the log costs
    // its new nodes alone.
    const first = index * TILE_WIDTH;
    const fresh = this.nodes(level, first + have, width - have);
    const out = known === undefined ? fresh : Buffer.concat([known, fresh]);
    this.cache?.set(this.conn, key, out);
    return Buffer.from(out);
  }

  /** Hashes of nodes `first` to `first + count - 1` at height 8·level, concatenated. */
  private nodes(level: number, first: number, count: number): Buffer {
    if (level === 0) return this.leaves(first, count);
    if (level === 1) return this.level1(first, count);
    if (level === 2) return this.level2(first, count);
    const out = Buffer.alloc(count * TILE_HASH_BYTES);
    for (let i = 0; i < count; i++)
      out.set(
        perfectRoot(this.tile({ level: level - 1, index: first + i, width: TILE_WIDTH })),
        i * 32,
      );
    return out;
  }

  /** Leaf hashes: a tile of them never spans two blocks (256 divides 1,024). */
  private leaves(first: number, count: number): Buffer {
    const b = Math.floor(first / LEAF_BLOCK);
    const at = (first - b * LEAF_BLOCK) * TILE_HASH_BYTES;
    const hashes = this.conn
      .prepare<[number], Buffer>('SELECT hashes FROM leaf_blocks WHERE id = ?')
      .pluck()
      .get(this.base + b);
    const end = at + count * TILE_HASH_BYTES;
    if (hashes === undefined || hashes.length < end) throw damaged();
    return Buffer.from(hashes.subarray(at, end));
  }

  /** Nodes of 256 leaves: four per block, each hashed from its leaves. */
  private level1(first: number, count: number): Buffer {
    const per = LEAF_BLOCK / LEVEL_SPAN;
    const span = LEVEL_SPAN * TILE_HASH_BYTES;
    const out = Buffer.alloc(count * TILE_HASH_BYTES);
    const rows = this.conn
      .prepare<[number, number], { id: number; hashes: Buffer }>(
        'SELECT id, hashes FROM leaf_blocks WHERE id BETWEEN ? AND ? ORDER BY id',
      )
      .all(this.base + Math.floor(first / per), this.base + Math.floor((first + count - 1) / per));
    let done = 0;
    for (const row of rows) {
      for (let q = 0; q < per; q++) {
        const node = (row.id - this.base) * per + q;
        if (node < first || node >= first + count) continue;
        if (node !== first + done || row.hashes.length < (q + 1) * span) throw damaged();
        out.set(perfectRoot(row.hashes.subarray(q * span, (q + 1) * span)), done * 32);
        done += 1;
      }
    }
    if (done !== count) throw damaged();
    return out;
  }

  /** Nodes of 65,536 leaves: each the root of 64 consecutive full blocks' roots. */
  private level2(first: number, count: number): Buffer {
    const per = LEVEL_SPAN ** 2 / LEAF_BLOCK;
    const roots = this.conn
      .prepare<[number, number], Buffer | null>(
        'SELECT root FROM leaf_blocks WHERE id >= ? AND id < ? ORDER BY id',
      )
      .pluck()
      .all(this.base + first * per, this.base + (first + count) * per);
    if (roots.length !== count * per) throw damaged();
    const buf = Buffer.alloc(roots.length * TILE_HASH_BYTES);
    for (const [i, r] of roots.entries()) {
      if (r?.length !== TILE_HASH_BYTES) throw damaged();
      buf.set(r, i * TILE_HASH_BYTES);
    }
    const out = Buffer.alloc(count * TILE_HASH_BYTES);
    const span = per * TILE_HASH_BYTES;
    for (let i = 0; i < count; i++)
      out.set(perfectRoot(buf.subarray(i * span, (i + 1) * span)), i * TILE_HASH_BYTES);
    return out;
  }
}

// The index said it holds these leaves and does not: a damaged file. A rebuild makes it again.
function damaged(): LogsError {
  return new LogsError(
    'PROOF_UNAVAILABLE',
    'the Merkle leaves in the index are damaged; rebuild it (dihya-logs reindex --rebuild)',
  );
}
