/**
 * Leaves behind their channel's signed tree, caught up by the checkpoint round (leaves.ts):
 * records imported from a logs directory, or written before `dl_leaf_blocks` existed. The
 * records after the last leaf are read in order, each checked against the chain from it (the
 * genesis before seq 1), and their leaves are stored only once the chain reaches a signed head:
 * a stored leaf is one a signed checkpoint commits to. A round goes about CATCH_UP records
 * further, so the checkpoint lock is never held long.
 */
import { createPublicKey } from 'node:crypto';
import type pg from 'pg';
import { LogsError } from '../../errors.js';
import { ChainHasher, chainGenesis } from '../../integrity/chain.js';
import { checkpointSignatureValid, parseCheckpoint } from '../../integrity/checkpoint.js';
import { chainedLeaf, LeafAppender, type Row } from './leaves.js';
import { CHECKPOINT_SIZE, type Signer } from './signed-logs.js';

/**
 * Leaves one round catches up per channel, about: a round holds the checkpoint lock meanwhile.
 * It goes further when no signed checkpoint lies within (leaves are only stored up to one).
 */
export const CATCH_UP = 50_000;

/** Rows read per query. */
const CHUNK = 10_000;

/** A channel's signed tree: size and chain head. */
export interface SignedHead {
  readonly size: number;
  readonly head: string;
}

/**
 * Catch a channel's leaves up towards its signed tree, in the round's transaction: the records
 * after the last leaf, in order, each checked against the chain from it (the genesis before
 * seq 1), up to a signed head (the tree's, or a checkpoint's about CATCH_UP records on), and
 * stored only if the chain reaches it. With `want`, again until the leaves reach seq `want`
 * (a tombstone is about to delete the records up to it). Returns the appender as it stands.
 *
 * A record changed below the signed tree is passed to `onDamage`; records missing (retention
 * deleted them, or someone did) stop the catch-up quietly: verify judges which.
 */
export async function catchUpLeaves(
  client: pg.ClientBase,
  signer: Signer,
  tree: SignedHead,
  leaves: LeafAppender,
  onDamage: (err: LogsError) => void,
  want = 0,
): Promise<LeafAppender> {
  let now = leaves;
  for (;;) {
    const from = now.count;
    now = await catchUpOnce(client, signer, tree, now, onDamage);
    if (now.count === from || now.count >= Math.min(want, tree.size)) return now;
  }
}

async function catchUpOnce(
  client: pg.ClientBase,
  signer: Signer,
  tree: SignedHead,
  leaves: LeafAppender,
  onDamage: (err: LogsError) => void,
): Promise<LeafAppender> {
  const logId = signer.logId;
  const channel = leaves.channel;
  const from = leaves.count;
  if (from >= tree.size) return leaves;
  const prev = from === 0 ? chainGenesis(logId, channel) : leaves.last;
  const next = await client.query('SELECT 1 FROM dl_records WHERE channel = $1 AND seq = $2', [
    channel,
    from + 1,
  ]);
  // Gone (retention), or no leaf to chain from (a damaged row): proofs from here on are
  // unavailable. Cheap to find again next round.
  if (next.rowCount === 0 || prev === undefined) return leaves;
  const target = await signedTarget(client, signer, channel, from, tree);
  await client.query('SAVEPOINT dl_leaves');
  await leaves.load(client);
  const hasher = new ChainHasher();
  let head = prev;
  let changed: number | undefined;
  reading: for (;;) {
    const { rows } = await client.query<Row>(
      'SELECT seq, line, hash FROM dl_records WHERE channel = $1 AND seq > $2 AND seq <= $3 ORDER BY seq LIMIT $4',
      [channel, leaves.count, target.size, CHUNK],
    );
    for (const r of rows) {
      const seq = leaves.count + 1;
      const leaf = chainedLeaf(hasher, head, seq, r);
      if (leaf === undefined) {
        if (Number(r.seq) === seq) changed = seq;
        break reading;
      }
      leaves.push(leaf);
      head = leaf;
    }
    await leaves.write(client, false);
    if (rows.length < CHUNK || leaves.count === target.size) break;
  }
  if (leaves.count === target.size && head === target.head) {
    await leaves.write(client, true);
    await client.query('RELEASE SAVEPOINT dl_leaves');
    return leaves;
  }
  await client.query('ROLLBACK TO SAVEPOINT dl_leaves');
  await client.query('RELEASE SAVEPOINT dl_leaves');
  if (changed !== undefined || leaves.count === target.size)
    onDamage(
      new LogsError(
        'INTEGRITY_STATE',
        changed !== undefined
          ? `${channel}: record seq ${changed} does not follow from the chain, below the signed tree: it was changed after it was signed; no Merkle leaf from seq ${from + 1} on is stored, proofs past seq ${from} are unavailable (run dihya-logs verify)`
          : `${channel}: the records from seq ${from + 1} to ${target.size} do not lead to the signed head: they were rewritten after they were signed; no Merkle leaf from seq ${from + 1} on is stored, proofs past seq ${from} are unavailable (run dihya-logs verify)`,
      ),
    );
  return LeafAppender.open(client, channel);
}

/**
 * The signed head the catch-up from `from` leaves goes to: the tree's when within CATCH_UP
 * records, else the largest checkpoint signed within them, else the first one after.
 */
async function signedTarget(
  client: pg.ClientBase,
  signer: Signer,
  channel: string,
  from: number,
  tree: SignedHead,
): Promise<SignedHead> {
  const budget = CATCH_UP;
  if (tree.size - from <= budget) return tree;
  const pick = async (
    where: string,
    order: string,
    bound: number,
  ): Promise<SignedHead | undefined> => {
    const { rows } = await client.query<{ line: string }>(
      `SELECT line FROM dl_checkpoints
        WHERE channel = $1 AND ${CHECKPOINT_SIZE} ${where} $2 AND ${CHECKPOINT_SIZE} > $3
          AND ${CHECKPOINT_SIZE} <= $4
        ORDER BY ${CHECKPOINT_SIZE} ${order}, n DESC LIMIT 1`,
      [channel, bound, from, tree.size],
    );
    const line = rows[0]?.line;
    if (line === undefined) return undefined;
    try {
      const cp = parseCheckpoint(line);
      const ok =
        cp.log_id === signer.logId &&
        cp.channel === channel &&
        cp.size > from &&
        cp.size <= tree.size &&
        checkpointSignatureValid(cp, createPublicKey(signer.privateKey));
      return ok ? { size: cp.size, head: cp.head } : undefined;
    } catch {
      return undefined; // unreadable or unsigned: verify's business; the tree's head holds
    }
  };
  return (
    (await pick('<=', 'DESC', from + budget)) ?? (await pick('>', 'ASC', from + budget)) ?? tree
  );
}
