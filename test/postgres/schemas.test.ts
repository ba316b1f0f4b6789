/**
 * Two logs in two schemas of one database are independent: each has its own checkpoint leader
 * (the advisory locks are per schema), so both are signed every interval while both run.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { newSpec, postgresFixture, sql } from '../store/postgres-backend.js';
import { AUDIT, channelIndex, now, testRecord } from '../store/records.js';

test('postgres: two schemas in one database each get their own checkpoint leader', async () => {
  const fixtures = [newSpec(), newSpec()].map((s) => ({
    s,
    f: postgresFixture(s, randomBytes(32)),
  }));
  try {
    const stores = await Promise.all(fixtures.map(({ f }) => f.open()));
    for (const store of stores)
      await store.append(channelIndex(store, AUDIT), testRecord(AUDIT, 'one'), now(), 0, 'd');
    // The checkpoint interval is 1 s: within 3 s each leader has signed its record, without a
    // flush (a flush signs too, so none is called here).
    const deadline = Date.now() + 3000;
    const sizes = async (): Promise<number[]> =>
      Promise.all(
        fixtures.map(async ({ s }) => {
          const r = await sql(s.schema, `SELECT size FROM dl_trees WHERE channel = 'audit'`);
          return Number((r.rows[0] as { size: string }).size);
        }),
      );
    let signed = await sizes();
    while (signed.some((n) => n < 1) && Date.now() < deadline) {
      await sleep(100);
      signed = await sizes();
    }
    assert.deepEqual(signed, [1, 1], 'each schema signed by its own leader');
    for (const store of stores) await store.close();
  } finally {
    for (const { f } of fixtures) await f.dispose();
  }
});
