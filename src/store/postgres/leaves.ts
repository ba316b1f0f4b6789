/**
 * The Merkle leaves of each channel on PostgreSQL, `dl_leaf_blocks`: the chain hash of every
 * record from seq 1, LEAF_BLOCK hashes (32 bytes each) per row, with the root of the block's
 * perfect subtree once it is full. Kept apart from `dl_records`, whose rows tombstones delete: a
 * proof needs every leaf, and a chain hash says nothing about a person.
 *
 * Only a checkpoint round writes them (checkpointer.ts), in the transaction that moves
 * `dl_trees` and under its lock, so the stored leaves and the signed trees never disagree. The
 * leaves of a channel are contiguous from seq 1: when they are behind the tree (an imported
 * log, a schema from before this table), the round first catches them up from the records,
 * each checked against the chain, and stores them only once the chain reaches a signed head
 * (leaf-catch-up.ts). Where the records are gone (retention), nothing is stored from there on:
 * proofs past that point are unavailable, never wrong.
 */
import type pg from 'pg';
import { LogsError } from '../../errors.js';
import { lineHash, type ChainHasher } from '../../integrity/chain.js';
import { perfectRoot } from '../../integrity/merkle-range.js';

/**
 * Leaves per block, as in the file store's index: a proof over n leaves reads n / 1,024 block
 * roots and one to three blocks of leaves (32 KiB each).
 */
export const LEAF_BLOCK = 1024;
const BLOCK_BYTES = LEAF_BLOCK * 32;
/** Full blocks written per statement (2 MiB). */
const WRITE_BLOCKS = 64;

/** A stored record as a round reads it. */
export interface Row {
  readonly seq: string;
  readonly line: string;
  readonly hash: string;
}

/**
 * The hash of `row` when it is record `seq` and follows from `prev` (its stored hash is its
 * line's, and the line's bytes chain from prev); undefined when it does not.
 */
export function chainedLeaf(
  hasher: ChainHasher,
  prev: string,
  seq: number,
  row: Row,
): string | undefined {
  if (Number(row.seq) !== seq) return undefined;
  const bytes = Buffer.from(row.line, 'utf8');
  const stored = lineHash(bytes);
  return stored !== undefined && stored === row.hash && hasher.nextFromLine(prev, bytes) === stored
    ? stored
    : undefined;
}

/**
 * Appends a channel's leaves after the last one stored, in the caller's transaction. Opening
 * reads where they end; the leaves of the partial block only when something is appended
 * (`load`): a round over a channel that did not grow costs one small read.
 */
export class LeafAppender {
  private readonly buf = Buffer.alloc(BLOCK_BYTES);
  private block: number;
  private fill: number;
  private lastLeaf: string | undefined;
  /** Whether buf holds the stored leaves of the partial block. */
  private loaded: boolean;
  /** Leaves pushed since the partial block was last written. */
  private dirty = false;
  private full: Array<{ block: number; root: Buffer; hashes: Buffer }> = [];

  private constructor(
    readonly channel: string,
    end: { block: number; leaves: number; last: Buffer | null } | undefined,
  ) {
    this.block = end?.block ?? 0;
    this.fill = end?.leaves ?? 0;
    if (end?.last?.length === 32) this.lastLeaf = end.last.toString('hex');
    if (this.fill === LEAF_BLOCK) {
      this.block += 1;
      this.fill = 0;
    }
    this.loaded = this.fill === 0;
  }

  /** The appender after the channel's last stored leaf. */
  static async open(client: pg.ClientBase, channel: string): Promise<LeafAppender> {
    // A row longer than a block, or cut within a hash, is damage: what is whole is kept.
    const { rows } = await client.query<{ block: string; n: number; last: Buffer | null }>(
      `SELECT block, n, substring(hashes from n * 32 - 31 for 32) AS last
         FROM (SELECT block, hashes, least(length(hashes) / 32, ${LEAF_BLOCK}) AS n
                 FROM dl_leaf_blocks WHERE channel = $1 ORDER BY block DESC LIMIT 1) AS b`,
      [channel],
    );
    const r = rows[0];
    return new LeafAppender(
      channel,
      r === undefined ? undefined : { block: Number(r.block), leaves: r.n, last: r.last },
    );
  }

  /** Read the stored leaves of the partial block, before the first push. */
  async load(client: pg.ClientBase): Promise<void> {
    if (this.loaded) return;
    const { rows } = await client.query<{ hashes: Buffer }>(
      'SELECT hashes FROM dl_leaf_blocks WHERE channel = $1 AND block = $2',
      [this.channel, this.block],
    );
    rows[0]?.hashes.copy(this.buf, 0, 0, this.fill * 32);
    this.loaded = true;
  }

  /** How many leaves the channel has (stored, and pushed since). */
  get count(): number {
    return this.block * LEAF_BLOCK + this.fill;
  }

  /** The last leaf (hex), undefined when there is none. */
  get last(): string | undefined {
    return this.lastLeaf;
  }

  /** Append the next leaf (hex); `load` first. */
  push(leaf: string): void {
    if (!this.loaded) throw new LogsError('INTERNAL', 'leaves pushed before their block was read');
    this.buf.write(leaf, this.fill * 32, 32, 'hex');
    this.fill += 1;
    this.lastLeaf = leaf;
    this.dirty = true;
    if (this.fill === LEAF_BLOCK) {
      this.full.push({
        block: this.block,
        root: perfectRoot(this.buf),
        hashes: Buffer.from(this.buf),
      });
      this.block += 1;
      this.fill = 0;
      this.dirty = false;
    }
  }

  /** Write the full blocks pushed (once there are many, or `end`), and at the end the partial one. */
  async write(client: pg.ClientBase, end: boolean): Promise<void> {
    if (this.full.length >= WRITE_BLOCKS || (end && this.full.length > 0)) {
      const full = this.full;
      this.full = [];
      await upsert(client, this.channel, full);
    }
    if (end && this.dirty) {
      const hashes = Buffer.from(this.buf.subarray(0, this.fill * 32));
      await upsert(client, this.channel, [{ block: this.block, root: null, hashes }]);
      this.dirty = false;
    }
  }
}

async function upsert(
  client: pg.ClientBase,
  channel: string,
  blocks: ReadonlyArray<{ block: number; root: Buffer | null; hashes: Buffer }>,
): Promise<void> {
  await client.query(
    `INSERT INTO dl_leaf_blocks (channel, block, root, hashes)
       SELECT $1, b, r, h FROM unnest($2::bigint[], $3::bytea[], $4::bytea[]) AS x(b, r, h)
     ON CONFLICT (channel, block) DO UPDATE SET root = excluded.root, hashes = excluded.hashes`,
    [channel, blocks.map((b) => b.block), blocks.map((b) => b.root), blocks.map((b) => b.hashes)],
  );
}
