/**
 * RFC 9162 proofs served from `dl_leaf_blocks` (leaves.ts), for sizes up to the channel's last
 * signed tree: a proof's root equals the root of the signed checkpoint of the same size, which
 * `checkpointAt` finds. A proof says nothing by itself: it is worth the signature of the
 * checkpoint it is checked against (integrity/proofs.ts verifies both).
 *
 * A proof over n leaves reads the channel's signed size and leaf count, then (two queries at
 * once) the n / 1,024 roots of the full blocks and the one to three blocks of leaves its path
 * cuts through; nothing else.
 */
import type pg from 'pg';
import { LogsError } from '../../errors.js';
import { parseCheckpoint, type Checkpoint } from '../../integrity/checkpoint.js';
import {
  BlockTree,
  checkConsistencyArgs,
  checkInclusionArgs,
  consistencyProofOf,
  inclusionProofOf,
} from '../../integrity/block-tree.js';
import type { ConsistencyProof, InclusionProof } from '../../integrity/proofs.js';
import { LEAF_BLOCK } from './leaves.js';
import { CHECKPOINT_SIZE } from './signed-logs.js';

type Db = pg.Pool | pg.ClientBase;

/**
 * The audit path of record `seq` of `channel` in the channel's tree of `size` records.
 *
 * USAGE when an argument is not a whole number from 1, seq > size, the channel is unknown or
 * size is past its last signed tree; PROOF_UNAVAILABLE when the leaves it needs are not stored
 * (records deleted by retention before their leaves were caught up) or are damaged.
 */
export async function inclusionProof(
  db: Db,
  logId: string,
  channel: string,
  seq: number,
  size: number,
): Promise<InclusionProof> {
  checkInclusionArgs(seq, size);
  const index = seq - 1;
  const tree = await readTree(db, channel, size, [index, index - 1]);
  return inclusionProofOf(tree, logId, channel, seq);
}

/**
 * The consistency proof from the channel's tree of `from` records to its tree of `to`, with
 * both roots. Same errors as inclusionProof; from <= to.
 */
export async function consistencyProof(
  db: Db,
  channel: string,
  from: number,
  to: number,
): Promise<ConsistencyProof> {
  checkConsistencyArgs(from, to);
  // The path turns at the boundary `from`: within a block, that block's leaves are needed.
  const tree = await readTree(db, channel, to, from % LEAF_BLOCK === 0 ? [] : [from - 1]);
  return consistencyProofOf(tree, channel, from);
}

/**
 * The signed checkpoint of `channel` at exactly `size` records (the latest, if it was signed
 * more than once), undefined when there is none. Its signature is the caller's to check.
 */
export async function checkpointAt(
  db: Db,
  logId: string,
  channel: string,
  size: number,
): Promise<Checkpoint | undefined> {
  if (!Number.isSafeInteger(size) || size < 0) return undefined;
  const { rows } = await db.query<{ line: string }>(
    `SELECT line FROM dl_checkpoints WHERE channel = $1 AND ${CHECKPOINT_SIZE} = $2
      ORDER BY n DESC LIMIT 10`,
    [channel, size],
  );
  for (const { line } of rows) {
    try {
      const cp = parseCheckpoint(line);
      if (cp.log_id === logId && cp.channel === channel && cp.size === size) return cp;
    } catch {
      // unreadable: verify's business
    }
  }
  return undefined;
}

/**
 * The channel's tree at `size`, once it is known to be signed and its leaves stored, with the
 * blocks of leaves `near` (leaf indices, -1 for none) and the last, partial block read.
 */
