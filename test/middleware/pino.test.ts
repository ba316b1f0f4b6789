import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { newLog, readRecords } from '../helpers.js';
import { FakeService } from './fake-service.js';

// Tests run from build/test/: the transport is the built one, as pino loads it in a worker.
const TARGET = fileURLToPath(new URL('../../src/middleware/pino.js', import.meta.url));
const TOKEN = 'dl_0123456789ab_test-token-value';

type Rec = Record<string, unknown>;

/** End pino's transport and wait until its worker has closed (the logs flushed). */
async function end(transport: ReturnType<typeof pino.transport>): Promise<void> {
  const closed = once(transport, 'close');
  // pino's worker does not keep the process alive: this wait must.
  const alive = setInterval(() => undefined, 1000);
  try {
    transport.end();
    await closed;
  } finally {
    clearInterval(alive);
  }
}

/** Wait (up to 5 s) for a condition the worker thread brings about. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !done(); i++) await new Promise((r) => setTimeout(r, 10));
  assert.ok(done(), 'timed out');
}

const APP = fileURLToPath(new URL('./pino-app.js', import.meta.url));

/** Runs pino-app.js (a pino application in url mode) to its end; its stderr. */
async function runApp(
  url: string,
  count: number,
  how: 'exit' | 'end',
  waitMs: number,
): Promise<{ stderr: string; code: number | null }> {
  const child = spawn(
    process.execPath,
    [APP, TARGET, url, TOKEN, String(count), how, String(waitMs)],
    {
      stdio: ['ignore', 'ignore', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const [code] = (await once(child, 'exit')) as [number | null];
  return { stderr, code };
}

test('pino, dir mode: lines become classified app events, written by the transport', async () => {
  const t = newLog();
  const transport = pino.transport({
    target: TARGET,
    options: {
      dir: t.dir,
      masterKey: t.masterKey.toString('base64'),
      settings: { index: { live: false } },
    },
  });
  const logger = pino({ level: 'trace' }, transport);
  logger.info('started');
  logger.info(
    {
      password: 'x-Pa55-secret',
      user: { email: 'marie@example.org', prefs: { theme: 'dark', sizes: [1, 2] } },
      reqId: 'r-1',
    },
    'signed in',
  );
  logger.warn({ event: 'quota.near', used: 0.93, actor: 'u-42' }, 'quota almost used');
  logger.error(new Error('payment failed'));
  logger.debug('below the channel minimum');
  logger.trace('below the channel minimum');
  logger.fatal({ event: 'Not a valid event!', outcome: 'nonsense' }, 'down');
  logger
    .child({
      req: { id: 'req-9', method: 'GET', headers: { authorization: 'Bearer abcdefgh12345678' } },
    })
    .info('request');
  await end(transport);

  const records = readRecords(path.join(t.dir, 'app.log')) as Array<Rec & { data: Rec }>;
  assert.deepEqual(
    records.map((r) => [r.level, r.event, r.msg]),
    [
      ['INFO', 'pino.log', 'started'],
      ['INFO', 'pino.log', 'signed in'],
      ['WARNING', 'quota.near', 'quota almost used'],
      ['ERROR', 'pino.log', 'payment failed'],
      ['CRITICAL', 'pino.log', 'down'],
      ['INFO', 'pino.log', 'request'],
    ],
  );
  const [started, signedIn, quota, failed, down, request] = records as [
    Rec & { data: Rec },
    ...Array<Rec & { data: Rec }>,
  ];
  assert.ok(signedIn && quota && failed && down && request);
  // pino's own fields: time and pid kept, hostname as host, level and msg lifted.
  assert.equal(typeof started.data.time, 'number');
  assert.equal(started.data.pid, process.pid);
  assert.equal(typeof started.data.host, 'string');
  assert.equal(started.data.level, undefined);
  assert.equal(started.data.msg, undefined);
  // Classification: the password gone, the e-mail encrypted, nesting kept.
  assert.equal(signedIn.data.password, '[REDACTED:password]');
  assert.deepEqual(signedIn.data.user, {
    email: '[email#1]',
    prefs: { theme: 'dark', sizes: [1, 2] },
  });
  assert.equal(signedIn.request_id, 'r-1');
  assert.match(String(signedIn.sub), /^sub_/);
  assert.equal(quota.data.used, 0.93);
  assert.match(String((quota.actor as Rec).id), /^sub_/);
  assert.equal((failed.data.err as Rec).message, 'payment failed');
  assert.equal((failed.data.err as Rec).type, 'Error');
  assert.equal(down.data.event, 'Not a valid event!', 'an invalid event type stays in data');
  assert.equal(down.data.outcome, 'nonsense');
  assert.equal(down.outcome, undefined);
  assert.equal(request.request_id, 'req-9');
  assert.equal(
    ((request.data.req as Rec).headers as Rec).authorization,
    '[REDACTED:authorization]',
  );
  const file = JSON.stringify(records);
  for (const secret of ['x-Pa55-secret', 'marie@example.org', 'abcdefgh12345678'])
    assert.ok(!file.includes(secret), secret);
});

test('pino, url mode: batches with the token, a 503 retried once and in order', async () => {
  const service = await new FakeService((_r, n) => (n === 1 ? { status: 503 } : undefined)).start();
  try {
    const transport = pino.transport({
      target: TARGET,
      options: {
        url: `${service.url}/`,
        token: TOKEN,
        batchSize: 10,
        flushIntervalMs: 50,
        retryMinMs: 20,
      },
    });
    const logger = pino(transport);
    for (let n = 0; n < 25; n++) logger.info({ n, password: 'p-secret' }, `line ${n}`);
    // Delivered before the end: ending blocks this thread, where the stand-in service runs.
    await until(() => service.stored.length >= 25);
    await end(transport);

    assert.ok(service.requests.length >= 4, `${service.requests.length} requests`);
    for (const r of service.requests) {
      assert.equal(r.authorization, `Bearer ${TOKEN}`);
      assert.equal(r.contentType, 'application/x-ndjson');
      assert.ok(r.lines.length >= 1 && r.lines.length <= 10, `a batch of ${r.lines.length}`);
    }
    const [refused, retried] = service.requests;
    assert.deepEqual(retried?.lines, refused?.lines, 'the refused batch is sent again as it was');
    assert.deepEqual(
      service.stored.map((e) => (e.data as Rec).n),
      Array.from({ length: 25 }, (_, i) => i),
      'every event once, in order',
    );
    const first = service.stored[0] as Rec & { data: Rec };
    assert.equal(first.channel, 'app');
    assert.equal(first.level, 'INFO');
    assert.equal(first.event, 'pino.log');
    assert.equal(first.msg, 'line 0');
    assert.equal(first.data.password, 'p-secret', 'sent as logged: the service classifies it');
    assert.equal(first.data.pid, process.pid);
  } finally {
    await service.close();
  }
});

test('pino, url mode: the event a 400 names is dropped and reported without its content; the rest are sent again', async () => {
  const service = await new FakeService((_r, n) =>
    n === 1
      ? {
          status: 400,
          body: {
            error: {
              code: 'EVENT_INVALID',
              message: 'event 1: msg: expected a string',
              id: 'req-1',
              index: 1,
            },
          },
        }
      : undefined,
  ).start();
  try {
    // The retry of the rest comes within a few ms; the app then waits 400 ms for one that
    // must not come, and ends.
    const { stderr, code } = await runApp(service.url, 3, 'end', 400);
    assert.equal(code, 0);
    assert.equal(service.requests.length, 2, 'the rest once, no retry of the refused one');
    assert.equal(service.requests[0]?.lines.length, 3);
    assert.deepEqual(
      service.stored.map((e) => e.msg),
      ['event 0', 'event 2'],
    );
    assert.match(
      stderr,
      /refused 1 event \(400 EVENT_INVALID at event 1: event 1: msg: expected a string\)/,
    );
    assert.ok(!stderr.includes('do-not-echo'));
    assert.ok(!stderr.includes(TOKEN));
  } finally {
    await service.close();
  }
});

test('pino, url mode, the service down: the application ends and the number of events it lost is on stderr', async () => {
  // A port nothing listens on: a service that is down.
  const down = await new FakeService(() => undefined).start();
  const url = down.url;
  await down.close();
  for (const how of ['exit', 'end'] as const) {
    const { stderr, code } = await runApp(url, 7, how, 200);
    assert.equal(code, 0, how);
    assert.match(stderr, /the service is unreachable \(ECONNREFUSED\); retrying/, how);
    assert.match(
      stderr,
      /7 events dropped: the service did not take them before the transport closed \(7 since start\)/,
      `${how}: the final count is printed (${stderr})`,
    );
    assert.ok(!stderr.includes('do-not-echo'), how);
    assert.ok(!stderr.includes(TOKEN), how);
  }
});

test('pino: options are checked at start', async () => {
  const { default: transport } = await import('../../src/middleware/pino.js');
  await assert.rejects(transport({}), { code: 'USAGE' });
  await assert.rejects(transport({ dir: '/tmp/x', url: 'http://127.0.0.1:1' }), { code: 'USAGE' });
  await assert.rejects(transport({ url: 'http://127.0.0.1:1' }), { code: 'USAGE' });
  await assert.rejects(transport({ url: 'ftp://x', token: 't' }), { code: 'USAGE' });
  await assert.rejects(transport({ url: 'http://x', token: 't', batchSize: 0 }), { code: 'USAGE' });
  const t = newLog();
  await assert.rejects(
    transport({ dir: t.dir, masterKey: t.masterKey.toString('base64'), channel: 'nope' }),
    { code: 'EVENT_CHANNEL_UNKNOWN' },
  );
});
