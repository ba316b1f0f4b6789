import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { cli, cliSpawn } from '../cli/run.js';
import { channelsOf, expectedRows, indexRows, openIndex, seededLog, writeSome } from './helpers.js';

function exited(child: ChildProcess): Promise<{ code: number | null; out: string; err: string }> {
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, out, err })));
}

test('reindex runs beside the process that owns the logs (no lock), and says what it did', async () => {
  const t = await seededLog();
  const logs = await t.open(); // holds the writer lock
  await writeSome(logs, 10, 500);
  const r = cli(t.root, ['--dir', t.dir, 'reindex']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(
    r.stdout,
    /^rebuilt \(there was no index\): [\d,]+ records in [\d.]+ s \([\d,]+ records\/s\)\n$/,
  );

  await writeSome(logs, 5, 600);
  const again = cli(t.root, ['--dir', t.dir, 'reindex', '--json']);
  assert.equal(again.code, 0, again.stderr);
  const report = JSON.parse(again.stdout) as { records: number; rebuilt?: string };
  assert.equal(report.records, 5 + 2); // 5 app records and 2 audit records
  assert.equal(report.rebuilt, undefined);
  await logs.close();

  const rebuilt = cli(t.root, ['--dir', t.dir, 'reindex', '--rebuild']);
  assert.equal(rebuilt.code, 0, rebuilt.stderr);
  assert.match(rebuilt.stdout, /^rebuilt \(asked for\): /);
  const db = openIndex(t);
  const channels = channelsOf(db);
  assert.deepEqual(indexRows(db, channels), await expectedRows(t, channels));
  db.close();
});

test('two reindex runs at once, even two rebuilds, leave a sound and complete index', async () => {
  const t = await seededLog();
  for (const args of [['reindex'], ['reindex', '--rebuild']]) {
    const runs = await Promise.all([
      exited(cliSpawn(t.root, ['--dir', t.dir, ...args])),
      exited(cliSpawn(t.root, ['--dir', t.dir, ...args])),
    ]);
    for (const r of runs) assert.equal(r.code, 0, r.err);
    const db = openIndex(t);
    assert.equal(db.recreated, undefined);
    assert.equal(db.quickCheck(), true);
    const channels = channelsOf(db);
    assert.deepEqual(indexRows(db, channels), await expectedRows(t, channels));
    db.close();
  }
});
