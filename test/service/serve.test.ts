import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { cli, cliSpawn } from '../cli/run.js';
import { newLog, openedRecords } from '../helpers.js';

/** Collect a child's stdout until `pattern` matches; resolves with the match. */
function waitFor(
  stream: NodeJS.ReadableStream,
  pattern: RegExp,
  ms = 20_000,
): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for ${String(pattern)}: ${text}`)),
      ms,
    );
    stream.on('data', (d: Buffer) => {
      text += d.toString('utf8');
      const m = pattern.exec(text);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m);
      }
    });
  });
}

test('serve: first start prints an admin token once; it ingests and answers; SIGTERM stops it cleanly and verify passes', async () => {
  const t = newLog();
  const env = { DIHYA_LOGS_MASTER_KEY: t.masterKey.toString('base64') };
  const child = cliSpawn(t.root, ['--dir', t.dir, 'serve', '--port', '0', '--no-scheduler'], env);
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const out = waitFor(
    child.stdout,
    /(dl_[\da-f]{12}_[\w-]{43})[\s\S]*listening on (http:\/\/127\.0\.0\.1:\d+)/,
  );
  const [, token, url] = await out;
  const res = await fetch(`${url}/v1/events`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ level: 'AUDIT', event: 'cli.serve.check', actor: 'u-1' }),
  });
  assert.equal(res.status, 200, await res.clone().text());
  assert.deepEqual(await res.json(), { stored: 1, events: [{ channel: 'audit', seq: 2 }] });
  // While it runs, a command that writes is refused and pointed at the HTTP API.
  const direct = cli(t.root, ['--dir', t.dir, 'write', '--event', 'x.y'], env);
  assert.equal(direct.code, 1);
  assert.match(
    direct.stderr,
    /LOGS_LOCKED: .*dihya-logs serve.*use its HTTP API instead \(POST \/v1\/events/,
  );
  child.kill('SIGTERM');
  const [code] = (await once(child, 'close')) as [number | null];
  assert.equal(code, 0, stderr);
  assert.match(stderr, /SIGTERM: stopping[\s\S]*stopped/);

  const audit = openedRecords(t, 'audit.log').map((r) => r.event);
  assert.deepEqual(audit, ['token.created', 'cli.serve.check']);
  const v = cli(t.root, ['--dir', t.dir, 'verify'], env);
  assert.equal(v.code, 0, v.stdout + v.stderr);

  // A second start finds the admin token: none is made or printed.
  const again = cliSpawn(t.root, ['--dir', t.dir, 'serve', '--port', '0', '--no-scheduler'], env);
  let text = '';
  again.stdout.on('data', (d: Buffer) => (text += d.toString('utf8')));
  await waitFor(again.stdout, /listening on/);
  again.kill('SIGTERM');
  await once(again, 'close');
  assert.ok(!/dl_[\da-f]{12}_/.test(text), text);

  // token create / list / revoke from the command line (the service is stopped).
  const made = cli(
    t.root,
    ['--dir', t.dir, 'token', 'create', '--role', 'auditor', '--name', 'grafana'],
    env,
  );
  assert.equal(made.code, 0, made.stderr);
  assert.match(made.stdout, /^dl_[\da-f]{12}_[\w-]{43}\n$/);
  const id = made.stdout.slice(3, 15);
  const list = cli(t.root, ['--dir', t.dir, 'token', 'list'], env);
  assert.match(list.stdout, new RegExp(`${id}  auditor  active .*grafana`));
  assert.ok(!list.stdout.includes(made.stdout.trim().slice(16)), 'no secret listed');
  assert.equal(cli(t.root, ['--dir', t.dir, 'token', 'revoke', id], env).code, 0);
  assert.match(
    cli(t.root, ['--dir', t.dir, 'token', 'list'], env).stdout,
    new RegExp(`${id}  auditor  revoked`),
  );
  const bad = cli(
    t.root,
    ['--dir', t.dir, 'token', 'create', '--role', 'root', '--name', 'x'],
    env,
  );
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /USAGE: --role: expected one of ingest, auditor, dpo, admin/);
});
