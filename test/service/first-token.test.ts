import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { cli, cliSpawn } from '../cli/run.js';
import { newLog, openedRecords } from '../helpers.js';

// The admin token `npm start` prints on a fresh install expires, and rotates in one command
// (issue 19).

const DAY = 86_400_000;

/** Start serve, collect its stdout until it listens; returns what it said and its URL. */
async function start(
  root: string,
  dir: string,
  env: Record<string, string>,
): Promise<{ text: string; url: string; stop: () => Promise<void> }> {
  const child = cliSpawn(root, ['--dir', dir, 'serve', '--port', '0', '--no-scheduler'], env);
  let text = '';
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString('utf8')));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`serve did not start: ${text}${stderr}`)),
      20_000,
    );
    child.stdout.on('data', (d: Buffer) => {
      text += d.toString('utf8');
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(text);
      if (m !== null) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.on('close', () => reject(new Error(`serve exited: ${text}${stderr}`)));
  });
  return {
    text,
    url,
    stop: async () => {
      child.kill('SIGTERM');
      const [code] = (await once(child, 'close')) as [number | null];
      assert.equal(code, 0, stderr);
    },
  };
}

test('the first admin token expires in 30 days, says so, and token rotate replaces it', async () => {
  const t = newLog();
  const env = { DIHYA_LOGS_MASTER_KEY: t.masterKey.toString('base64') };
  const first = await start(t.root, t.dir, env);
  await first.stop();
  const m = /(dl_([\da-f]{12})_[\w-]{43})\n.*It expires at (\S+) \(in 30 days\)/.exec(first.text);
  assert.ok(m !== null, first.text);
  const [, token, id, printed] = m;
  assert.match(first.text, new RegExp(`dihya-logs token rotate ${id ?? ''}`));

  const list = JSON.parse(cli(t.root, ['--dir', t.dir, 'token', 'list', '--json'], env).stdout) as {
    id: string;
    role: string;
    name: string;
    expires?: string;
  }[];
  assert.equal(list.length, 1);
  const [only] = list;
  assert.ok(only !== undefined);
  assert.equal(only.id, id);
  assert.equal(only.role, 'admin');
  assert.equal(only.expires, printed);
  const life = Date.parse(only.expires ?? '') - Date.now();
  assert.ok(Math.abs(life - 30 * DAY) < 5 * 60_000, printed);
  const created = openedRecords(t, 'audit.log').filter((r) => r.event === 'token.created');
  assert.equal((created[0]?.data as { expires?: string } | undefined)?.expires, printed);

  // One command, the service stopped: a new admin token, the old one revoked.
  const rotated = cli(t.root, ['--dir', t.dir, 'token', 'rotate', id ?? ''], env);
  assert.equal(rotated.code, 0, rotated.stderr);
  const next = rotated.stdout.trim();
  const again = await start(t.root, t.dir, env);
  try {
    assert.ok(!/dl_[\da-f]{12}_/.test(again.text), 'no new token made: the rotated one is admin');
    const get = (bearer: string) =>
      fetch(`${again.url}/v1/tokens`, { headers: { authorization: `Bearer ${bearer}` } });
    assert.equal((await get(next)).status, 200);
    assert.equal((await get(token ?? '')).status, 401);
  } finally {
    await again.stop();
  }
  const audit = openedRecords(t, 'audit.log').map((r) => r.event);
  assert.deepEqual(audit.slice(0, 3), ['token.created', 'token.created', 'token.revoked']);
});
