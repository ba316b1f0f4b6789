import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cliSpawn } from '../cli/run.js';
import { newLog } from '../helpers.js';
import { limitedServe } from '../service/limited-serve.js';

const SECRET = 'service-test-secret-9876543210';

async function until<T>(what: string, fn: () => T | undefined, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A webhook receiver that checks each signature; `bad` counts those that do not hold. */
async function receiver(): Promise<{
  received: Array<Record<string, unknown>>;
  bad: () => number;
  hook: string;
  close: () => Promise<unknown>;
}> {
  const received: Array<Record<string, unknown>> = [];
  let bad = 0;
  const server = createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString('utf8')));
    req.on('end', () => {
      const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(String(req.headers['x-dihya-signature']));
      const mac = createHmac('sha256', SECRET)
        .update(`${m?.[1] ?? ''}.${text}`)
        .digest();
      if (m === null || !timingSafeEqual(mac, Buffer.from(m[2] ?? '', 'hex'))) {
        bad++;
        res.writeHead(401).end();
        return;
      }
      received.push(JSON.parse(text) as Record<string, unknown>);
      res.writeHead(200).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const hook = `http://127.0.0.1:${(server.address() as AddressInfo).port}/alerts`;
  return {
    received,
    bad: () => bad,
    hook,
    close: () => new Promise((resolve) => server.close(resolve)),
  };
}

test('serve: a brute force sent over HTTP and a damaged log each reach the webhook once, signed', async () => {
  const { received, bad, hook, close } = await receiver();

  const t = newLog();
  writeFileSync(
    path.join(t.root, 'dihya-logs.yaml'),
    `dir: ./logs
detectors:
  failed_logins: { per_account: 3 }
alerts:
  webhook: { url: "${hook}", secret_env: DL_SERVE_HOOK_SECRET }
`,
  );
  const env = {
    DIHYA_LOGS_MASTER_KEY: t.masterKey.toString('base64'),
    DL_SERVE_HOOK_SECRET: SECRET,
  };
  const child = cliSpawn(t.root, ['serve', '--port', '0', '--no-scheduler'], env);
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
  const [, token = '', url = ''] = await until(
    'the service',
    () =>
      /(dl_[\da-f]{12}_[\w-]{43})[\s\S]*listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out) ??
      undefined,
  );
  assert.match(out, /detectors on; alerts go to the security channel, the webhook at 127\.0\.0\.1/);
  assert.ok(!out.includes(SECRET) && !out.includes('/alerts'), 'no secret, no path');
  const post = (body: unknown, route = '/v1/events') =>
    fetch(`${url}${route}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  const failure = {
    channel: 'security',
    level: 'SECURITY',
    event: 'auth.login.failure',
    outcome: 'failure',
    actor: { id: 'u-target', ip: '203.0.113.5' },
  };
  assert.equal((await post([failure, failure, failure, failure])).status, 200);
  const brute = await until('the brute force alert', () =>
    received.find((a) => a.type === 'alert.brute_force'),
  );
  assert.equal(brute.count, 3);
  assert.deepEqual(brute.record, {
    channel: 'security',
    seq: (brute.record as { seq: number }).seq,
  });

  // Producers cannot write alerts.
  const forged = await post({ channel: 'security', event: 'alert.brute_force' });
  assert.equal(forged.status, 400);
  assert.equal(((await forged.json()) as { error: { code: string } }).error.code, 'EVENT_INVALID');

  // Someone edits the audit trail: the next verification raises the tampering alert.
  const file = path.join(t.dir, 'audit.log');
  const text = readFileSync(file, 'utf8');
  writeFileSync(file, text.replace('"token.created"', '"token.cre4ted"'));
  const verify = await post({}, '/v1/integrity/verify?wait=true');
  assert.equal(verify.status, 200);
  const tamper = await until('the tampering alert', () =>
    received.find((a) => a.type === 'alert.tampering'),
  );
  assert.equal((tamper.details as Record<string, unknown>).kind, 'record_altered');
  assert.equal(bad(), 0);
  assert.equal(received.filter((a) => a.type === 'alert.brute_force').length, 1);

  child.kill('SIGTERM');
  await once(child, 'close');
  assert.ok(!err.includes(SECRET));
  await close();
});

test('serve: when the disk refuses writes, the writer_failed alert reaches the webhook', async () => {
  const { received, bad, hook, close } = await receiver();
  const t = newLog();
  writeFileSync(
    path.join(t.root, 'dihya-logs.yaml'),
    `dir: ./logs\nalerts:\n  webhook: { url: "${hook}", secret_env: DL_SERVE_HOOK_SECRET }\n`,
  );
  // `ulimit -f` makes the kernel refuse writes past a file size (EFBIG): a real failing disk.
  const serve = await limitedServe(512, t.masterKey, {
    cwd: t.root,
    env: { DL_SERVE_HOOK_SECRET: SECRET },
  });
  try {
    const { url, token } = serve;
    const batch = JSON.stringify(
      Array.from({ length: 100 }, (_, i) => ({
        level: 'AUDIT',
        event: 'fill.disk',
        msg: `${i} ${'x'.repeat(300)}`,
      })),
    );
    let status = 200;
    for (let i = 0; i < 40 && status === 200; i++) {
      const res = await fetch(`${url}/v1/events`, {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: batch,
      });
      status = res.status;
      await res.body?.cancel();
    }
    assert.equal(status, 503, 'the file size limit was reached');
    // The writer is checked every 10 s.
    const alert = await until(
      'the writer_failed alert',
      () => received.find((a) => a.type === 'alert.writer_failed'),
      25_000,
    );
    // Only audit.log reached the size limit: the alert's own record could still be written in
    // security (were it refused too, record would be null and the webhook would still get it).
    assert.deepEqual(alert.record, { channel: 'security', seq: 1 });
    assert.equal(received.filter((a) => a.type === 'alert.writer_failed').length, 1);
    assert.equal(bad(), 0);
    assert.match(
      String((alert.details as Record<string, unknown>).code),
      /^(WRITE|CHANNEL)_FAILED$/,
    );
  } finally {
    await serve.stop();
    await close();
  }
});

test('serve: damage done while it was stopped raises the tampering alert at start, before any request', async () => {
  const { received, bad, hook, close } = await receiver();
  const t = newLog();
  const logs = await t.open();
  for (let i = 0; i < 5; i++) await logs.audit({ event: 'project.generate', msg: `run ${i}` });
  await logs.close();
  // While nothing runs, someone edits a signed record.
  const file = path.join(t.dir, 'audit.log');
  writeFileSync(file, readFileSync(file, 'utf8').replace('run 2', 'run 7'));
  writeFileSync(
    path.join(t.root, 'dihya-logs.yaml'),
    `dir: ./logs
alerts:
  webhook: { url: "${hook}", secret_env: DL_SERVE_HOOK_SECRET }
`,
  );
  const env = {
    DIHYA_LOGS_MASTER_KEY: t.masterKey.toString('base64'),
    DL_SERVE_HOOK_SECRET: SECRET,
  };
  const child = cliSpawn(t.root, ['serve', '--port', '0'], env);
  try {
    const tamper = await until('the tampering alert', () =>
      received.find((a) => a.type === 'alert.tampering'),
    );
    const details = tamper.details as Record<string, unknown>;
    assert.equal(details.kind, 'record_altered');
    assert.equal(details.channel, 'audit');
    assert.equal(bad(), 0);
  } finally {
    child.kill('SIGTERM');
    await once(child, 'close');
    await close();
  }
});
