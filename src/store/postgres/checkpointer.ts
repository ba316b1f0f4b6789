/**
 * Checkpoints on PostgreSQL: a round folds each channel's records past its last signed tree
 * into the Merkle tree (`dl_trees` keeps the compact range) and signs a checkpoint for each
 * channel that grew. Before anything is signed, each record is checked against the chain from
 * the last signed head: a row changed since it was written is never signed, it is reported.
 * The same transaction appends the records' Merkle leaves to `dl_leaf_blocks` (leaves.ts), so
 * proofs read exactly the trees that are signed.
 *
 * One instance leads (it holds a session advisory lock) and runs a round every interval; when
 * it dies its connection goes, the lock with it, and another instance takes over from the
 * stored tree. Writes never wait for it. Any instance may also run a round itself (flush).
 */
import type pg from 'pg';
import { LogsError } from '../../errors.js';
import { ChainHasher } from '../../integrity/chain.js';
import { CompactRange } from '../../integrity/merkle.js';
import { catchUpLeaves } from './leaf-catch-up.js';
import { chainedLeaf, LeafAppender } from './leaves.js';
import { appendCheckpoints, CHECKPOINT_LOCK, type Signer } from './signed-logs.js';
import { inTransaction } from './pool.js';

const LEADER_LOCK = 0x646c_6c64; // 'dlld'
const CHUNK = 10_000;

interface Grown {
  readonly channel: string;
  readonly size: number;
  readonly head: string;
  readonly peaks: readonly string[];
  readonly root: string;
}

/**
 * Sign what the channels hold now. Returns how many checkpoints were signed; a record that does
 * not follow from the chain stops its channel's fold there and is passed to `onDamage`. With
 * `leavesUpTo`, that channel's leaves are caught up to that seq at least, when they are behind
 * (a tombstone is about to delete the records up to it).
 */
export async function checkpointRound(
  pool: pg.Pool,
  signer: Signer,
  channels: readonly string[],
  onDamage: (err: LogsError) => void,
  leavesUpTo?: { readonly channel: string; readonly seq: number },
): Promise<number> {
  return inTransaction(pool, async (client) => {
    await client.query('SELECT pg_advisory_xact_lock(hashtext(current_schema()), $1)', [
      CHECKPOINT_LOCK,
    ]);
    const grown: Grown[] = [];
    for (const channel of channels) {
      const want = leavesUpTo?.channel === channel ? leavesUpTo.seq : 0;
      const g = await foldChannel(client, signer, channel, onDamage, want);
      if (g !== undefined) grown.push(g);
    }
    const ts = new Date().toISOString();
    await appendCheckpoints(
      client,
      signer,
      grown.map((g) => ({ channel: g.channel, size: g.size, head: g.head, root: g.root, ts })),
    );
    for (const g of grown)
      await client.query(
        'UPDATE dl_trees SET size = $2, head = $3, peaks = $4 WHERE channel = $1',
        [g.channel, g.size, g.head, g.peaks],
      );
    return grown.length;
  });
}

async function foldChannel(
  client: pg.ClientBase,
  signer: Signer,
  channel: string,
  onDamage: (err: LogsError) => void,
  want: number,
): Promise<Grown | undefined> {
  const t = await client.query<{ size: string; head: string; peaks: string[] }>(
    'SELECT size, head, peaks FROM dl_trees WHERE channel = $1 FOR UPDATE',
    [channel],
  );
  const tree = t.rows[0];
  if (tree === undefined) return undefined;
  const start = Number(tree.size);
  let leaves = await LeafAppender.open(client, channel);
  if (leaves.count < start)
    leaves = await catchUpLeaves(
      client,
      signer,
      { size: start, head: tree.head },
      leaves,
      onDamage,
      want,
    );
  // The leaves grow with the tree only from where they meet it: after records gone before they
  // were caught up, they stay behind (proofs past that point are unavailable).
  const appending = leaves.count === start;
  const range = new CompactRange({ size: start, peaks: tree.peaks });
  const hasher = new ChainHasher();
  let head = tree.head;
  folding: for (;;) {
    const { rows } = await client.query<{ seq: string; line: string; hash: string }>(
      'SELECT seq, line, hash FROM dl_records WHERE channel = $1 AND seq > $2 ORDER BY seq LIMIT $3',
      [channel, range.size, CHUNK],
    );
    if (appending && rows.length > 0) await leaves.load(client);
    for (const r of rows) {
      const stored = chainedLeaf(hasher, head, range.size + 1, r);
      if (stored === undefined) {
        onDamage(
          new LogsError(
            'INTEGRITY_STATE',
            `${channel}: record seq ${range.size + 1} does not follow from the last signed head (found seq ${r.seq}): it was changed, removed or inserted behind the writers' back; it is not signed (run dihya-logs verify)`,
          ),
        );
        break folding;
      }
      range.append(stored);
      if (appending) leaves.push(stored);
      head = stored;
    }
    if (appending) await leaves.write(client, false);
    if (rows.length < CHUNK) break;
  }
  if (appending) await leaves.write(client, true);
  return grown(channel, start, range, head);
}

function grown(
  channel: string,
  start: number,
  range: CompactRange,
  head: string,
): Grown | undefined {
  if (range.size === start) return undefined;
  const s = range.state();
  return { channel, size: s.size, head, peaks: s.peaks, root: range.root() };
}

/**
 * The leader: holds the leader lock on a connection of its own while it can, and signs a round
 * every `intervalMs`. Every instance runs one; only the lock holder signs.
 */
export class CheckpointLeader {
  private timer: NodeJS.Timeout | undefined;
  private client: pg.PoolClient | undefined;
  private running = false;
  private stopped = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly round: () => Promise<number>,
    private readonly intervalMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  /** Whether this instance holds the leader lock now. */
  get leading(): boolean {
    return this.client !== undefined;
  }

  private async tick(): Promise<void> {
    if (this.running || this.stopped) return;
    this.running = true;
    try {
      if (this.client === undefined) await this.tryLead();
      if (this.client !== undefined) await this.round();
    } catch (err) {
      this.drop();
      this.onError(err);
    } finally {
      this.running = false;
    }
  }

  private async tryLead(): Promise<void> {
    const client = await this.pool.connect();
    try {
      const { rows } = await client.query<{ ok: boolean }>(
        'SELECT pg_try_advisory_lock(hashtext(current_schema()), $1) AS ok',
        [LEADER_LOCK],
      );
      if (rows[0]?.ok === true) {
        // A broken connection loses the lock: forget it, the next tick tries again.
        client.on('error', () => this.drop());
        this.client = client;
        return;
      }
    } catch (err) {
      client.release(err as Error);
      throw err;
    }
    client.release();
  }

  private drop(): void {
    const c = this.client;
    this.client = undefined;
    c?.release(new Error('leader connection dropped'));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    while (this.running) await new Promise((r) => setTimeout(r, 5));
    const c = this.client;
    this.client = undefined;
    if (c !== undefined) {
      await c
        .query('SELECT pg_advisory_unlock(hashtext(current_schema()), $1)', [LEADER_LOCK])
        .catch(() => undefined);
      c.release();
    }
  }
}
