import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { IdempotencyIndex } from '../../../src/store/file/idempotency.js';
import type { Store } from '../../../src/store/store.js';
import { expectCode } from '../../helpers.js';
import { assertNoErrors, withFixture } from '../backend.js';
import { fileBackend } from '../file-backend.js';
import { AUDIT, channelIndex, now, parse, readAll, testRecord } from '../records.js';

// What the conformance suite (test/store/idempotency.ts) leaves to each backend: how the file
// store bounds what it remembers, rebuilds it on open, and forgets the keys of undone writes.

const append = (store: Store, id: string, key: string, mode: 'a' | 'd' = 'd') =>
  store.append(channelIndex(store, AUDIT), testRecord(AUDIT, id, key), now(), 0, mode);

test('the index forgets keys past the window and beyond max_keys, oldest first across channels', () => {
  const index = new IdempotencyIndex(1000, 3);
  index.remember(0, 'a', 1, 'h1', 10_000);
  index.remember(1, 'a', 1, 'h2', 10_100);
  index.remember(0, 'b', 2, 'h3', 10_200);
  assert.deepEqual(index.find(0, 'a', 10_500), { channel: 0, seq: 1, hash: 'h1', tsMs: 10_000 });
  assert.equal(index.find(2, 'a', 10_500), undefined, 'another channel');
  index.remember(1, 'b', 2, 'h4', 10_300); // the fourth: channel 0's `a` goes
  assert.equal(index.find(0, 'a', 10_500), undefined);
  assert.equal(index.find(1, 'a', 10_500)?.hash, 'h2');
  assert.equal(index.size, 3);
  // Past the window (1 s after each was stored): forgotten.
  assert.equal(index.find(1, 'a', 11_101), undefined);
  assert.equal(index.find(0, 'b', 11_101)?.hash, 'h3');
  assert.equal(index.size, 2);
  // Stored anew after its window: remembered from then on, at the end.
  index.remember(0, 'b', 9, 'h5', 11_300);
  assert.equal(index.find(0, 'b', 11_300)?.seq, 9);
  // A failed write undid channel 0's records after seq 8: their keys go, the others stay.
  index.forgetAfter(0, 8);
  assert.equal(index.find(0, 'b', 11_300), undefined);
  assert.equal(index.find(1, 'b', 11_300)?.hash, 'h4');
});

test('file store: reopened, it reads back the newest max_keys keys of the window', () =>
  withFixture(fileBackend, async (f) => {
    const settings = { idempotency: { max_keys: 3 } };
    const store = await f.open(settings);
    const acks = [];
    for (let i = 1; i <= 5; i++) acks.push(await append(store, `r${i}`, `k${i}`));
    await store.close();
    const again = await f.open(settings);
    assert.deepEqual(await append(again, 'retry', 'k5'), acks[4]);
    assert.deepEqual(await append(again, 'retry', 'k3'), acks[2]);
    const k1 = await append(again, 'beyond max_keys', 'k1');
    assert.equal(k1?.seq, 6, 'stored anew');
    await again.close();

    // Keys older than the window are not read back.
    const third = await f.open({ idempotency: { window_ms: 1000 } });
    const fresh = await append(third, 'fresh', 'k-fresh');
    await third.close();
    await sleep(1100);
    const fourth = await f.open({ idempotency: { window_ms: 1000 } });
    const late = await append(fourth, 'late', 'k-fresh');
    assert.equal(late?.seq, (fresh?.seq ?? 0) + 1);
    await fourth.close();
    assertNoErrors(f);
  }));

test('file store: a write that fails undoes its keys with its records; the retry is stored, not answered with a seq given again', () =>
  withFixture(fileBackend, async (f) => {
    // The sequencer thread reads it when it starts: its first write fails as a full disk would.
    process.env.DIHYA_LOGS_FAULT = 'write:ENOSPC:1';
    let store: Store;
    try {
      store = await f.open();
    } finally {
      delete process.env.DIHYA_LOGS_FAULT;
    }
    await expectCode('WRITE_FAILED', () => append(store, 'lost', 'k-1'));
    const retry = await append(store, 'retry', 'k-1');
    const other = await append(store, 'other', 'k-2');
    assert.deepEqual([retry?.seq, other?.seq], [1, 2]);
    const records = await readAll(store, AUDIT);
    assert.deepEqual(
      records.map((r) => [r.seq, parse(r.line).id, parse(r.line).key, parse(r.line).hash]),
      [
        [1, 'retry', 'k-1', retry?.hash],
        [2, 'other', 'k-2', other?.hash],
      ],
    );
    assert.deepEqual(await append(store, 'again', 'k-1', 'a'), retry);
    await store.close();
    assertNoErrors(f);
  }));
