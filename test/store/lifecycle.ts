/**
 * The conformance cases of a channel's life after its records are written: rotation into
 * signed segments, sealing, deletion by tombstone and legal holds, and a verify of all of it.
 * Registered by storeConformance.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chainGenesis } from '../../src/integrity/chain.js';
import { expectCode } from '../helpers.js';
import { assertNoErrors, withFixture, type StoreBackend } from './backend.js';
import {
  APP,
  AUDIT,
  appendSome,
  assertChained,
  channelIndex,
  now,
  oneTo,
  parse,
  readAll,
  seqs,
  testRecord,
} from './records.js';

export function registerLifecycleCases(name: string, backend: StoreBackend): void {
  test(`${name}: rotation cuts a signed segment, seq and chain continue across it, read spans segments and the active part`, () =>
    withFixture(backend, async (f) => {
      const store = await f.open();
      const first = await appendSome(store, AUDIT, 10, 'a');
      const [r1] = await store.rotate({ channel: AUDIT });
      assert.deepEqual([r1?.channel, r1?.rotated, r1?.first, r1?.last], [AUDIT, true, 1, 10]);
      const second = await appendSome(store, AUDIT, 5, 'd', 'second');
      assert.deepEqual(seqs(second), [11, 12, 13, 14, 15]);
      const [r2] = await store.rotate({ channel: AUDIT });
      assert.deepEqual([r2?.first, r2?.last], [11, 15]);
      // Nothing new since: nothing to cut.
      assert.deepEqual(
        (await store.rotate({ channel: AUDIT })).map((r) => [r.channel, r.rotated]),
        [[AUDIT, false]],
      );
      await appendSome(store, AUDIT, 3, 'a', 'third');
      await store.seal();
      await store.flush(); // accepted is not yet stored: flush stores it

      const segs = store.segments(AUDIT);
      assert.deepEqual(
        segs.map((s) => [s.first, s.last, s.state]),
        [
          [1, 10, 'sealed'],
          [11, 15, 'sealed'],
        ],
      );
      const [s1, s2] = segs as [(typeof segs)[0], (typeof segs)[0]];
      assert.equal(s1.start, chainGenesis(store.logId, AUDIT));
      assert.equal(s1.head, first[9]?.hash);
      assert.equal(s2.start, s1.head, 'the second segment continues the chain of the first');
      assert.equal(s2.head, second[4]?.hash);
      for (const s of segs) {
        assert.ok(s.file !== undefined && s.size !== undefined && s.sha256 !== undefined);
        assert.ok(s.bytes > 0);
      }
      if (r1?.seal !== undefined) assert.equal(r1.seal.file, s1.file);
      assert.deepEqual(store.segments(APP), []);

      const all = await readAll(store, AUDIT);
      assert.deepEqual(seqs(all), oneTo(18));
      assertChained(store, AUDIT, all);
      assert.equal(parse(all[9]!.line).ts, s1.lastTs);
      assert.deepEqual(seqs(await readAll(store, AUDIT, 12)), [12, 13, 14, 15, 16, 17, 18]);
      const report = await store.verify();
      assert.ok(report.ok, JSON.stringify(report.damage));
      assert.equal(report.channels.find((c) => c.channel === AUDIT)?.records, 18);
      await store.close();

      const again = await f.open();
      assert.equal(again.channels[channelIndex(again, AUDIT)]?.seq, 18);
      assert.deepEqual(seqs(await appendSome(again, AUDIT, 1, 'd', 'after')), [19]);
      assertChained(again, AUDIT, await readAll(again, AUDIT));
      await again.close();
      assertNoErrors(f);
    }));

  test(`${name}: segments a close left unsealed are sealed after a reopen; seal() leaves none in staging`, () =>
    withFixture(backend, async (f) => {
      const store = await f.open();
      await appendSome(store, AUDIT, 5, 'd');
      await appendSome(store, APP, 4, 'd');
      // Two cuts, and a close at once: a seal still waiting when the close comes is left for
      // the next writer (the file store seals one at a time).
      const rotating = store.rotate({});
      await store.close();
      const rotated = (await rotating).filter((r) => r.rotated);
      assert.deepEqual(rotated.map((r) => [r.channel, r.first, r.last]).sort(), [
        [APP, 1, 4],
        [AUDIT, 1, 5],
      ]);

      const again = await f.open();
      const cut = [AUDIT, APP].flatMap((c) => again.segments(c));
      assert.deepEqual(cut.map((s) => [s.channel, s.first, s.last]).sort(), [
        [APP, 1, 4],
        [AUDIT, 1, 5],
      ]);
      for (const s of cut) assert.ok(s.state === 'staging' || s.state === 'sealed', s.state);
      const sealed = await again.seal();
      const segs = [AUDIT, APP].flatMap((c) => again.segments(c));
      assert.deepEqual(
        segs.map((s) => s.state),
        ['sealed', 'sealed'],
      );
      for (const r of [
        ...sealed,
        ...rotated.flatMap((x) => (x.seal === undefined ? [] : [x.seal])),
      ]) {
        const s = segs.find((x) => x.channel === r.channel && x.first === r.first);
        assert.deepEqual([r.last, r.file, r.size], [s?.last, s?.file, s?.size]);
      }
      assert.deepEqual(await again.seal(), [], 'nothing left to seal');
      assert.deepEqual(seqs(await readAll(again, AUDIT)), oneTo(5));
      assert.deepEqual(seqs(await readAll(again, APP)), oneTo(4));
      const report = await again.verify();
      assert.ok(report.ok, JSON.stringify(report.damage));
      assert.deepEqual(
        report.warnings.filter((w) => w.kind === 'segment_pending'),
        [],
      );
      await again.close();
      assertNoErrors(f);
    }));

  test(`${name}: a tombstone deletes a sealed segment on purpose: listed as deleted, skipped by read, verify still ok`, () =>
    withFixture(backend, async (f) => {
      const store = await f.open();
      await appendSome(store, AUDIT, 6, 'a');
      await store.rotate({ channel: AUDIT });
      await appendSome(store, AUDIT, 4, 'a', 'kept');
      await store.seal();
      await store.flush(); // accepted is not yet stored: flush stores it
      const [seg] = store.segments(AUDIT);
      assert.equal(seg?.state, 'sealed');
      await expectCode('SEGMENT_UNKNOWN', () => store.tombstone(AUDIT, 1, 5, 'not a segment'));
      await expectCode('SEGMENT_UNKNOWN', () => store.tombstone(APP, 1, 6, 'another channel'));

      const gone = await store.tombstone(AUDIT, 1, 6, 'retention: past its maximum');
      assert.deepEqual(gone, { file: seg.file, size: seg.size });
      const [after] = store.segments(AUDIT);
      assert.deepEqual(
        [after?.first, after?.last, after?.state, after?.head],
        [1, 6, 'deleted', seg.head],
      );
      const kept = await readAll(store, AUDIT);
      assert.deepEqual(seqs(kept), [7, 8, 9, 10]);
      // The chain continues from the deleted segment's signed last hash.
      assertChained(store, AUDIT, kept, seg.head);
      assert.deepEqual(seqs(await appendSome(store, AUDIT, 1, 'd', 'later')), [11]);

      const report = await store.verify();
      assert.ok(report.ok, JSON.stringify(report.damage));
      assert.equal(report.channels.find((c) => c.channel === AUDIT)?.records, 5);
      assert.deepEqual(
        report.warnings.filter((w) => w.kind === 'tombstoned_archive_present'),
        [],
        'the archive is gone',
      );
      await store.close();
      assertNoErrors(f);
    }));

  test(`${name}: a legal hold refuses tombstones with RETENTION_HOLD, across a reopen, until it is cleared`, () =>
    withFixture(backend, async (f) => {
      const store = await f.open();
      await appendSome(store, AUDIT, 3, 'a');
      await store.rotate({ channel: AUDIT });
      await store.seal();
      await store.hold(AUDIT, true, 'audit #1');
      await expectCode('RETENTION_HOLD', () => store.tombstone(AUDIT, 1, 3, 'retention'));
      await store.close();

      const again = await f.open();
      await expectCode('RETENTION_HOLD', () => again.tombstone(AUDIT, 1, 3, 'retention'));
      assert.equal(again.segments(AUDIT)[0]?.state, 'sealed');
      assert.deepEqual(seqs(await readAll(again, AUDIT)), [1, 2, 3]);
      // A hold on another channel holds nothing here.
      await again.hold(AUDIT, false, 'audit #2');
      await again.hold(APP, true, 'audit #3');
      await again.tombstone(AUDIT, 1, 3, 'retention');
      assert.equal(again.segments(AUDIT)[0]?.state, 'deleted');
      const report = await again.verify();
      assert.ok(report.ok, JSON.stringify(report.damage));
      await again.close();
      assertNoErrors(f);
    }));

  test(`${name}: verify checks every record written across rotations, reopens and a tombstone`, () =>
    withFixture(backend, async (f) => {
      const store = await f.open();
      await appendSome(store, AUDIT, 30, 'd');
      const app = channelIndex(store, APP);
      for (let i = 0; i < 20; i++) void store.append(app, testRecord(APP, `f-${i}`), now(), 0, 'f');
      await store.rotate({ channel: AUDIT });
      await appendSome(store, AUDIT, 10, 'a', 'two');
      const rotated = await store.rotate({});
      assert.deepEqual(
        rotated
          .filter((r) => r.rotated)
          .map((r) => [r.channel, r.first, r.last])
          .sort(),
        [
          [APP, 1, 20],
          [AUDIT, 31, 40],
        ],
      );
      assert.equal(rotated.length, store.channels.length);
      await appendSome(store, AUDIT, 5, 'a', 'three');
      await appendSome(store, APP, 5, 'a', 'three');
      await store.flush();
      await store.close();

      const again = await f.open();
      await appendSome(again, AUDIT, 5, 'd', 'four');
      await appendSome(again, APP, 5, 'a', 'four');
      await again.seal();
      await again.flush(); // accepted is not yet stored: flush stores it
      await again.tombstone(AUDIT, 1, 30, 'retention');
      const report = await again.verify();
      assert.ok(report.ok, JSON.stringify(report.damage));
      assert.equal(report.checkpoints.ok, true);
      const count = (c: string): number | undefined =>
        report.channels.find((r) => r.channel === c)?.records;
      assert.equal(count(AUDIT), 20);
      assert.equal(count(APP), 30);
      assert.equal(report.records, 50);
      assert.deepEqual(seqs(await readAll(again, AUDIT)), oneTo(50).slice(30));
      assert.deepEqual(seqs(await readAll(again, APP)), oneTo(30));
      await again.close();
      assertNoErrors(f);
    }));
}
