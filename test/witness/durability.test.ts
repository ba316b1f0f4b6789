import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import {
  cosigner,
  cosignatureTimestamp,
  parseSignatureLine,
} from '../../src/integrity/note/index.js';
import { TestLog, WITNESS_NAME, startWitness } from './helpers.js';

test('a restart between requests keeps the state: no rollback to an older or forked tree', async () => {
  const log = new TestLog('example.com/durable').append(8);
  const key = cosigner(WITNESS_NAME, generateKeyPairSync('ed25519').privateKey);
  const first = await startWitness([log], { key });
  assert.equal((await first.add(log.body(0))).status, 200);
  log.append(8);
  assert.equal((await first.add(log.body(8))).status, 200);
  await first.app.close();

  const second = await startWitness([log], { key, stateDir: first.stateDir });
  const stale = await second.add(log.body(0));
  assert.deepEqual([stale.status, stale.body], [409, '16\n']);
  const older = await second.add(log.body(8, 8));
  assert.deepEqual([older.status, older.body], [409, '16\n']);
  log.append(1);
  assert.equal((await second.add(log.body(16))).status, 200);
  await second.app.close();
});

test('concurrent requests for one log are serialised: one wins, the other sees the new size', async () => {
  const log = new TestLog('example.com/race').append(4);
  const w = await startWitness([log]);
  assert.equal((await w.add(log.body(0))).status, 200);
  log.append(4);
  const a = log.body(4, 6);
  const b = log.body(4, 8);
  const results = await Promise.all([w.add(a), w.add(b), w.add(a)]);
  assert.deepEqual(
    results.map((r) => r.status),
    [200, 409, 409],
  );
  assert.equal(results[1].body, '6\n');
  await w.app.close();
});

test('timestamps never go back for a log, even when the clock does', async () => {
  const log = new TestLog('example.com/clock').append(2);
  let now = 2_000_000_000_000;
  const w = await startWitness([log], { clock: () => now });
  const ts = (line: string): number | undefined =>
    cosignatureTimestamp(parseSignatureLine(line.trimEnd()).signature);
  const r1 = await w.add(log.body(0));
  now -= 3_600_000;
  log.append(1);
  const r2 = await w.add(log.body(2));
  assert.equal(ts(r1.body), 2_000_000_000);
  assert.equal(ts(r2.body), 2_000_000_000);
  await w.app.close();
});
