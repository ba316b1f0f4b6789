import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newLog } from '../helpers.js';
import { testService } from './helpers.js';
import { limitedServe } from './limited-serve.js';

// Reads are audited and catch the query index up: on a failing disk they answer 503 with the
// disk's code, never 500 INTERNAL (issue 18).

const READS = ['/v1/events', '/v1/events/audit/1', '/v1/stats'];

interface ErrorAnswer {
  error: { code: string; message: string; id: string };
}

test('reads on a disk that refuses writes (ulimit -f) answer 503 WRITE_FAILED or IO_ERROR, never 500', async () => {
  const t = newLog();
  const serve = await limitedServe(512, t.masterKey, { args: ['--dir', t.dir] });
  const { url, token } = serve;
  try {
    const auth = { authorization: `Bearer ${token}` };
    // Durable batches until the file size limit refuses one, then smaller ones, then single
    // events: the audit file is left with less room than one event, so no read's audit record
    // (larger: actor, route, filter) fits either.
    const batchOf = (n: number): string =>
      JSON.stringify(
        Array.from({ length: n }, (_, i) => ({
          level: 'AUDIT',
          event: 'fill.disk',
          msg: `${i} ${'x'.repeat(100)}`,
        })),
      );
    let refused = false;
    for (const n of [200, 20, 1]) {
      refused = false;
      const body = batchOf(n);
      for (let i = 0; i < 200 && !refused; i++) {
        const res = await fetch(`${url}/v1/events`, {
          method: 'POST',
          headers: { ...auth, 'content-type': 'application/json' },
          body,
        });
        await res.arrayBuffer();
        refused = res.status !== 200;
      }
    }
    assert.ok(refused, 'the file size limit was reached');
    for (const path of READS) {
      const res = await fetch(`${url}${path}`, { headers: auth });
      const body = (await res.json()) as ErrorAnswer;
      assert.equal(res.status, 503, `${path}: ${JSON.stringify(body).slice(0, 300)}`);
      assert.match(body.error.code, /^(WRITE_FAILED|CHANNEL_FAILED|IO_ERROR)$/, path);
      assert.ok(!body.error.message.includes(t.dir), 'no path in the message');
      assert.ok(!body.error.message.includes('    at '), 'no stack trace');
    }
  } finally {
    await serve.stop();
  }
});

/** A system error as Node's fs gives it (code, syscall, a message naming the path). */
function systemError(code: string, path: string): NodeJS.ErrnoException {
  return Object.assign(new Error(`${code}: failed, read '${path}'`), {
    code,
    errno: -5,
    syscall: 'read',
    path,
  });
}

/** An error as better-sqlite3 throws it. */
function sqliteError(code: string): Error {
  return Object.assign(new Error('disk I/O error'), { name: 'SqliteError', code });
}

test('a read whose files fail (EIO, a full disk, SQLite I/O errors) answers 503 with the code, no path', async () => {
  const s = await testService();
  try {
    const secretPath = `${s.t.dir}/audit.log`;
    const cases: Array<[Error, string, RegExp]> = [
      [systemError('EIO', secretPath), 'IO_ERROR', /^a file operation failed \(EIO\)$/],
      [systemError('ENOSPC', secretPath), 'WRITE_FAILED', /\(ENOSPC\)/],
      [sqliteError('SQLITE_IOERR_READ'), 'IO_ERROR', /\(SQLITE_IOERR_READ\)/],
      [sqliteError('SQLITE_IOERR_WRITE'), 'WRITE_FAILED', /\(SQLITE_IOERR_WRITE\)/],
      [sqliteError('SQLITE_FULL'), 'WRITE_FAILED', /\(SQLITE_FULL\)/],
      // Wrapped by a layer that did not know better: the cause decides.
      [new Error('catch-up failed', { cause: systemError('EIO', secretPath) }), 'IO_ERROR', /EIO/],
    ];
    const index = s.app.service.reads.index('reads');
    for (const [err, code, message] of cases) {
      index.caughtUp = () => Promise.reject(err);
      for (const path of READS) {
        const res = await s.app.inject({ url: path, headers: s.auth('auditor') });
        assert.equal(res.statusCode, 503, `${path} ${err.message}: ${res.body}`);
        const e = res.json<ErrorAnswer>().error;
        assert.equal(e.code, code, path);
        assert.match(e.message, message);
        assert.ok(!res.body.includes(s.t.dir), 'no path in the answer');
      }
    }
  } finally {
    await s.close();
  }
});

test('a read whose audit record the disk refuses answers 503, and nothing is read', async () => {
  const s = await testService();
  try {
    const w = await s.ingest({ level: 'AUDIT', event: 'user.created', actor: 'u-1' });
    assert.equal(w.statusCode, 200);
    s.logs.audit = () => Promise.reject(systemError('EIO', `${s.t.dir}/audit.log`));
    for (const path of READS) {
      const res = await s.app.inject({ url: path, headers: s.auth('auditor') });
      assert.equal(res.statusCode, 503, `${path}: ${res.body}`);
      assert.equal(res.json<ErrorAnswer>().error.code, 'IO_ERROR');
      assert.ok(!res.body.includes('user.created'), 'no record in the answer');
    }
  } finally {
    await s.close();
  }
});
