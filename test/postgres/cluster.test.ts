import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { startReplicatedCluster } from './cluster.js';

// What the PostgreSQL store's replication tests stand on, shown with the bare `pg` client.

async function connect(url: string): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url });
  // A killed server ends the connection with an 'error' event; the query in flight rejects.
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** 'pending' if `p` has not settled after `ms`, else how it settled. */
async function within(p: Promise<unknown>, ms: number): Promise<string> {
  const settled = p.then(
    () => 'resolved',
    (e: unknown) => `rejected: ${String(e)}`,
  );
  // The timer is cancelled once the race is decided: left running, it would hold the process.
  const timer = new AbortController();
  try {
    return await Promise.race([settled, sleep(ms, 'pending', { signal: timer.signal })]);
  } finally {
    timer.abort();
  }
}

const ACKS = 200;
const WRITERS = 4;

test(`sync standby: ${ACKS} commits acknowledged, replication stalled, the primary killed mid-write; the promoted standby has every acknowledged commit and takes writes`, async () => {
  const cluster = await startReplicatedCluster();
  const clients: pg.Client[] = [];
  try {
    const setup = await connect(cluster.primaryUrl);
    clients.push(setup);
    await setup.query('CREATE TABLE acks (id integer PRIMARY KEY)');

    // Writers commit one row per transaction until the primary dies. An acknowledgement read
    // after the kill still counts: the server sent it.
    const acked: number[] = [];
    let next = 0;
    let running = WRITERS;
    const writer = async () => {
      try {
        const c = await connect(cluster.primaryUrl);
        clients.push(c);
        for (;;) {
          const id = next++;
          await c.query('INSERT INTO acks (id) VALUES ($1)', [id]);
          acked.push(id);
        }
      } catch {
        return; // the primary is gone
      } finally {
        running--;
      }
    };
    const writers = Promise.all(Array.from({ length: WRITERS }, writer));
    const deadline = Date.now() + 60_000;
    while (acked.length < ACKS && running === WRITERS && Date.now() < deadline) await sleep(5);
    assert.equal(running, WRITERS, `a writer stopped after ${acked.length} acknowledgements`);
    assert.ok(acked.length >= ACKS, `only ${acked.length} acknowledgements in a minute`);

    // The walsender frozen, WAL stops reaching the standby, as when the link to it stalls.
    // Asynchronous replication would go on acknowledging, and lose it all in the kill: over
    // loopback, without the stall, WAL reaches the standby too fast for a kill to show that.
    const [sender] = (await setup.query<{ pid: number }>('SELECT pid FROM pg_stat_replication'))
      .rows;
    process.kill(sender!.pid, 'SIGSTOP');
    const atStall = acked.length;
    await sleep(1000);
    await cluster.killPrimary(); // the frozen walsender too
    await writers;

    await cluster.promoteStandby();
    const promoted = await connect(cluster.standbyUrl);
    clients.push(promoted);
    const present = new Set(
      (await promoted.query<{ id: number }>('SELECT id FROM acks')).rows.map((r) => r.id),
    );
    const lost = acked.filter((id) => !present.has(id));
    assert.deepEqual(lost, [], `${lost.length} of ${acked.length} acknowledged commits lost`);
    // At most the commits each writer had in flight as the walsender froze were acknowledged.
    assert.ok(acked.length <= atStall + WRITERS, `${acked.length - atStall} acks after the stall`);

    // Promoted, it commits without waiting for a standby of its own.
    const write = promoted.query('INSERT INTO acks (id) VALUES (-1)');
    assert.equal(await within(write, 10_000), 'resolved');
  } finally {
    await cluster.dispose();
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  }
});

test('sync standby stopped: a commit does not return, and no other session sees its row, until the standby is back', async () => {
  const cluster = await startReplicatedCluster();
  const clients: pg.Client[] = [];
  try {
    const writer = await connect(cluster.primaryUrl);
    const other = await connect(cluster.primaryUrl);
    clients.push(writer, other);
    await writer.query('CREATE TABLE acks (id integer PRIMARY KEY)');
    const pid = (await writer.query<{ pid: number }>('SELECT pg_backend_pid() pid')).rows[0]!.pid;
    await cluster.stopStandby();

    const commit = writer.query('INSERT INTO acks (id) VALUES (1)');
    assert.equal(await within(commit, 2000), 'pending', 'the commit returned without a standby');
    // It waits for the standby, not for anything else; committed locally, it still shows as
    // running to other sessions (xact.c: clog marked, procarray not yet) until the wait ends.
    let waitEvent: string | null | undefined;
    for (let i = 0; i < 100 && waitEvent !== 'SyncRep'; i++) {
      if (i > 0) await sleep(100); // a loaded machine may not have it there yet
      const activity = await other.query<{ wait_event: string | null }>(
        'SELECT wait_event FROM pg_stat_activity WHERE pid = $1',
        [pid],
      );
      waitEvent = activity.rows[0]?.wait_event;
    }
    assert.equal(waitEvent, 'SyncRep');
    const seen = await other.query<{ n: string }>('SELECT count(*) n FROM acks');
    assert.equal(seen.rows[0]?.n, '0');

    await cluster.startStandby();
    assert.equal(await within(commit, 30_000), 'resolved', 'the commit did not return');
    const after = await other.query<{ n: string }>('SELECT count(*) n FROM acks');
    assert.equal(after.rows[0]?.n, '1');

    // The acknowledgement means flushed on the standby; replay there follows shortly.
    const standby = await connect(cluster.standbyUrl);
    clients.push(standby);
    let onStandby = '0';
    for (let i = 0; i < 100 && onStandby !== '1'; i++) {
      if (i > 0) await sleep(50);
      onStandby = (await standby.query<{ n: string }>('SELECT count(*) n FROM acks')).rows[0]!.n;
    }
    assert.equal(onStandby, '1');
  } finally {
    await cluster.dispose();
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  }
});

test('asynchronous standby ({ synchronous: false }): commits return while it is stopped; dispose() stops both servers and may be called twice', async () => {
  const cluster = await startReplicatedCluster({ synchronous: false });
  const clients: pg.Client[] = [];
  try {
    const writer = await connect(cluster.primaryUrl);
    clients.push(writer);
    const replication = 'SELECT sync_state FROM pg_stat_replication';
    const state = await writer.query<{ sync_state: string }>(replication);
    assert.deepEqual(
      state.rows.map((r) => r.sync_state),
      ['async'],
    );
    await writer.query('CREATE TABLE acks (id integer PRIMARY KEY)');
    await cluster.stopStandby();
    const commit = writer.query('INSERT INTO acks (id) VALUES (1)');
    assert.equal(await within(commit, 10_000), 'resolved');

    await cluster.startStandby(); // back, and streaming again when this resolves
    const again = await writer.query<{ sync_state: string }>(replication);
    assert.deepEqual(
      again.rows.map((r) => r.sync_state),
      ['async'],
    );
    await cluster.dispose();
    await cluster.dispose();
    for (const url of [cluster.primaryUrl, cluster.standbyUrl]) {
      const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
      client.on('error', () => undefined);
      await assert.rejects(client.connect(), /ECONNREFUSED/);
    }
  } finally {
    await cluster.dispose();
    await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
  }
});
