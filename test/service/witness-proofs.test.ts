import { test } from 'node:test';
import assert from 'node:assert/strict';
import { consistencyProof } from '../../src/integrity/merkle.js';
import { WitnessProofs } from '../../src/service/witness-proofs.js';
import { findLatestCheckpoint } from '../../src/store/file/checkpoint-log.js';
import { LogLayout } from '../../src/store/file/layout.js';
import { forEachStoredLine } from '../index/helpers.js';
import { testService } from './helpers.js';

/** The witness client's proofs without the index: the same as RFC 6962 proofs over all leaves. */
test('consistency proofs from the last proven peaks and the new records equal the RFC 6962 proofs, and the index is used only when the marks are unknown', async () => {
  const s = await testService();
  let proofs: WitnessProofs | undefined;
  try {
    const layout = new LogLayout(s.t.dir);
    const calls = { index: 0 };
    const index = s.app.service.index;
    const counting = Object.create(index) as typeof index;
    counting.caughtUp = () => {
      calls.index += 1;
      return index.caughtUp();
    };
    proofs = new WitnessProofs(layout, counting);
    // Every record of app, rotated segments included.
    const leaves = async (): Promise<string[]> => {
      const out: string[] = [];
      await forEachStoredLine(s.t, ['app'], (b) =>
        out.push((JSON.parse(b.toString('utf8')) as { hash: string }).hash),
      );
      return out;
    };
    const latest = () => findLatestCheckpoint(layout, { log_id: s.t.logId }, 'app')!;

    let from = 0;
    // Rotations in between: the follower reads the rotated file to its end, then the new one.
    for (const n of [3, 1, 250, 7, 1024, 5]) {
      if (n === 7) await s.logs.rotate('app');
      for (let i = 0; i < n; i++) s.logs.app.info({ i }, 'tick');
      await s.logs.flush();
      const cp = latest();
      proofs.observe('app'); // as the client's latest() does: follows the file from here on
      const got = await proofs.consistency('app', from, cp.size, cp.root);
      assert.deepEqual(
        [...got],
        consistencyProof((await leaves()).slice(0, cp.size), from),
        `${from}->${cp.size}`,
      );
      // A second witness at the same size gets the same proof, computed once.
      assert.deepEqual(await proofs.consistency('app', from, cp.size, cp.root), got);
      from = cp.size;
    }
    // From 0 there is nothing to prove; every later proof came from the marks, not the index.
    assert.equal(calls.index, 0);

    // A root that is not the tree's (the file changed under us): never a wrong proof.
    for (let i = 0; i < 10; i++) s.logs.app.info({ i }, 'more');
    await s.logs.flush();
    const cp = latest();
    const wrong = '00'.repeat(32);
    const viaIndex = await proofs.consistency('app', from, cp.size, wrong);
    assert.deepEqual([...viaIndex], consistencyProof((await leaves()).slice(0, cp.size), from));
    assert.equal(calls.index, 1);
  } finally {
    await proofs?.close();
    await s.close();
  }
});
