/**
 * The conformance cases where something goes wrong on purpose: the writer killed mid-batch
 * (in a child process), and records changed behind the store's back (through the backend's
 * tamper hook). Registered by storeConformance.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DamageKind } from '../../src/integrity/damage.js';
import { startChild } from '../child.js';
import { assertNoErrors, withFixture, type StoreBackend, type TamperKind } from './backend.js';
import {
  APP,
  AUDIT,
  appendSome,
  assertChained,
  channelIndex,
  oneTo,
  parse,
  readAll,
  seqs,
} from './records.js';

/** The compiled child, beside this module in build/test/store/. */
const CRASH_CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'crash-child.js');
const ROUNDS = 2;

/** What each tamper does to `audit` (10 records), and the damage verify must name. */
const TAMPERS: Record<TamperKind, { readonly seq: number; readonly kinds: readonly DamageKind[] }> =
  {
    edit: { seq: 4, kinds: ['record_altered'] },
    delete: { seq: 5, kinds: ['records_missing'] },
    truncate: { seq: 10, kinds: ['truncated'] },
  };

export function registerFaultCases(name: string, backend: StoreBackend): void {
  test(`${name}: a writer killed with SIGKILL mid-batch loses no acknowledged record and leaves no gap`, () =>
    withFixture(backend, async (f) => {
      const acked = new Map<number, { hash: string; id: string }>();
      for (let round = 0; round < ROUNDS; round++) {
        const child = startChild(
          process.execPath,
          [CRASH_CHILD, f.child.module, f.child.spec],
          f.masterKey,
          f.child.env,
        );
        await child.waitFor((l) => l.startsWith('ack '));
        await sleep(50 + Math.floor(Math.random() * 150)); // a random moment of full-speed writing
        child.proc.kill('SIGKILL');
        const { signal } = await child.exited;
        assert.equal(signal, 'SIGKILL', `round ${round}: ${child.stderr()}`);
        for (const l of child.lines) {
          const [word, seq, hash, id] = l.split(' ');
          if (word !== 'ack') continue;
          assert.equal(
            acked.has(Number(seq)),
            false,
            `round ${round}: seq ${seq} acknowledged twice`,
          );
          acked.set(Number(seq), { hash: hash ?? '', id: id ?? '' });
        }

        const store = await f.open();
        const records = await readAll(store, AUDIT);
        assert.deepEqual(seqs(records), oneTo(records.length), `round ${round}: a gap`);
        assert.equal(store.channels[channelIndex(store, AUDIT)]?.seq, records.length);
        assertChained(store, AUDIT, records);
        const ids = records.map((r) => parse(r.line).id);
        assert.equal(new Set(ids).size, ids.length, `round ${round}: a record stored twice`);
        for (const [seq, a] of acked) {
          const r = records[seq - 1];
          assert.ok(r !== undefined, `round ${round}: acknowledged seq ${seq} was lost`);
          assert.deepEqual([parse(r.line).id, parse(r.line).hash], [a.id, a.hash]);
        }
        const apps = await readAll(store, APP);
        assert.deepEqual(seqs(apps), oneTo(apps.length));
        assertChained(store, APP, apps);
        const report = await store.verify();
        assert.ok(report.ok, `round ${round}: ${JSON.stringify(report.damage)}`);
        await store.close();
      }
      assert.ok(acked.size >= ROUNDS * 10, `only ${acked.size} records acknowledged`);
      assertNoErrors(f);
    }));

  for (const [kind, expected] of Object.entries(TAMPERS) as Array<
    [TamperKind, (typeof TAMPERS)[TamperKind]]
  >) {
    test(`${name}: verify names the channel of a tampered record (${kind}), and only that channel`, () =>
      withFixture(backend, async (f) => {
        const store = await f.open();
        await appendSome(store, AUDIT, 10, 'a');
        await appendSome(store, APP, 10, 'a');
        await store.flush(); // signed: a shorter log is no longer a crash's doing
        const clean = await store.verify();
        assert.ok(clean.ok, JSON.stringify(clean.damage));
        assert.ok(f.tamper !== undefined);
        await f.tamper({ kind, channel: AUDIT, seq: expected.seq });

        const report = await store.verify();
        assert.equal(report.ok, false);
        const damage = report.damage.find((d) => d.channel === AUDIT);
        assert.ok(damage !== undefined, JSON.stringify(report.damage));
        assert.ok(expected.kinds.includes(damage.kind), JSON.stringify(damage));
        if (kind !== 'truncate') assert.equal(damage.seq, expected.seq, JSON.stringify(damage));
        const channel = report.channels.find((c) => c.channel === AUDIT);
        assert.equal(channel?.ok, false);
        assert.equal(report.channels.find((c) => c.channel === APP)?.ok, true);
        await store.close();
      }));
  }
}