async function readTree(
  db: Db,
  channel: string,
  size: number,
  near: readonly number[],
): Promise<BlockTree> {
  const state = await db.query<{ size: string; leaves: string | null }>(
    `SELECT t.size,
            (SELECT b.block * ${LEAF_BLOCK} + length(b.hashes) / 32 FROM dl_leaf_blocks b
              WHERE b.channel = t.channel ORDER BY b.block DESC LIMIT 1) AS leaves
       FROM dl_trees t WHERE t.channel = $1`,
    [channel],
  );
  const s = state.rows[0];
  if (s === undefined) throw new LogsError('USAGE', `no channel ${JSON.stringify(channel)}`);
  const signed = Number(s.size);
  if (size > signed)
    throw new LogsError(
      'USAGE',
      `${channel} is signed up to seq ${signed}, not ${size}: ask for a smaller size, or wait for the next checkpoint`,
      { details: { channel, signed } },
    );
  const leaves = Number(s.leaves ?? 0);
  if (size > leaves)
    throw new LogsError(
      'PROOF_UNAVAILABLE',
      `the database holds the Merkle leaves of ${channel} up to seq ${leaves} only: the leaves after it are being caught up from the records (an imported log, or a schema from before them: each checkpoint round adds about 50,000), or those records were deleted by retention first, or are missing (see dihya-logs verify)`,
      { details: { channel, leaves } },
    );
  const full = Math.floor(size / LEAF_BLOCK);
  const wanted = new Set<number>();
  for (const i of near) if (i >= 0 && i < size) wanted.add(Math.floor(i / LEAF_BLOCK));
  if (size % LEAF_BLOCK !== 0) wanted.add(full);
  const [roots, blocks] = await Promise.all([
    db.query<{ n: string; ok: boolean | null; roots: Buffer | null }>(
      `SELECT count(*) AS n, bool_and(coalesce(octet_length(root) = 32, false)) AS ok,
              string_agg(root, ''::bytea ORDER BY block) AS roots
         FROM dl_leaf_blocks WHERE channel = $1 AND block >= 0 AND block < $2`,
      [channel, full],
    ),
    db.query<{ block: string; hashes: Buffer }>(
      'SELECT block, hashes FROM dl_leaf_blocks WHERE channel = $1 AND block = ANY($2::bigint[])',
      [channel, [...wanted]],
    ),
  ]);
  const r = roots.rows[0];
  if (Number(r?.n ?? 0) !== full || (full > 0 && (r?.ok !== true || r.roots === null)))
    throw damaged(channel);
  const read = new Map(blocks.rows.map((b) => [Number(b.block), b.hashes]));
  for (const b of wanted) {
    const need = b < full ? LEAF_BLOCK : size - full * LEAF_BLOCK;
    const got = read.get(b);
    if (got === undefined || got.length < need * 32 || (b < full && got.length !== need * 32))
      throw damaged(channel);
  }
  return new StoredTree(size, r?.roots ?? Buffer.alloc(0), read);
}

/**
 * A tree of `size` leaves from the roots of its full blocks (32 bytes each, in order) and the
 * blocks of leaves a path needs. Large subtree roots are kept: once a proof's path is known,
 * the roots of its trees cost nothing. (search/leaves.ts IndexedTree folds the same way over
 * the file store's index.)
 */
class StoredTree extends BlockTree {
  constructor(
    size: number,
    private readonly blockRoots: Buffer,
    private readonly blocks: ReadonlyMap<number, Buffer>,
  ) {
    super(size, LEAF_BLOCK);
  }

  leaf(i: number): Buffer {
    const b = Math.floor(i / LEAF_BLOCK);
    const block = this.blocks.get(b);
    // readTree reads every block a path can reach: a miss is a bug here, not in the data.
    if (block === undefined) throw new LogsError('INTERNAL', `leaf block ${b} was not read`);
    const at = (i - b * LEAF_BLOCK) * 32;
    return block.subarray(at, at + 32);
  }

  protected blockRoot(b: number): Buffer | undefined {
    const at = b * 32;
    return at + 32 <= this.blockRoots.length ? this.blockRoots.subarray(at, at + 32) : undefined;
  }
}

// The table says it holds these leaves and does not: a row is missing or altered.
function damaged(channel: string): LogsError {
  return new LogsError(
    'PROOF_UNAVAILABLE',
    `the Merkle leaves of ${channel} in dl_leaf_blocks are damaged (a block is missing or cut short; see dihya-logs verify)`,
    { details: { channel } },
  );
}
