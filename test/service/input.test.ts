import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { testService, type TestService } from './helpers.js';

/** Send raw bytes on a socket; resolve with everything the server answered until it closed. */
function raw(
  base: string,
  chunks: ReadonlyArray<string | Buffer>,
  options: { pauseMs?: number; endAfter?: boolean; readMs?: number } = {},
): Promise<string> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const socket = connect(Number(url.port), url.hostname);
    let out = '';
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      socket.destroy();
      resolve(out);
    };
    socket.on('data', (d) => {
      out += d.toString('latin1');
    });
    socket.on('close', finish);
    socket.on('error', (err) => (out === '' ? reject(err) : finish()));
    socket.on('connect', () => {
      void (async () => {
        for (const c of chunks) {
          if (socket.destroyed) return;
          socket.write(c);
          if (options.pauseMs !== undefined)
            await new Promise((r) => setTimeout(r, options.pauseMs));
        }
        if (options.endAfter === true) socket.end();
      })();
    });
    setTimeout(finish, options.readMs ?? 5000);
  });
}

function statusOf(response: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1] ?? 0);
}

function codeOf(response: string): string | undefined {
  const body = response.slice(response.indexOf('\r\n\r\n') + 4);
  const m = /"code":"([A-Z_]+)"/.exec(body);
  return m?.[1];
}

async function nothingStored(s: TestService): Promise<void> {
  await s.logs.flush();
  for (const channel of ['app', 'audit'])
    assert.deepEqual(
      s.records(channel).filter((r) => r.event !== 'log.read'),
      [],
      `${channel} holds nothing from refused requests`,
    );
}

test('bad input gets a 4xx with a stable code, nothing is written and the service keeps answering', async () => {
  const s = await testService({ bodyLimit: 64 * 1024, requestTimeoutMs: 1000 });
  const base = await s.app.listen({ host: '127.0.0.1', port: 0 });
  const auth = s.auth('ingest');
  const post = (body: string | Buffer, type = 'application/json') =>
    s.app.inject({
      method: 'POST',
      url: '/v1/events',
      headers: { ...auth, 'content-type': type },
      payload: body,
    });
  const expect = (
    what: string,
    res: { statusCode: number; json: () => unknown },
    status: number,
    code: string,
  ): void => {
    assert.equal(res.statusCode, status, what);
    const body = res.json() as { error: { code: string; message: string; id: string } };
    assert.equal(body.error.code, code, what);
    assert.match(body.error.id, /^[\da-f-]{36}$/, `${what}: the answer names the request`);
    assert.ok(!JSON.stringify(body).includes('    at '), `${what}: no stack trace`);
  };
  try {
    expect('invalid JSON', await post('{"event": "x",'), 400, 'USAGE');
    expect(
      'invalid UTF-8',
      await post(
        Buffer.concat([
          Buffer.from('{"event":"x","msg":"'),
          Buffer.from([0xc3, 0x28]),
          Buffer.from('"}'),
        ]),
      ),
      400,
      'USAGE',
    );
    expect(
      'wrong content type',
      await post('event=x', 'application/x-www-form-urlencoded'),
      415,
      'MEDIA_TYPE_UNSUPPORTED',
    );
    expect('text/plain', await post('{"event":"x"}', 'text/plain'), 415, 'MEDIA_TYPE_UNSUPPORTED');
    let deep = '"leaf"';
    for (let i = 0; i < 10_000; i++) deep = `{"a":${deep}}`;
    expect(
      '10,000-deep nesting',
      await post(`{"event":"x","data":${deep}}`),
      400,
      'EVENT_TOO_DEEP',
    );
    expect(
      '__proto__ key',
      await post('{"event":"x","data":{"__proto__":{"admin":true}}}'),
      400,
      'USAGE',
    );
    expect(
      'escaped __proto__ key',
      await post('{"event":"x","data":{"\\u005f_proto__":{"admin":true}}}'),
      400,
      'USAGE',
    );
    expect(
      'constructor.prototype',
      await post('{"event":"x","data":{"constructor":{"prototype":{"a":1}}}}'),
      400,
      'USAGE',
    );
    assert.equal(({} as Record<string, unknown>).admin, undefined, 'no prototype was polluted');
    expect('not an object', await post('"just a string"'), 400, 'USAGE');
    expect('empty array', await post('[]'), 400, 'USAGE');
    expect(
      'bad NDJSON line',
      await post('{"event":"a"}\n{"event":\n', 'application/x-ndjson'),
      400,
      'USAGE',
    );
    const many = JSON.stringify(Array.from({ length: 1001 }, () => ({ event: 'x' })));
    expect('too many events', await post(many), 413, 'BATCH_TOO_LARGE');
    expect(
      'reserved field',
      await post('[{"event":"ok"},{"event":"x","seq":5}]'),
      400,
      'EVENT_FIELD_RESERVED',
    );

    // Over the body limit, refused from the Content-Length alone, before the body is sent.
    const big = await raw(base, [
      `POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth.authorization}\r\nContent-Type: application/json\r\nContent-Length: 10485760\r\n\r\n`,
    ]);
    assert.equal(statusOf(big), 413, big);
    assert.equal(codeOf(big), 'BODY_TOO_LARGE');
    // Over the limit with no Content-Length (chunked): cut off while streaming.
    const chunk = `${(32 * 1024).toString(16)}\r\n${'x'.repeat(32 * 1024)}\r\n`;
    const chunked = await raw(base, [
      `POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth.authorization}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n`,
      chunk,
      chunk,
      chunk,
    ]);
    assert.equal(statusOf(chunked), 413, chunked);
    // A Content-Length larger than the body, then the client stops sending: a timeout, 408.
    const short = await raw(base, [
      `POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth.authorization}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"event":"x"}`,
    ]);
    assert.equal(statusOf(short), 408, short);
    assert.equal(codeOf(short), 'REQUEST_TIMEOUT');
    // A Content-Length larger than the body and the connection half-closed: 400.
    const cut = await raw(
      base,
      [
        `POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth.authorization}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"event":"x"}`,
      ],
      { endAfter: true },
    );
    assert.ok([400, 0].includes(statusOf(cut)), cut);
    // A slow client (one byte of headers at a time): 408 once the request timeout passes.
    const head = `POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: ${auth.authorization}\r\n`;
    const slow = await raw(base, head.split(''), { pauseMs: 20, readMs: 6000 });
    assert.equal(statusOf(slow), 408, slow);

    // Nothing of all that was stored; the service still answers.
    await nothingStored(s);
    const ok = await post('{"event":"after.all.that"}');
    assert.equal(ok.statusCode, 200);
    assert.equal((await s.app.inject({ url: '/healthz' })).statusCode, 200);
  } finally {
    await s.close();
  }
  // The refused bodies' content is nowhere under the logs directory.
  const app = readFileSync(path.join(s.t.dir, 'app.log'), 'utf8');
  assert.ok(!app.includes('admin'));
});
