import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmodSync, existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { failedLogin, rig, type Rig } from './rig.js';
import { expectCode, readLines, tempDir } from '../helpers.js';
import { DetectionEngine } from '../../src/detect/engine.js';
import { LogLayout } from '../../src/store/file/layout.js';

const SECRET = 'test-webhook-secret-0123456789';
process.env.DL_TEST_WEBHOOK_SECRET = SECRET;

/** A receiver as an operator would write it: checks the signature, keeps each alert once. */
class Receiver {
  readonly received = new Map<string, Record<string, unknown>>();
  requests = 0;
  badSignatures = 0;
  /** Answer 500 to the first delivery of each alert. */
  failFirst = true;
  private readonly seen = new Set<string>();
  server: Server;

  constructor() {
    this.server = createServer((req, res) => {
      void body(req).then((text) => {
        this.requests++;
        if (!verify(String(req.headers['x-dihya-signature']), text)) {
          this.badSignatures++;
          res.writeHead(401).end();
          return;
        }
        const alert = JSON.parse(text) as Record<string, unknown>;
        const id = String(alert.id);
        assert.equal(req.headers['x-dihya-alert-id'], id);
        if (this.failFirst && !this.seen.has(id)) {
          this.seen.add(id);
          res.writeHead(500).end();
          return;
        }
        if (this.received.has(id)) throw new Error(`alert ${id} received twice`);
        this.received.set(id, alert);
        res.writeHead(204).end();
      });
    });
  }

