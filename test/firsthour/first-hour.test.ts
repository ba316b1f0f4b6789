import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { IndexDb } from '../../src/search/index.js';
import { runQuery } from '../../src/query/query.js';
import { LogLayout } from '../../src/store/file/index.js';
import { REPO_ROOT, newLog } from '../helpers.js';
import { cli, initialized } from '../cli/run.js';

// What a new user meets in the first hour (issue 19): each as the README and docs say it.

test('the library snippet works right after init: openLogs({ dir }) finds dihya-logs.yaml and its key file', () => {
  const { cwd } = initialized();
  const api = pathToFileURL(path.join(REPO_ROOT, 'build', 'src', 'index.js')).href;
  // docs/library.md, as written, in the directory init ran in; no key in the environment.
  const script = `
    import { openLogs } from ${JSON.stringify(api)};
    const logs = await openLogs({ dir: './logs' });
    const ack = await logs.audit({ event: 'user.created', actor: { id: 'u-1' } });
    await logs.close();
    console.log(JSON.stringify(ack));
  `;
  writeFileSync(path.join(cwd, 'snippet.mjs'), script);
  const r = spawnSync(process.execPath, ['snippet.mjs'], {
    cwd,
    env: { PATH: process.env.PATH ?? '' },
    encoding: 'utf8',
    timeout: 30_000,
  });
  assert.equal(r.status, 0, r.stderr);
  const ack = JSON.parse(r.stdout.trim()) as { channel: string; seq: number };
  assert.equal(ack.channel, 'audit');
  assert.equal(ack.seq > 0, true);
  // And the CLI reads back what the library wrote, with the same key.
  const q = cli(cwd, ['query', '--event', 'user.created', '--format', 'json', '--no-progress']);
  assert.equal(q.code, 0, q.stderr);
  assert.match(q.stdout, /user\.created/);
});

test('query and tail on a fresh, empty log answer no records, not LOGS_NOT_INITIALIZED', () => {
  const { cwd } = initialized();
  const q = cli(cwd, ['query', '--format', 'json', '--no-progress']);
  assert.equal(q.code, 0, q.stderr);
  assert.doesNotMatch(q.stderr, /LOGS_NOT_INITIALIZED|does not exist/);
  const parsed = JSON.parse(q.stdout) as { records: unknown[] };
  assert.deepEqual(parsed.records, []);
  const t = cli(cwd, ['tail', '-n', '5']);
  assert.equal(t.code, 0, t.stderr);
  assert.doesNotMatch(t.stderr, /LOGS_NOT_INITIALIZED|does not exist/);
  const v = cli(cwd, ['verify', '--no-progress']);
  assert.equal(v.code, 0, v.stderr);
});

test('a query without the keys of an encrypted channel says the channel is locked', async () => {
  const t = newLog();
  const logs = await t.open();
  await logs.security({ event: 'auth.login.failure', outcome: 'failure', actor: { id: 'u-9' } });
  await logs.close();
  const layout = new LogLayout(t.dir);
  const db = IndexDb.open(layout, t.logId);
  try {
    const r = await runQuery(layout, t.logId, db, { filter: { events: ['auth.login.*'] } });
    assert.equal(r.records.length, 0, 'not indexed without the key');
    assert.deepEqual(r.locked, ['security']);
  } finally {
    db.close();
  }
});
