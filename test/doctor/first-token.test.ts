import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { tempDir } from '../helpers.js';
import { cli, cliSpawn, type CliResult } from '../cli/run.js';

// A fresh install (init, then the first start of the service, which makes an admin token) is
// clean for doctor's token check (issue 19).

const DAY = 86_400_000;

interface JsonCheck {
  id: string;
  status: 'ok' | 'warn' | 'fail';
  summary: string;
  findings: { what: string; fix: string }[];
}

function ok(r: CliResult): string {
  assert.equal(r.code, 0, r.stdout + r.stderr);
  return r.stdout;
}

function tokensCheck(cwd: string, now?: number): JsonCheck {
  const at = now === undefined ? [] : ['--now', new Date(now).toISOString()];
  const r = cli(cwd, ['doctor', '--json', '--check', 'tokens', ...at]);
  assert.ok(r.code === 0 || r.code === 1, `exit ${r.code}: ${r.stderr}`);
  const report = JSON.parse(r.stdout) as { checks: JsonCheck[] };
  const c = report.checks.find((x) => x.id === 'tokens');
  assert.ok(c !== undefined, r.stdout);
  return c;
}

/** init, then serve once (no scheduler) until it listens: the first admin token's id. */
async function freshInstall(): Promise<{ cwd: string; id: string }> {
  const cwd = tempDir();
  ok(cli(cwd, ['init']));
  const child = cliSpawn(cwd, ['serve', '--port', '0', '--no-scheduler']);
  let text = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start: ${text}`)), 20_000);
    child.stdout.on('data', (d: Buffer) => {
      text += d.toString('utf8');
      if (text.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  child.kill('SIGTERM');
  await once(child, 'close');
  const m = /dl_([\da-f]{12})_/.exec(text);
  assert.ok(m?.[1] !== undefined, text);
  return { cwd, id: m[1] };
}

test('doctor on a fresh install: no token warning; the first admin token warns a week before it expires', async () => {
  const { cwd, id } = await freshInstall();
  const fresh = tokensCheck(cwd);
  assert.equal(fresh.status, 'ok', JSON.stringify(fresh));
  assert.deepEqual(fresh.findings, []);

  const soon = tokensCheck(cwd, Date.now() + 25 * DAY);
  assert.equal(soon.status, 'warn', JSON.stringify(soon));
  assert.match(soon.summary, /1 admin expiring within 7 days/);
  assert.match(
    soon.findings[0]?.what ?? '',
    new RegExp(`^token ${id} \\(admin, "first admin"\\) expires in 5 day\\(s\\)`),
  );
  assert.match(soon.findings[0]?.fix ?? '', new RegExp(`dihya-logs token rotate ${id}`));

  // Another admin token that outlives it: no expiry warning, but it never expires: that warns.
  ok(cli(cwd, ['token', 'create', '--role', 'admin', '--name', 'ops']));
  const other = tokensCheck(cwd, Date.now() + 25 * DAY);
  assert.equal(other.status, 'warn');
  assert.equal(other.findings.length, 1, JSON.stringify(other));
  assert.match(other.findings[0]?.what ?? '', /\(admin, "ops"\) never expires/);
  assert.match(other.findings[0]?.fix ?? '', /dihya-logs token rotate [\da-f]{12}/);
});
