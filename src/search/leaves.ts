import type Database from 'better-sqlite3';
import { LogsError } from '../errors.js';
import { BlockTree } from '../integrity/block-tree.js';
import { perfectRoot } from '../integrity/merkle-range.js';
import { recordId, SEQ_LIMIT } from './schema.js';
import type { IndexRow } from './types.js';

/**
 * The Merkle leaves of each channel, `leaf_blocks`: the chain hash of every record from seq 1,
 * LEAF_BLOCK hashes (32 bytes each) per row, with the root of the block's perfect subtree once
 * it is full. Kept apart from `records`, whose rows erasure and retention remove: a proof needs
 * every leaf, and a chain hash says nothing about a person.
 *
 * The leaves of a channel are always contiguous from seq 1: a batch that does not continue
 * them (records before it were deleted by retention before this index was built, or are
 * missing from the log) adds none, now or later, and proofs past that point are unavailable.
 */

/**
 * Leaves per block. A proof over n leaves reads n / LEAF_BLOCK block roots and one or two
 * blocks of leaves: 1,024 keeps both small up to hundreds of millions of records (about 10,000
 * roots for 10 million), and a block is 32 KiB.
 */
export const LEAF_BLOCK = 1024;
const BLOCK_BYTES = LEAF_BLOCK * 32;

/**
 * Roots of full blocks (block number, 32-byte root), computed while scanning: in the worker
 * thread of a large catch-up, beside parsing, they cost the main thread (busy with SQLite and
 * the bottleneck of a build) nothing. Blocks without one are computed by the LeafWriter.
 */
export type BlockRoots = ReadonlyArray<readonly [block: number, root: Uint8Array]>;

/** Folds the leaves a scan meets into the roots of the blocks it reads whole. */
export class BlockRootMaker {
  private readonly buf = Buffer.alloc(BLOCK_BYTES);
  private fill = 0;
  /** The seq that continues the block being filled (0: none). */
  private next = 0;
  private done: Array<readonly [number, Uint8Array]> = [];

  add(seq: number, hash: Uint8Array): void {
    if (seq !== this.next) {
      this.fill = 0;
      this.next = 0;
      // A block starts at seq 1, 1025, 2049...: one cut by a gap or by the start of the scan
      // is left to the LeafWriter.
      if ((seq - 1) % LEAF_BLOCK !== 0) return;
    }
    this.buf.set(hash, this.fill * 32);
    this.fill += 1;
    this.next = seq + 1;
    if (this.fill === LEAF_BLOCK) {
      this.done.push([seq / LEAF_BLOCK - 1, perfectRoot(this.buf)]);
      this.fill = 0;
    }
  }

  /** The roots completed since the last take. */
  take(): BlockRoots {
    const done = this.done;
    this.done = [];
    return done;
  }
}

/** Appends the leaves of committed batches, inside the batch's transaction. */
export class LeafWriter {
  private readonly last: Database.Statement<[number, number], { id: number; hashes: Buffer }>;
  private readonly put: Database.Statement<[number, Buffer | null, Buffer]>;
  private readonly block = Buffer.alloc(BLOCK_BYTES);

  constructor(db: Database.Database) {
    this.last = db.prepare(
      'SELECT id, hashes FROM leaf_blocks WHERE id BETWEEN ? AND ? ORDER BY id DESC LIMIT 1',
    );
    this.put = db.prepare('INSERT OR REPLACE INTO leaf_blocks (id, root, hashes) VALUES (?, ?, ?)');
  }

