/**
 * The store conformance suite (DESIGN.md: both backends sit behind one store interface and pass
 * one conformance suite). `storeConformance(name, backend)` registers the cases with node:test;
 * each backend's test file calls it once. The cases assert what a user of the logs relies on:
 * seq order without gaps, what an ack promises, recovery from a crash, segments that keep the
 * chain whole, deletion only on purpose and never under a hold, and a verify that finds changes.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Ack } from '../../src/store/store.js';
import { expectCode } from '../helpers.js';
import { assertNoErrors, withFixture, type StoreBackend } from './backend.js';
import { registerFaultCases } from './faults.js';
import { registerIdempotencyCases } from './idempotency.js';
import { registerLifecycleCases } from './lifecycle.js';
import {
  APP,
  AUDIT,
  assertChained,
  channelIndex,
  now,
  oneTo,
  parse,
  readAll,
  seqs,
  testRecord,
} from './records.js';

export type { StoreBackend, StoreFixture, Tamper, TamperKind, ChildSpec } from './backend.js';

/** Register the conformance cases for one backend, each named `${name}: ...`. */
export function storeConformance(name: string, backend: StoreBackend): void {
  test(`${name}: concurrent producers get seqs from 1 without gap or duplicate, in call order, read back chained`, () =>
    withFixture(backend, async (f) => {
      const PRODUCERS = 8;
      const EACH = 200;
      const BURST = 4;
      const store = await f.open();
      const audit = channelIndex(store, AUDIT);
      const app = channelIndex(store, APP);
      for (const c of [audit, app])
        assert.deepEqual([store.channels[c]?.seq, store.channels[c]?.lastTsMs], [0, 0]);
      const acked = new Map<number, { id: string; ack: Ack }>();
      await Promise.all(
        oneTo(PRODUCERS).map(async (p) => {
          for (let i = 0; i < EACH; i += BURST) {
            // A burst sent in one turn, half of them waiting for durability: seq follows call order.
            const mode = (i / BURST) % 2 === 0 ? 'a' : 'd';
            const ids = oneTo(BURST).map((k) => `${p}-${i + k}`);
            const burst = ids.map((id) => {
              const ack = store.append(audit, testRecord(AUDIT, id), now(), 0, mode);
              assert.ok(ack !== undefined, `mode ${mode} must answer with an ack`);
              return ack;
            });
            void store.append(app, testRecord(APP, `${p}-${i}`), now(), 0, 'f');
            const acks = await Promise.all(burst);
            acks.forEach((ack, k) => {
              assert.equal(ack.channel, AUDIT);
              if (k > 0)
                assert.ok(
                  ack.seq > (acks[k - 1]?.seq ?? 0),
                  `burst out of order: ${JSON.stringify(acks)}`,
                );
              assert.equal(acked.has(ack.seq), false, `seq ${ack.seq} acknowledged twice`);
              acked.set(ack.seq, { id: ids[k] ?? '', ack });
            });
          }
        }),
      );
      const total = PRODUCERS * EACH;
      assert.deepEqual(
        [...acked.keys()].sort((a, b) => a - b),
        oneTo(total),
      );
      await store.flush();

      const records = await readAll(store, AUDIT);
      assert.deepEqual(seqs(records), oneTo(total));
      assertChained(store, AUDIT, records);
      for (const r of records) {
        const p = parse(r.line);
        const a = acked.get(r.seq);
        assert.equal(p.id, a?.id, `seq ${r.seq} holds another record than the one acknowledged`);
        assert.equal(
          p.hash,
          a?.ack.hash,
          `seq ${r.seq}: the stored hash is not the acknowledged one`,
        );
      }
      const apps = await readAll(store, APP);
      assert.deepEqual(seqs(apps), oneTo(total / BURST));
      assertChained(store, APP, apps);
      assert.equal(new Set(apps.map((r) => parse(r.line).id)).size, total / BURST);
      // read(channel, from) starts where asked.
      assert.deepEqual(seqs(await readAll(store, AUDIT, total - 2)), [total - 2, total - 1, total]);

      const stats = store.stats();
      assert.equal(stats[AUDIT]?.records, total);
      assert.equal(stats[APP]?.records, total / BURST);
      const report = await store.verify();
      assert.ok(report.ok, JSON.stringify(report.damage));
      assert.equal(report.records, total + total / BURST);
      await store.close();
      assert.equal(store.failed, undefined);
      assertNoErrors(f);
    }));

  test(`${name}: a durable ack means stored, an accepted ack gives the seq, fire-and-forget is stored by flush`, () =>
    withFixture(backend, async (f) => {
      const store = await f.open();
      const audit = channelIndex(store, AUDIT);
      const app = channelIndex(store, APP);
      const d = await store.append(audit, testRecord(AUDIT, 'durable'), now(), 0, 'd');
      assert.equal(d?.seq, 1);
      assert.equal(d.channel, AUDIT);
      assert.match(d.hash, /^[0-9a-f]{64}$/);
      // Read back at once, with no flush: a durable ack is a promise the record is stored.
      const first = await readAll(store, AUDIT);
      assert.deepEqual(seqs(first), [1]);
      assert.equal(parse(first[0]!.line).hash, d.hash);
      assert.equal(parse(first[0]!.line).id, 'durable');

      const a = await store.append(audit, testRecord(AUDIT, 'accepted'), now(), 0, 'a');
      assert.deepEqual([a?.channel, a?.seq], [AUDIT, 2]);
      // Durable, whatever the channel's own setting.
      const appDurable = await store.append(app, testRecord(APP, 'durable'), now(), 0, 'd');
      assert.equal(appDurable?.seq, 1);
      assert.deepEqual(
        (await readAll(store, APP)).map((r) => parse(r.line).id),
        ['durable'],
      );
      const ff = store.append(app, testRecord(APP, 'fire-and-forget'), now(), 0, 'f');
      assert.equal(ff, undefined);
      await store.flush();
      const apps = await readAll(store, APP);
      assert.deepEqual(
        apps.map((r) => [r.seq, parse(r.line).id]),
        [
          [1, 'durable'],
          [2, 'fire-and-forget'],
        ],
      );
      const audits = await readAll(store, AUDIT);
      assert.deepEqual(seqs(audits), [1, 2]);
      assert.equal(parse(audits[1]!.line).hash, a?.hash);
      await store.close();

      // What was acknowledged is there for the next writer, which continues the chain.
      const again = await f.open();
      assert.equal(again.channels[audit]?.seq, 2);
      assert.equal(again.channels[app]?.seq, 2);
      const next = await again.append(audit, testRecord(AUDIT, 'next'), now(), 0, 'd');
      assert.equal(next?.seq, 3);
      assertChained(again, AUDIT, await readAll(again, AUDIT));
      await again.close();
      assertNoErrors(f);
    }));

  test(`${name}: a closed store refuses appends and lifecycle calls with LOGS_CLOSED`, () =>
    withFixture(backend, async (f) => {
      const store = await f.open();
      const audit = channelIndex(store, AUDIT);
      await store.append(audit, testRecord(AUDIT, 'kept'), now(), 0, 'd');
      await store.close();
      await store.close(); // a second close does nothing
      for (const mode of ['f', 'a', 'd'] as const)
        await expectCode('LOGS_CLOSED', () =>
          store.append(audit, testRecord(AUDIT, 'late'), now(), 0, mode),
        );
      await expectCode('LOGS_CLOSED', () => store.rotate({ channel: AUDIT }));
      await expectCode('LOGS_CLOSED', () => store.hold(AUDIT, true, 'late'));

      // closeSync (process exit) releases the store the same way.
      const again = await f.open();
      assert.deepEqual(seqs(await readAll(again, AUDIT)), [1]);
      void again.append(audit, testRecord(AUDIT, 'at exit'), now(), 0, 'f');
      again.closeSync();
      await expectCode('LOGS_CLOSED', () =>
        again.append(audit, testRecord(AUDIT, 'late'), now(), 0, 'a'),
      );
      const third = await f.open();
      assert.deepEqual(
        (await readAll(third, AUDIT)).map((r) => parse(r.line).id),
        ['kept', 'at exit'],
      );
      const report = await third.verify();
      assert.ok(report.ok, JSON.stringify(report.damage));
      await third.close();
      assertNoErrors(f);
    }));

  registerLifecycleCases(name, backend);
  registerFaultCases(name, backend);
  registerIdempotencyCases(name, backend);
}
