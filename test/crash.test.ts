import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { verifyLogs } from '../src/store/file/verify.js';
import { newLog, readRecords } from './helpers.js';
import { WRITER, startChild } from './child.js';

const KILLS = 24;

test(`crash: a durable writer killed with SIGKILL ${KILLS} times loses and duplicates no acknowledged event`, async () => {
  const t = newLog();
  const acked = new Set<string>();
  for (let round = 0; round < KILLS; round++) {
    const child = startChild(process.execPath, [WRITER, 'crash', t.dir], t.masterKey);
    await child.waitFor((l) => l.startsWith('ack '));
    await sleep(Math.floor(Math.random() * 250)); // a random moment of full-speed writing
    child.proc.kill('SIGKILL');
    const { signal } = await child.exited;
    assert.equal(signal, 'SIGKILL', `round ${round}: ${child.stderr()}`);
    for (const l of child.lines) if (l.startsWith('ack ')) acked.add(l.split(' ')[1]!);

    // Every acknowledged event is present exactly once; nothing at all appears twice.
    const seen = new Map<string, number>();
    for (const r of readRecords(path.join(t.dir, 'audit.log'))) {
      const id = (r.data as { id: string }).id;
      seen.set(id, (seen.get(id) ?? 0) + 1);
    }
    for (const id of acked)
      assert.equal(
        seen.get(id),
        1,
        `round ${round}: acknowledged event ${id} appears ${seen.get(id) ?? 0} times`,
      );
    for (const [id, count] of seen)
      assert.equal(count, 1, `round ${round}: ${id} appears ${count} times`);

    // The log verifies as it was left by the kill (an unfinished line is only a warning).
    const report = await verifyLogs({ dir: t.dir, publicKey: t.publicKey });
    assert.ok(report.ok, `round ${round}: ${JSON.stringify(report.damage)}`);
  }
  // A final open recovers whatever the last kill left, and everything still verifies.
  const logs = await t.open();
  await logs.close();
  const report = await verifyLogs({ dir: t.dir, publicKey: t.publicKey });
  assert.ok(report.ok, JSON.stringify(report.damage));
  assert.deepEqual(
    report.warnings.filter((w) => w.kind === 'torn_tail'),
    [],
  );
  assert.ok(
    acked.size >= KILLS * 10,
    `only ${acked.size} events acknowledged over ${KILLS} rounds`,
  );
});
