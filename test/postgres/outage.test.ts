/**
 * The database unreachable (a loopback proxy in front of the server, cut and restored): a
 * durable write is refused with DATABASE_UNAVAILABLE (never acknowledged), the store says it
 * failed, fire-and-forget records wait in memory, and once the database answers again writing
 * resumes without a restart: the waiting records are stored once each, seq has no gap, verify
 * passes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { expectCode } from '../helpers.js';
import { newSpec, postgresFixture } from '../store/postgres-backend.js';
import {
  AUDIT,
  APP,
  channelIndex,
  now,
  parse,
  readAll,
  seqs,
  testRecord,
} from '../store/records.js';

/** A TCP proxy to the test server that can be cut (every connection dropped, new ones refused). */
class Proxy {
  up = true;
  private readonly sockets = new Set<Socket>();
  private constructor(readonly server: Server) {}

  static async start(target: { host: string; port: number }): Promise<Proxy> {
    const server = createServer();
    const proxy = new Proxy(server);
    server.on('connection', (client) => {
      if (!proxy.up) {
        client.destroy();
        return;
      }
      const upstream = connect(target.port, target.host);
      for (const s of [client, upstream]) {
        proxy.sockets.add(s);
        s.on('close', () => proxy.sockets.delete(s));
        s.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  cut(): void {
    this.up = false;
    for (const s of this.sockets) s.destroy();
  }

  close(): void {
    this.cut();
    this.server.close();
  }
}

test('postgres: database unreachable: durable writes refused, buffered ones kept, all resumes without a restart', async () => {
  const direct = newSpec();
  const target = new URL(direct.url);
  const proxy = await Proxy.start({ host: target.hostname, port: Number(target.port || 5432) });
  const via = new URL(direct.url);
  via.port = String(proxy.port);
  const f = postgresFixture({ ...direct, url: via.toString() }, randomBytes(32));
  try {
    const store = await f.open();
    const audit = channelIndex(store, AUDIT);
    const app = channelIndex(store, APP);
    const first = await store.append(audit, testRecord(AUDIT, 'before'), now(), 0, 'd');
    assert.equal(first?.seq, 1);

    proxy.cut();
    await expectCode('DATABASE_UNAVAILABLE', () =>
      store.append(audit, testRecord(AUDIT, 'during'), now(), 0, 'd'),
    );
    assert.equal(
      store.failed?.code,
      'DATABASE_UNAVAILABLE',
      'not ready while the database is gone',
    );
    for (let i = 0; i < 5; i++) void store.append(app, testRecord(APP, `kept-${i}`), now(), 0, 'f');
    await sleep(700); // a few retries fail meanwhile
    assert.notEqual(store.failed, undefined);

    proxy.up = true;
    const deadline = Date.now() + 15_000;
    const failed = (): unknown => store.failed;
    while (failed() !== undefined && Date.now() < deadline) await sleep(100);
    assert.equal(store.failed, undefined, 'ready again once the database answers');
    const after = await store.append(audit, testRecord(AUDIT, 'after'), now(), 0, 'd');
    assert.equal(after?.seq, 2, 'the refused write took no seq');
    await store.flush();
    const apps = await readAll(store, APP);
    assert.deepEqual(
      apps.map((r) => parse(r.line).id),
      ['kept-0', 'kept-1', 'kept-2', 'kept-3', 'kept-4'],
    );
    assert.deepEqual(seqs(await readAll(store, AUDIT)), [1, 2]);
    const report = await store.verify();
    assert.ok(report.ok, JSON.stringify(report.damage));
    await store.close();
    // Nothing but the outage itself was reported.
    assert.deepEqual(
      [...new Set(f.errors.map((e) => e.code))].filter((c) => c !== 'DATABASE_UNAVAILABLE'),
      [],
    );
  } finally {
    await f.dispose();
    proxy.close();
  }
});
