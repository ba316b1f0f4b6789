import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { REPO_ROOT, tempDir } from '../helpers.js';

// docs/install.md followed as an app's developer follows it (issue 19): the package as it ships
// (its package.json `exports`, into dist/) in a fresh app's node_modules, `dihya-logs init` in
// the app's directory, then the page's files run as they are written.

const PAGE = path.join(REPO_ROOT, 'docs', 'install.md');
const PKG = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as {
  name: string;
  version: string;
  bin: Record<string, string>;
  exports: Record<string, string | { default: string }>;
};
const EMAIL = 'ada@example.org';

/** The page's files: the fenced blocks whose info string names one (```js file=app.mjs). */
function pageFiles(): Map<string, string> {
  const files = new Map<string, string>();
  let name: string | undefined;
  let body: string[] = [];
  for (const line of readFileSync(PAGE, 'utf8').split('\n')) {
    if (name === undefined) {
      const m = /^```\w+ file=(\S+)$/.exec(line);
      if (m) [name, body] = [m[1], []];
    } else if (line === '```') {
      files.set(name, body.join('\n') + '\n');
      name = undefined;
    } else {
      body.push(line);
    }
  }
  return files;
}

/** What is wrong with dist/, the package's code as it ships, or undefined. */
function distProblem(): string | undefined {
  for (const [sub, target] of Object.entries(PKG.exports)) {
    const file = typeof target === 'string' ? target : target.default;
    if (!existsSync(path.join(REPO_ROOT, file))) {
      return `${file} (export "${sub}") does not exist: run \`npm run build\` (npm ci runs it)`;
    }
  }
  return undefined;
}

/** A hint for a failure: dist/ older than the sources runs code that is not the repository's. */
function staleHint(): string {
  const built = statSync(path.join(REPO_ROOT, 'dist', 'index.js')).mtimeMs;
  const src = path.join(REPO_ROOT, 'src');
  const newer = readdirSync(src, { recursive: true, encoding: 'utf8' }).find(
    (f) => f.endsWith('.ts') && statSync(path.join(src, f)).mtimeMs > built,
  );
  return newer === undefined ? '' : `\n(dist/ is older than src/${newer}: run \`npm run build\`)`;
}

/**
 * A fresh app directory with the page's files, in which `dihya-logs` is installed as
 * `npm install dihya-logs-0.1.0.tgz` leaves it, without the network: the package is this
 * repository, whose own dependencies Node finds from its real path; the frameworks the app
 * already had are the repository's dev dependencies.
 */
function newApp(): string {
  const problem = distProblem();
  if (problem !== undefined) assert.fail(problem);
  const dir = tempDir('dihya-app-');
  const modules = path.join(dir, 'node_modules');
  mkdirSync(modules);
  symlinkSync(REPO_ROOT, path.join(modules, PKG.name), 'dir');
  for (const dep of ['express', 'fastify', 'pino']) {
    symlinkSync(path.join(REPO_ROOT, 'node_modules', dep), path.join(modules, dep), 'dir');
  }
  writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'app', type: 'module' }));
  for (const [name, text] of pageFiles()) writeFileSync(path.join(dir, name), text);
  // `npx dihya-logs init`: the bin of the installed package.
  const init = cli(dir, ['init']);
  assert.equal(init.status, 0, init.stderr + staleHint());
  return dir;
}

const ENV = { PATH: process.env.PATH ?? '' };

/** The installed package's command, as npx runs it, in the app's directory. */
function cli(dir: string, args: string[]) {
  const bin = path.join(dir, 'node_modules', PKG.name, PKG.bin[PKG.name] ?? '');
  return spawnSync(process.execPath, [bin, ...args], {
    cwd: dir,
    env: ENV,
    encoding: 'utf8',
    timeout: 30_000,
  });
}

interface Found {
  readonly channel: string;
  readonly event: string;
  readonly request_id?: string;
  readonly data?: { route?: string; status?: number; body?: unknown; port?: number };
}

/** `dihya-logs query --event EVENT --format json` in the app's directory. */
function query(dir: string, event: string): Found[] {
  const r = cli(dir, ['query', '--event', event, '--format', 'json', '--no-progress']);
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as { records: Found[] }).records;
}

/** The raw channel files: what is on disk, before any key puts personal values back. */
function onDisk(dir: string): string {
  const logs = path.join(dir, 'logs');
  return readdirSync(logs)
    .filter((f) => f.endsWith('.log'))
    .map((f) => readFileSync(path.join(logs, f), 'utf8'))
    .join('');
}

