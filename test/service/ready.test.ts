import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newLog } from '../helpers.js';
import { testService } from './helpers.js';
import { limitedServe } from './limited-serve.js';

// `ulimit -f` makes the kernel refuse writes past a file size (EFBIG): a real failing disk.
const LIMIT_KIB = 512;

test('readyz turns 503 when the disk refuses a write; ingest answers WRITE_FAILED, never a stack trace', async () => {
  const t = newLog();
  const serve = await limitedServe(LIMIT_KIB, t.masterKey, { args: ['--dir', t.dir] });
  const { url, token } = serve;
  try {
    assert.equal((await fetch(`${url}/readyz`)).status, 200);
    // Durable (audit) batches of ~40 KiB until the file limit refuses one.
    const batch = JSON.stringify(
      Array.from({ length: 100 }, (_, i) => ({
        level: 'AUDIT',
        event: 'fill.disk',
        msg: `${i} ${'x'.repeat(300)}`,
      })),
    );
    let failed: { status: number; body: { error: { code: string; message: string } } } | undefined;
    for (let i = 0; i < 40 && failed === undefined; i++) {
      const res = await fetch(`${url}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: batch,
      });
      const body = (await res.json()) as { error: { code: string; message: string } };
      if (res.status !== 200) failed = { status: res.status, body };
    }
    assert.ok(failed !== undefined, 'the file size limit was reached');
    assert.equal(failed.status, 503);
    assert.ok(
      ['WRITE_FAILED', 'CHANNEL_FAILED'].includes(failed.body.error.code),
      failed.body.error.code,
    );
    assert.ok(!failed.body.error.message.includes('    at '));
    const ready = await fetch(`${url}/readyz`);
    assert.equal(ready.status, 503);
    assert.match(
      ((await ready.json()) as { error: { code: string } }).error.code,
      /^(WRITE|CHANNEL)_FAILED$/,
    );
    assert.equal((await fetch(`${url}/healthz`)).status, 200, 'alive, not ready');
    // A buffered event is accepted into memory (its small file is under the limit): that proves
    // nothing about the disk the audit channel failed on, so the service stays not ready.
    const buffered = await fetch(`${url}/v1/events`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ level: 'INFO', event: 'still.here', msg: 'buffered' }),
    });
    assert.equal(buffered.status, 200);
    assert.equal((await fetch(`${url}/readyz`)).status, 503, 'a buffered event is no proof');
  } finally {
    await serve.stop();
  }
});

test("readyz answers 503 DISK_LOW while the logs' filesystem has less than service.min_free_bytes free", async () => {
  // The real statfs of the test's filesystem, against a threshold above and below it.
  for (const [minFreeBytes, status] of [
    [Number.MAX_SAFE_INTEGER, 503],
    [0, 200],
  ] as const) {
    const s = await testService({ minFreeBytes });
    try {
      const res = await s.app.inject({ url: '/readyz' });
      assert.equal(res.statusCode, status, res.body);
      if (status === 503) {
        const e = res.json<{ error: { code: string; message: string } }>().error;
        assert.equal(e.code, 'DISK_LOW');
        assert.match(e.message, /MiB free on the logs' filesystem, below service\.min_free_bytes/);
        // Not ready is not refusing: writes are still taken while there is space.
        const w = await s.ingest({ level: 'AUDIT', event: 'user.created', actor: 'u-1' });
        assert.equal(w.statusCode, 200);
      }
    } finally {
      await s.close();
    }
  }
});
