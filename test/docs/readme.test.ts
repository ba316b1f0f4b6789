import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { copyFileSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT, tempDir } from '../helpers.js';

// The README's quick start and its library snippet, run as written (issue 19): `npm start` in a
// fresh directory holding the package (its build, as `npm ci` leaves it), the curl lines with
// the token it printed, Ctrl-C, `dihya-logs verify`; then the library snippet in the same
// directory. The README's port (8080) is used as written: the test fails if it is taken.

const README = readFileSync(path.join(REPO_ROOT, 'README.md'), 'utf8');

/** The fenced blocks of a README section (from its heading to the next `## `). */
function blocks(heading: string, lang: string): string[] {
  const start = README.indexOf(`\n${heading}\n`);
  assert.ok(start >= 0, `README has no "${heading}"`);
  const end = README.indexOf('\n## ', start + heading.length + 2);
  const section = README.slice(start, end < 0 ? undefined : end);
  const found: string[] = [];
  const fence = new RegExp(`^\`\`\`${lang}\\n([\\s\\S]*?)^\`\`\`$`, 'gm');
  for (const m of section.matchAll(fence)) found.push(m[1] as string);
  return found;
}

/** A directory like a fresh clone after `npm ci`: the package's files, built, and its modules. */
function freshClone(): string {
  const dir = tempDir('dihya-readme-');
  for (const name of ['bin', 'dist', 'node_modules'])
    symlinkSync(path.join(REPO_ROOT, name), path.join(dir, name));
  copyFileSync(path.join(REPO_ROOT, 'package.json'), path.join(dir, 'package.json'));
  return dir;
}

const CLI = (cwd: string, args: string[]) =>
  spawnSync(process.execPath, [path.join(cwd, 'bin', 'dihya-logs.js'), ...args], {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '' },
    timeout: 60_000,
  });

test('README quick start as written: npm start, the curl lines with the printed token, Ctrl-C, verify; then the library snippet', async () => {
  const [start, curls] = blocks('## Quick start', 'sh');
  assert.ok(start !== undefined && curls !== undefined, 'two shell blocks in the quick start');
  assert.match(start, /^npm ci && npm start\b/m);
  assert.match(start, /^npm ci && npm test\b/m);
  const cwd = freshClone();

  // `npm start`; the build its prestart script runs is the one `npm test` has just made.
  const server = spawn('npm', ['start', '--ignore-scripts'], {
    cwd,
    detached: true, // its own process group, as a terminal's job: Ctrl-C reaches all of it
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? cwd },
  });
  let out = '';
  let err = '';
  server.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  server.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const exited = once(server, 'exit');
  try {
    for (let i = 0; i < 600 && !/listening on http:\/\/127\.0\.0\.1:8080/.test(out); i++) {
      if (server.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(out, /listening on http:\/\/127\.0\.0\.1:8080/, `npm start: ${out}\n${err}`);
    const token = /^ {2}(dl_[\w-]+)$/m.exec(out)?.[1];
    assert.ok(token !== undefined, `the admin token is printed: ${out}`);
    assert.match(out, /expires at .* \(in 30 days\)/);

    // The curl lines, with the token in place of the README's `dl_...`.
    const script = curls.replace(/^TOKEN=dl_\.\.\..*$/m, `TOKEN=${token}`);
    assert.notEqual(script, curls, 'the README sets TOKEN=dl_... in its curl block');
    const run = spawnSync('sh', ['-e', '-c', script], { cwd, encoding: 'utf8', timeout: 30_000 });
    assert.equal(run.status, 0, run.stderr);
    const [ack, listing] = run.stdout.split(/(?<=\})(?=\{)/);
    assert.ok(ack !== undefined && listing !== undefined, run.stdout);
    const stored = JSON.parse(ack) as { stored: number; events: Array<{ channel: string }> };
    assert.equal(stored.stored, 1);
    assert.equal(stored.events[0]?.channel, 'audit');
    const found = JSON.parse(listing) as { records: Array<{ event: string; msg: string }> };
    assert.deepEqual(
      found.records.map((r) => [r.event, r.msg]),
      [['auth.login.success', 'signed in']],
    );
  } finally {
    // Ctrl-C: SIGINT to the whole job.
    if (server.exitCode === null && server.pid !== undefined) process.kill(-server.pid, 'SIGINT');
    await exited;
  }

  // `npx dihya-logs verify` runs the package's bin; here it is called directly.
  const verify = CLI(cwd, ['verify', '--no-progress']);
  assert.equal(verify.status, 0, `${verify.stdout}\n${verify.stderr}`);
  assert.match(verify.stdout, /INTACT/);

  // The library snippet, as written, with its free names given values.
  const [snippet] = blocks('## The library', 'ts');
  assert.ok(snippet !== undefined);
  const prelude =
    "const userId = 'u-42', id = 'inv-7', login = 'ada', ip = '203.0.113.9';\n" +
    "const req = { id: 'req-1' }, err = new Error('card declined');\n";
  writeFileSync(path.join(cwd, 'snippet.mjs'), prelude + snippet);
  const lib = spawnSync(process.execPath, ['snippet.mjs'], {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH ?? '' },
    timeout: 60_000,
  });
  assert.equal(lib.status, 0, lib.stderr);
  assert.equal(lib.stderr, '', 'nothing reported on stderr');
  const q = CLI(cwd, ['query', '--format', 'ndjson', '--order', 'asc', '--no-progress']);
  assert.equal(q.status, 0, q.stderr);
  const events = q.stdout
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { event: string }).event);
  for (const e of ['data.sensitive.delete', 'auth.login.failure', 'quota.near'])
    assert.ok(events.includes(e), `${e} is stored: ${events.join(', ')}`);
  assert.equal(CLI(cwd, ['verify', '--no-progress']).status, 0);
});