/** Start `node FILE` in the app's directory (PORT=0: an ephemeral port); its URL once listening. */
async function start(dir: string, file: string): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [file], { cwd: dir, env: { ...ENV, PORT: '0' } });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  try {
    for await (const line of createInterface({ input: child.stdout })) {
      const m = /^listening on (http:\/\/\S+)$/.exec(line);
      if (m?.[1] !== undefined) return { child, url: m[1] };
    }
  } finally {
    clearTimeout(timer);
    child.stdout.resume();
  }
  throw new Error(`${file} did not start listening within 15 s:\n${stderr}${staleHint()}`);
}

/** Stop the app as Ctrl-C or a process manager does; openLogs() writes and signs on the signal. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    assert.fail(`the app stopped by itself (${String(child.exitCode ?? child.signalCode)})`);
  }
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const [code, signal] = (await exited) as [number | null, NodeJS.Signals | null];
  assert.ok(code === 0 || signal === 'SIGTERM', `exit ${String(code)}, signal ${String(signal)}`);
}

test('docs/install.md names the tarball npm pack makes, the package and its subpaths', () => {
  const text = readFileSync(PAGE, 'utf8');
  assert.ok(text.includes(`npm install /path/to/${PKG.name}-${PKG.version}.tgz`));
  assert.ok(text.includes(`npx ${PKG.name} init`));
  assert.ok(text.includes(`"allowScripts": { "better-sqlite3": true }`));
  const imported = [...pageFiles().values()].flatMap((code) =>
    [...code.matchAll(/from '(dihya-logs[^']*)'|target: '(dihya-logs[^']*)'/g)].map(
      (m) => m[1] ?? m[2],
    ),
  );
  for (const spec of imported) {
    const sub = '.' + (spec ?? '').slice(PKG.name.length);
    assert.ok(sub in PKG.exports, `${String(spec)} is exported by package.json`);
  }
  assert.deepEqual([...pageFiles().keys()], ['app.mjs', 'app-fastify.mjs', 'app-pino.mjs']);
});

test('the Express app of docs/install.md, as written: its request is in the log, classified', async () => {
  const dir = newApp();
  const { child, url } = await start(dir, 'app.mjs');
  let requestId: string | null;
  try {
    const res = await fetch(`${url}/orders`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ items: [{ sku: 'A-1' }], email: EMAIL }),
    });
    const body = await res.text();
    assert.equal(res.status, 201, body);
    requestId = res.headers.get('x-request-id');
    assert.ok(requestId !== null, 'the response carries its request id');
  } finally {
    await stop(child);
  }
  const hint = staleHint();
  const requests = query(dir, 'http.request');
  assert.equal(requests.length, 1, JSON.stringify(requests) + hint);
  const [req] = requests;
  assert.deepEqual(
    [req?.channel, req?.request_id, req?.data?.route, req?.data?.status],
    ['api', requestId, '/orders', 201],
  );
  const orders = query(dir, 'order.created');
  assert.equal(orders.length, 1, JSON.stringify(orders) + hint);
  assert.deepEqual(
    [orders[0]?.channel, orders[0]?.request_id],
    ['app', requestId],
    'the same request id as the request event',
  );
  assert.ok(!onDisk(dir).includes(EMAIL), 'the e-mail address is stored encrypted');
  const v = cli(dir, ['verify', '--no-progress']);
  assert.equal(v.status, 0, v.stdout + v.stderr);
});

test('the Fastify app of docs/install.md, as written: its request is in the log', async () => {
  const dir = newApp();
  const { child, url } = await start(dir, 'app-fastify.mjs');
  try {
    const res = await fetch(`${url}/hello`);
    assert.deepEqual(await res.json(), { hello: 'world' });
  } finally {
    await stop(child);
  }
  const requests = query(dir, 'http.request');
  assert.equal(requests.length, 1, JSON.stringify(requests) + staleHint());
  assert.deepEqual([requests[0]?.data?.route, requests[0]?.data?.status], ['/hello', 200]);
});

test('the pino app of docs/install.md, as written: its line is in the app channel', () => {
  const dir = newApp();
  const r = spawnSync(process.execPath, ['app-pino.mjs'], {
    cwd: dir,
    env: ENV,
    encoding: 'utf8',
    timeout: 20_000,
  });
  assert.equal(r.status, 0, r.stderr + staleHint());
  const started = query(dir, 'server.started');
  assert.equal(started.length, 1, JSON.stringify(started) + r.stderr + staleHint());
  assert.equal(started[0]?.channel, 'app');
});
