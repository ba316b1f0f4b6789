/**
 * Synchronous replication (issue 17): the PostgreSQL store acknowledges after COMMIT, and with a
 * synchronous standby a commit returns only once the standby has flushed it. So the primary can
 * be killed right after N acknowledgements and the promoted standby holds all N; with the
 * standby stopped, an audit write is not acknowledged at all until it is back.
 * A primary and a standby of their own, on other loopback ports (test/postgres/cluster.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { tempDir } from '../helpers.js';
import pg from 'pg';
import { postgresFixture } from '../store/postgres-backend.js';
import { AUDIT, channelIndex, now, parse, readAll, testRecord } from '../store/records.js';
import type { Ack } from '../../src/store/store.js';
import { startReplicatedCluster } from './cluster.js';

const spec = (url: string): { url: string; schema: string; dir: string } => ({
  url,
  schema: 'dl_standby',
  dir: path.join(tempDir('dihya-pg-standby-'), 'state'),
});

test('postgres: replication stalled, then the primary killed under load: the promoted standby holds every acknowledged record', async () => {
  const cluster = await startReplicatedCluster({ synchronous: true });
  const key = randomBytes(32);
  try {
    const f = postgresFixture(spec(cluster.primaryUrl), key);
    const store = await f.open();
    const audit = channelIndex(store, AUDIT);
    const acked: Ack[] = [];
    let stop = false;
    const producers = Promise.all(
      Array.from({ length: 6 }, async (_, p) => {
        for (let i = 0; !stop; i++) {
          try {
            const ack = await store.append(audit, testRecord(AUDIT, `p${p}-${i}`), now(), 0, 'd');
            if (ack !== undefined) acked.push(ack);
          } catch {
            return; // the primary is gone: nothing more is acknowledged
          }
        }
      }),
    );
    while (acked.length < 300) await sleep(5);
    // The walsender frozen, WAL stops reaching the standby (a stalled link): commits go on
    // being made on the primary, and must not be acknowledged. Over loopback, without the
    // stall, WAL reaches the standby too fast for the kill to test anything.
    const sender = await walSender(cluster.primaryUrl);
    process.kill(sender, 'SIGSTOP');
    const atStall = acked.length;
    await sleep(1000);
    await cluster.killPrimary();
    stop = true;
    store.closeSync();
    await producers;
    assert.ok(
      acked.length <= atStall + 6,
      `${acked.length - atStall} acknowledged after the stall`,
    );
    await cluster.promoteStandby();

    const g = postgresFixture(spec(cluster.standbyUrl), key);
    const promoted = await g.open();
    const records = await readAll(promoted, AUDIT);
    const byHash = new Map(records.map((r) => [parse(r.line).hash, r.seq]));
    const lost = acked.filter((a) => byHash.get(a.hash) !== a.seq);
    assert.deepEqual(lost, [], `${lost.length} of ${acked.length} acknowledged records lost`);
    // The promoted standby takes writes, continuing the chain.
    const next = await promoted.append(audit, testRecord(AUDIT, 'after'), now(), 0, 'd');
    assert.equal(next?.seq, records.length + 1);
    await promoted.flush();
    const report = await promoted.verify();
    assert.ok(report.ok, JSON.stringify(report.damage));
    await promoted.close();
  } finally {
    await cluster.dispose();
  }
});

/** Run one statement on a server of the cluster. */
async function query<T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

/** Cancel every backend waiting for the synchronous standby; how many there were. */
async function cancelSyncWaits(url: string): Promise<number> {
  const rows = await query(
    url,
    `SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE wait_event = 'SyncRep'`,
  );
  return rows.length;
}

/** The pid of the primary's WAL sender to the standby. */
async function walSender(url: string): Promise<number> {
  const [row] = await query<{ pid: number }>(url, 'SELECT pid FROM pg_stat_replication');
  assert.ok(row !== undefined, 'a WAL sender');
  return row.pid;
}

test('postgres: with the synchronous standby stopped an audit write is not acknowledged, and is once it is back', async () => {
  const cluster = await startReplicatedCluster({ synchronous: true });
  const key = randomBytes(32);
  try {
    const f = postgresFixture(spec(cluster.primaryUrl), key);
    const store = await f.open();
    const audit = channelIndex(store, AUDIT);
    await store.append(audit, testRecord(AUDIT, 'before'), now(), 0, 'd');
    await cluster.stopStandby();
    let answer: string | undefined;
    const pending = store.append(audit, testRecord(AUDIT, 'waiting'), now(), 0, 'd');
    void pending?.then(
      (a) => (answer = `ack ${a.seq}`),
      (e: unknown) => (answer = `error ${String(e)}`),
    );
    await sleep(2000);
    assert.equal(answer, undefined, 'no answer while the standby is down');
    // Cancelled, the wait ends and PostgreSQL answers the COMMIT with success and a WARNING:
    // committed on the primary alone. That is no acknowledgement either.
    const cancelled = await cancelSyncWaits(cluster.primaryUrl);
    assert.ok(cancelled > 0, 'a commit was waiting for the standby');
    await sleep(1000);
    assert.equal(answer, undefined, 'no answer for a commit the standby did not confirm');
    await cluster.startStandby();
    const ack = await pending;
    assert.equal(ack?.seq, 2);
    await store.close();
  } finally {
    await cluster.dispose();
  }
});