  async listen(port = 0): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/hooks/dihya`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

function body(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString('utf8')));
    req.on('end', () => resolve(text));
  });
}

/** docs/alerts.md's check: HMAC-SHA256 over `<t>.<body>`, constant time, t within 5 min. */
function verify(header: string, text: string): boolean {
  const m = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header);
  if (m === null) return false;
  const [, t = '', mac = ''] = m;
  if (Math.abs(Date.now() / 1000 - Number(t)) > 300) return false;
  const expected = createHmac('sha256', SECRET).update(`${t}.${text}`).digest();
  return timingSafeEqual(expected, Buffer.from(mac, 'hex'));
}

async function bruteForce(r: Rig, account: string): Promise<void> {
  for (let i = 0; i < 5; i++) await r.write(failedLogin(account, '203.0.113.7'));
}

async function appEvents(r: Rig, event: string): Promise<Array<Record<string, unknown>>> {
  await r.logs.flush();
  return readLines(path.join(r.t.dir, 'app.log'))
    .map((l) => JSON.parse(l) as Record<string, unknown>)
    .filter((e) => e.event === event);
}

test('the webhook receiver checks the signature and gets each alert once, though it failed the first time', async () => {
  const receiver = new Receiver();
  const url = await receiver.listen();
  const r = await rig({
    alerts: {
      webhook: { url, secret_env: 'DL_TEST_WEBHOOK_SECRET', attempts: 4, backoff_ms: 20 },
    },
  });
  await bruteForce(r, 'u-1');
  await bruteForce(r, 'u-2');
  const alerts = await r.settle();
  assert.equal(alerts.length, 2);
  assert.equal(receiver.badSignatures, 0);
  assert.equal(receiver.requests, 4, 'two attempts per alert');
  assert.deepEqual([...receiver.received.keys()].sort(), alerts.map((a) => a.id).sort());
  const got = receiver.received.get(alerts[0]?.id ?? '');
  assert.equal(got?.type, 'alert.brute_force');
  assert.deepEqual(got.record, alerts[0]?.record, 'it names its record in security');
  // Each failed attempt is in the log, with what went wrong and that it will be retried.
  const failures = await appEvents(r, 'notification.failed');
  assert.equal(failures.length, 2);
  assert.equal(failures[0]?.level, 'WARNING');
  assert.match(String(failures[0].msg), /will retry after attempt 1 \(HTTP 500\)/);
  // The secret is nowhere in the logs directory.
  await r.logs.flush();
  for (const f of filesUnder(r.t.dir))
    assert.ok(!readFileSync(f).includes(SECRET), `${f} holds no secret`);
  await r.close();
  await receiver.close();
});

test('a receiver that refuses the request is not retried; one that stays down is given up after the attempts', async () => {
  const receiver = new Receiver();
  const url = await receiver.listen();
  const r = await rig({
    alerts: { webhook: { url, secret_env: 'DL_TEST_WEBHOOK_SECRET', attempts: 3, backoff_ms: 10 } },
  });
  process.env.DL_TEST_WEBHOOK_SECRET = 'another-secret-0123456789';
  const refused = new DetectionEngine({
    logs: r.logs,
    masterKey: r.t.masterKey,
    pollMs: 0,
    tickMs: 0,
    onError: () => undefined,
  });
  process.env.DL_TEST_WEBHOOK_SECRET = SECRET;
  await r.engine.close();
  r.engine = refused;
  await bruteForce(r, 'u-3');
  await r.logs.flush();
  refused.poll();
  await refused.settled();
  assert.equal(receiver.requests, 1, 'HTTP 401: refused, not retried');
  const [given] = await appEvents(r, 'notification.failed');
  assert.equal(given?.level, 'ERROR');
  assert.match(String(given.msg), /gave up after attempt 1 \(refused: HTTP 401\)/);
  await r.close();
  await receiver.close();
});

test('alerts not delivered when the service stops are sent at the next start', async () => {
  const receiver = new Receiver();
  receiver.failFirst = false;
  const url = await receiver.listen();
  const port = Number(new URL(url).port);
  await receiver.close(); // down
  const r = await rig({
    alerts: {
      webhook: { url, secret_env: 'DL_TEST_WEBHOOK_SECRET', attempts: 20, backoff_ms: 60_000 },
    },
  });
  await bruteForce(r, 'u-4');
  await r.logs.flush();
  r.engine.poll();
  // Let the first attempt fail (connection refused); the retry waits a minute.
  while ((await appEvents(r, 'notification.failed')).length === 0)
    await new Promise((resolve) => setTimeout(resolve, 20));
  await r.restart(); // the service stops and starts again
  const outbox = new LogLayout(r.t.dir).serviceStateFile('outbox');
  assert.ok(!existsSync(outbox), 'taken back at the start');
  const again = new Receiver();
  again.failFirst = false;
  await r.engine.close();
  assert.equal(statSync(outbox).mode & 0o777, 0o600);
  await again.listen(port);
  await r.restart();
  await r.engine.settled();
  assert.equal(again.received.size, 1);
  const [alert] = again.received.values();
  assert.equal(alert?.type, 'alert.brute_force');
  assert.ok(!existsSync(outbox));
  await r.close();
  await again.close();
});

test('the command gets the alert as JSON on its standard input', async () => {
  const root = tempDir();
  const out = path.join(root, 'alert.json');
  const script = path.join(root, 'notify.mjs');
  writeFileSync(
    script,
    // Written aside, then renamed: the test sees the whole file or none.
    `import { writeFileSync, readFileSync, renameSync } from 'node:fs';
writeFileSync(process.argv[2] + '.tmp', JSON.stringify({ stdin: readFileSync(0, 'utf8'), type: process.env.DIHYA_ALERT_TYPE }));
renameSync(process.argv[2] + '.tmp', process.argv[2]);`,
  );
  const r = await rig({ alerts: { command: { argv: [process.execPath, script, out] } } });
  await bruteForce(r, 'u-5');
  const [a] = await r.settle();
  for (let i = 0; i < 200 && !existsSync(out); i++)
    await new Promise((resolve) => setTimeout(resolve, 25));
  const got = JSON.parse(readFileSync(out, 'utf8')) as { stdin: string; type: string };
  assert.equal(got.type, 'alert.brute_force');
  assert.equal((JSON.parse(got.stdin) as { id: string }).id, a?.id);
  await r.close();
});

test('a webhook without a secret refuses to start, naming where the secret goes', async () => {
  const r = await rig();
  const t = r.t;
  await r.close();
  const { openLogCore } = await import('../../src/log/open.js');
  const logs = await openLogCore({
    dir: t.dir,
    masterKey: t.masterKey,
    handleExit: false,
    settings: {
      alerts: { webhook: { url: 'https://alerts.example.org/x', secret_env: 'NOPE_X' } },
    },
  });
  const err = await expectCode(
    'CONFIG_INVALID',
    () => new DetectionEngine({ logs, masterKey: t.masterKey, onError: () => undefined }),
  );
  assert.match(err.message, /set NOPE_X or alerts\.webhook\.secret_file/);
  await logs.close();

  // A secret file others can read is refused, and one of the owner's is used.
  const file = path.join(t.root, 'hook.secret');
  writeFileSync(file, 'file-secret-0123456789abcdef\n', { mode: 0o644 });
  const withFile = await openLogCore({
    dir: t.dir,
    masterKey: t.masterKey,
    handleExit: false,
    settings: {
      alerts: {
        webhook: { url: 'https://alerts.example.org/x', secret_env: 'NOPE_X', secret_file: file },
      },
    },
  });
  const open = () =>
    new DetectionEngine({ logs: withFile, masterKey: t.masterKey, onError: () => undefined });
  const loose = await expectCode('CONFIG_INVALID', open);
  assert.match(loose.message, /readable by group or others \(mode 0644\); run: chmod 600/);
  chmodSync(file, 0o600);
  await open().close();
  await withFile.close();
});

function filesUnder(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...filesUnder(p));
    else out.push(p);
  }
  return out;
}
