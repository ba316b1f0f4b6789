/**
 * Monthly partitions of `dl_records`, made before the first record of a month is inserted, by
 * the schema owner's `dl_make_partition` (the service's role needs no CREATE right). Creating
 * a partition locks the parent table, so it is done in a transaction of its own, under an
 * advisory lock (instances racing for the same month make it once), and remembered.
 */
import type pg from 'pg';
import { inTransaction } from './pool.js';

const PARTITION_LOCK = 0x646c_7074; // 'dlpt'

/** `dl_records_y2026m12` and the first day of the month of `ts` (ISO 8601, UTC). */
export function partitionOf(ts: string): { name: string; month: string } {
  return {
    name: `dl_records_y${ts.slice(0, 4)}m${ts.slice(5, 7)}`,
    month: `${ts.slice(0, 7)}-01`,
  };
}

export class Partitions {
  private readonly made = new Set<string>();

  constructor(private readonly pool: pg.Pool) {}

  /** Make sure the months of these times have their partition. */
  async ensure(times: Iterable<string>): Promise<void> {
    const wanted = new Map<string, ReturnType<typeof partitionOf>>();
    for (const ts of times) {
      const p = partitionOf(ts);
      if (!this.made.has(p.name)) wanted.set(p.name, p);
    }
    if (wanted.size === 0) return;
    await inTransaction(this.pool, async (client) => {
      await client.query('SELECT pg_advisory_xact_lock(hashtext(current_schema()), $1)', [
        PARTITION_LOCK,
      ]);
      for (const p of wanted.values())
        await client.query('SELECT dl_make_partition($1::date)', [p.month]);
    });
    for (const name of wanted.keys()) this.made.add(name);
  }
}
