import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { BatchSender, type SenderOptions } from '../../src/middleware/batch-sender.js';
import { FakeService } from './fake-service.js';

const FAST = {
  token: 'dl_0123456789ab_test',
  batchSize: 2,
  maxBatchBytes: 1_000_000,
  flushIntervalMs: 10,
  maxQueue: 100,
  retryMinMs: 10,
  retryMaxMs: 20,
  timeoutMs: 2000,
  closeTimeoutMs: 2000,
} satisfies Omit<SenderOptions, 'url'>;

const line = (n: number): string => JSON.stringify({ event: 'pino.log', data: { n } });
const numbers = (s: FakeService): unknown[] => s.stored.map((e) => (e.data as { n: number }).n);

async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(done(), 'timed out');
}

test('sender: over maxQueue the oldest waiting events go, counted; the batch in flight stays', async () => {
  let open = false;
  const service = await new FakeService(() => (open ? undefined : { status: 503 })).start();
  const reports: string[] = [];
  try {
    const sender = new BatchSender({
      ...FAST,
      url: service.url,
      maxQueue: 4,
      report: (l) => reports.push(l),
    });
    sender.push(line(0));
    sender.push(line(1));
    await until(() => service.requests.length >= 1); // [0, 1] in flight, refused, retried
    for (let n = 2; n < 10; n++) sender.push(line(n));
    open = true;
    await sender.close();
    assert.deepEqual(numbers(service), [0, 1, 6, 7, 8, 9]);
    assert.match(reports.join('\n'), /the service answered 503; retrying/);
    assert.match(reports.at(-1) ?? '', /dropped \(4 since start\)$/);
    assert.match(reports.join('\n'), /the queue is full/);
    assert.match(reports.join('\n'), /the service takes events again/);
  } finally {
    await service.close();
  }
});

test('sender: a batch too large for the service (413) is sent again in halves, in order', async () => {
  const service = await new FakeService((r) =>
    r.lines.length > 2 ? { status: 413 } : undefined,
  ).start();
  try {
    const sender = new BatchSender({ ...FAST, url: service.url, batchSize: 5 });
    for (let n = 0; n < 5; n++) sender.push(line(n));
    await sender.close();
    assert.deepEqual(numbers(service), [0, 1, 2, 3, 4]);
    assert.deepEqual(
      service.requests.map((r) => r.lines.length),
      [5, 3, 2, 1, 2],
    );
  } finally {
    await service.close();
  }
});

test('sender: closing gives up after closeTimeoutMs and says how many events were lost', async () => {
  // A port nobody listens on.
  const server = http.createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  server.close();
  await once(server, 'close');
  const reports: string[] = [];
  const sender = new BatchSender({
    ...FAST,
    url: `http://127.0.0.1:${port}`,
    closeTimeoutMs: 300,
    report: (l) => reports.push(l),
  });
  for (let n = 0; n < 3; n++) sender.push(line(n));
  const started = Date.now();
  await sender.close();
  assert.ok(Date.now() - started < 2000, 'bounded');
  assert.match(reports[0] ?? '', /unreachable \(ECONNREFUSED\); retrying/);
  assert.match(
    reports.join('\n'),
    /dropped: the service did not take them before the transport closed/,
  );
  assert.match(reports.at(-1) ?? '', /\(3 since start\)$/, 'every lost event counted by the end');
});

test('sender: a batch stored whose answer was lost is sent again with the same Idempotency-Key, and stored once', async () => {
  const service = await new FakeService((_r, n) =>
    n === 1 ? { status: 200, lose: true } : undefined,
  ).start();
  try {
    const sender = new BatchSender({ ...FAST, url: service.url, report: () => undefined });
    sender.push(line(0));
    sender.push(line(1));
    await until(() => service.requests.length >= 2);
    sender.push(line(2));
    await sender.close();
    assert.deepEqual(numbers(service), [0, 1, 2], 'the lost answer did not store the batch twice');
    const [first, retry, next] = service.requests;
    assert.ok(first?.idempotencyKey !== undefined && /^[\w-]{36}$/.test(first.idempotencyKey));
    assert.equal(retry?.idempotencyKey, first.idempotencyKey, 'the retry carries the same key');
    assert.notEqual(next?.idempotencyKey, first.idempotencyKey, 'another batch, another key');
  } finally {
    await service.close();
  }
});