  /**
   * Append the chain hashes of `rows` (in seq order) that continue the channel's leaves. Every
   * row counts, whether or not it is indexed (an erased person's records are leaves too).
   * `roots`: roots of blocks these rows fill whole, computed by the scan from the same rows.
   */
  append(channelNo: number, rows: readonly IndexRow[], roots: BlockRoots = []): void {
    const first = rows[0];
    if (first === undefined) return;
    const base = recordId(channelNo, 0);
    const last = this.last.get(base, base + SEQ_LIMIT - 1);
    let block = last === undefined ? 0 : last.id - base;
    let fill = last === undefined ? 0 : Math.floor(last.hashes.length / 32);
    if (fill === LEAF_BLOCK) {
      block += 1;
      fill = 0;
    }
    let count = block * LEAF_BLOCK + fill;
    const buf = this.block;
    if (fill > 0) last?.hashes.copy(buf);
    let changed = false;
    for (const r of rows) {
      if (r.seq <= count) continue;
      if (r.seq !== count + 1) break; // a gap: nothing after it is a leaf we can place
      buf.set(r.hash, fill * 32);
      fill += 1;
      count += 1;
      changed = true;
      if (fill === LEAF_BLOCK) {
        const root = roots.find(([b]) => b === block)?.[1] ?? perfectRoot(buf);
        this.put.run(base + block, Buffer.from(root.buffer, root.byteOffset, 32), buf);
        block += 1;
        fill = 0;
        changed = false;
      }
    }
    if (changed) this.put.run(base + block, null, buf.subarray(0, fill * 32));
  }
}

/** How many leaves of a channel the index holds (contiguous from seq 1). */
export function leafCount(db: Database.Database, channelNo: number): number {
  const base = recordId(channelNo, 0);
  const row = db
    .prepare<[number, number], { id: number; n: number }>(
      'SELECT id, length(hashes) / 32 AS n FROM leaf_blocks WHERE id BETWEEN ? AND ? ORDER BY id DESC LIMIT 1',
    )
    .get(base, base + SEQ_LIMIT - 1);
  return row === undefined ? 0 : (row.id - base) * LEAF_BLOCK + row.n;
}

/**
 * A channel's tree at some size, read from `leaf_blocks`: the roots of its full blocks are read
 * in one query, blocks of leaves only when a range cuts through one. Subtree roots are kept, so
 * the roots of a proof's tree cost nothing once its path is known.
 */
export class IndexedTree extends BlockTree {
  private readonly base: number;
  private readonly blockRoots: Buffer[];
  private readonly blocks = new Map<number, Buffer>();
  private readonly blockOf: Database.Statement<[number], Buffer>;

  /** The caller has checked that the index holds at least `size` leaves of the channel. */
  constructor(db: Database.Database, channelNo: number, size: number) {
    super(size, LEAF_BLOCK);
    this.base = recordId(channelNo, 0);
    const full = Math.floor(size / LEAF_BLOCK);
    this.blockRoots = db
      .prepare<[number, number], Buffer>(
        'SELECT root FROM leaf_blocks WHERE id >= ? AND id < ? ORDER BY id',
      )
      .pluck()
      .all(this.base, this.base + full);
    if (this.blockRoots.length !== full || !this.blockRoots.every(isHash)) throw damaged();
    this.blockOf = db
      .prepare<[number], Buffer>('SELECT hashes FROM leaf_blocks WHERE id = ?')
      .pluck();
  }

  /** The hash of leaf i (0-based): the chain hash of record i + 1. */
  leaf(i: number): Buffer {
    const b = Math.floor(i / LEAF_BLOCK);
    let block = this.blocks.get(b);
    if (block === undefined) {
      block = this.blockOf.get(this.base + b);
      if (block === undefined) throw damaged();
      this.blocks.set(b, block);
    }
    const at = (i - b * LEAF_BLOCK) * 32;
    if (at + 32 > block.length) throw damaged();
    return block.subarray(at, at + 32);
  }

  protected blockRoot(b: number): Buffer | undefined {
    return this.blockRoots[b];
  }
}

function isHash(value: unknown): boolean {
  return Buffer.isBuffer(value) && value.length === 32;
}

// The index said it holds these leaves and does not: a damaged file (SQLite reads it, but a
// row is missing or altered). A rebuild makes it again from the log files.
function damaged(): LogsError {
  return new LogsError(
    'PROOF_UNAVAILABLE',
    'the Merkle leaves in the index are damaged; rebuild it (dihya-logs reindex --rebuild)',
  );
}
