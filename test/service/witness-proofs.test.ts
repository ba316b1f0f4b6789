import { test } from 'node:test';
import assert from 'node:assert/strict';
import { consistencyProof } from '../../src/integrity/merkle.js';
import { WitnessProofs } from '../../src/service/witness-proofs.js';
import { findLatestCheckpoint } from '../../src/store/file/checkpoint-log.js';
import { LogLayout } from '../../src/store/file/layout.js';
import { forEachStoredLine } from '../search/helpers.js';
import { testService } from './helpers.js';

/** The witness client's proofs come from the writer, not the index: the RFC 9162 proofs. */
test('consistency proofs between signed checkpoints come from the writer (rotations between included) and equal the RFC proofs; the index only for sizes it forgot', async () => {
  // A witness configured (never reached here): the writer keeps what the proofs need.
  const s = await testService(
    {},
    {
      integrity: {
        witnesses: [{ url: 'http://127.0.0.1:9', key: `w.example+1a2b3c4d+${'A'.repeat(44)}` }],
      },
    },
  );
  try {
    const layout = new LogLayout(s.t.dir);
    const calls = { index: 0 };
    const index = s.app.service.reads.index('proofs');
    const counting = Object.create(index) as typeof index;
    counting.caughtUp = () => {
      calls.index += 1;
      return index.caughtUp();
    };
    const proofs = new WitnessProofs(s.logs, counting);
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
    for (const n of [3, 1, 250, 7, 1024, 5]) {
      if (n === 7) await s.logs.lifecycle.rotate('app');
      for (let i = 0; i < n; i++) s.logs.app.info({ i }, 'tick');
      await s.logs.flush();
      const cp = latest();
      const got = await proofs.consistency('app', from, cp.size);
      const want = consistencyProof((await leaves()).slice(0, cp.size), from);
      assert.deepEqual([...got], want, `${from}->${cp.size}`);
      // A second witness at the same size gets the same proof, asked once.
      assert.deepEqual(await proofs.consistency('app', from, cp.size), got);
      from = cp.size;
    }
    assert.equal(calls.index, 0, 'every proof came from the writer');

    // A size the writer never stopped at (inside a batch): the index answers, correctly.
    const cp = latest();
    const odd = from - 2;
    const viaIndex = await proofs.consistency('app', odd, cp.size);
    assert.deepEqual([...viaIndex], consistencyProof((await leaves()).slice(0, cp.size), odd));
    assert.equal(calls.index, 1);
  } finally {
    await s.close();
  }
});
