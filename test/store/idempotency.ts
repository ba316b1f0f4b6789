/**
 * The conformance cases of idempotency keys (`Sealable.idem`, issue 17): an append whose key its
 * channel already stored within the window stores nothing and is answered with the first ack,
 * whatever the mode, however many arrive at once, and across a close and reopen. Registered by
 * storeConformance; through the Store interface only.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Ack, AppendMode, Store } from '../../src/store/store.js';
import { startChild } from '../child.js';
import { assertNoErrors, withFixture, type StoreBackend } from './backend.js';
import {
  APP,
  AUDIT,
  assertChained,
  channelIndex,
  now,
  parse,
  readAll,
  seqs,
  testRecord,
} from './records.js';

const SECURITY = 'security';
/** The compiled child, beside this module in build/test/store/. */
const CRASH_CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'crash-child.js');

/** Append a record carrying `id` with idempotency key `key`. */
function send(
  store: Store,
  channel: string,
  id: string,
  key: string,
  mode: AppendMode,
): Promise<Ack> | undefined {
  return store.append(channelIndex(store, channel), testRecord(channel, id, key), now(), 0, mode);
}

async function ack(store: Store, channel: string, id: string, key: string, mode: 'a' | 'd') {
  const answer = await send(store, channel, id, key, mode);
  assert.ok(answer !== undefined, `mode ${mode} must answer with an ack`);
  return answer;
}

/** The ids stored in a channel, by seq from 1 (an encrypted channel's are in their body: ''). */
async function ids(store: Store, channel: string): Promise<string[]> {
  const records = await readAll(store, channel);
  assertChained(store, channel, records);
  return records.map((r) => parse(r.line).id);
}

export function registerIdempotencyCases(name: string, backend: StoreBackend): void {
  test(`${name}: an append with a key already stored is answered with the first ack and stores nothing, in every mode`, () =>
    withFixture(backend, async (f) => {
      const store = await f.open();
      const first = await ack(store, AUDIT, 'first', 'k-1', 'd');
      assert.deepEqual(await ack(store, AUDIT, 'again-d', 'k-1', 'd'), first);
      assert.deepEqual(await ack(store, AUDIT, 'again-a', 'k-1', 'a'), first);
      assert.equal(send(store, AUDIT, 'again-f', 'k-1', 'f'), undefined);
      const other = await ack(store, AUDIT, 'other', 'k-2', 'a');
      assert.equal(other.seq, first.seq + 1, 'no seq was spent on the retries');
      const plain = await store.append(
        channelIndex(store, AUDIT),
        testRecord(AUDIT, 'none'),
        now(),
        0,
        'd',
      );
      assert.equal(plain?.seq, other.seq + 1);

      // A buffered channel, the first record fire-and-forget and not yet written: the retry
      // waits for it and gets its seq and hash.
      assert.equal(send(store, APP, 'app-first', 'k-1', 'f'), undefined);
      const appAgain = await ack(store, APP, 'app-again', 'k-1', 'a');
      assert.deepEqual(await ack(store, APP, 'app-durable', 'k-1', 'd'), appAgain);
      await store.flush();

      assert.deepEqual(await ids(store, AUDIT), ['first', 'other', 'none']);
      const audits = await readAll(store, AUDIT);
      assert.equal(parse(audits[0]!.line).hash, first.hash);
      assert.equal(parse(audits[0]!.line).key, 'k-1', 'the key is stored in the record');
      assert.equal(parse(audits[2]!.line).key, undefined);
      const apps = await readAll(store, APP);
      assert.deepEqual(
        apps.map((r) => [r.seq, parse(r.line).id, parse(r.line).hash]),
        [[appAgain.seq, 'app-first', appAgain.hash]],
      );
      const report = await store.verify();
      assert.ok(report.ok, JSON.stringify(report.damage));
      await store.close();
      assertNoErrors(f);
    }));

  test(`${name}: appends with one key in flight at once store one record, and all get its ack`, () =>
    withFixture(backend, async (f) => {
      const store = await f.open();
      const modes: AppendMode[] = ['d', 'a', 'f', 'd', 'a', 'd'];
      // Sent in one turn, before any is answered; two keys interleaved.
      const answers = modes.flatMap((mode, i) =>
        ['x', 'y'].map((key) => send(store, AUDIT, `${key}-${i}`, `same-${key}`, mode)),
      );
      const app = [0, 1, 2, 3].map((i) =>
        send(store, APP, `app-${i}`, 'same-x', i % 2 === 1 ? 'd' : 'a'),
      );
      // `f` answers nothing: undefined in its place.
      const acks = await Promise.all(answers.map(async (a) => a));
      const x = acks.filter((_, i) => i % 2 === 0 && modes[i / 2] !== 'f');
      const y = acks.filter((_, i) => i % 2 === 1 && modes[(i - 1) / 2] !== 'f');
      assert.equal(new Set(x.map((a) => JSON.stringify(a))).size, 1, JSON.stringify(x));
      assert.equal(new Set(y.map((a) => JSON.stringify(a))).size, 1, JSON.stringify(y));
      assert.deepEqual([x[0]?.seq, y[0]?.seq], [1, 2]);
      const appAcks = await Promise.all(app.map(async (a) => a));
      assert.equal(new Set(appAcks.map((a) => JSON.stringify(a))).size, 1);
      assert.equal(appAcks[0]?.seq, 1);
      await store.flush();
      assert.deepEqual(await ids(store, AUDIT), ['x-0', 'y-0']);
      assert.deepEqual(await ids(store, APP), ['app-0']);
      assert.equal(parse((await readAll(store, AUDIT))[1]!.line).hash, y[0]?.hash);
      await store.close();
      assertNoErrors(f);
    }));

  test(`${name}: a retry after the store was closed and reopened gets the original ack, encrypted channels and rotated segments included`, () =>
    withFixture(backend, async (f) => {
      const store = await f.open();
      const rotated = await ack(store, AUDIT, 'rotated', 'k-rotated', 'd');
      await store.rotate({ channel: AUDIT });
      await store.seal();
      const audit = await ack(store, AUDIT, 'audit', 'k-1', 'd');
      const app = await ack(store, APP, 'app', 'k-1', 'a');
      const security = await ack(store, SECURITY, 'security', 'k-1', 'd');
      void send(store, APP, 'app-f', 'k-f', 'f');
      await store.close();

      const again = await f.open();
      assert.deepEqual(await ack(again, AUDIT, 'retry', 'k-rotated', 'd'), rotated);
      assert.deepEqual(await ack(again, AUDIT, 'retry', 'k-1', 'a'), audit);
      assert.deepEqual(await ack(again, APP, 'retry', 'k-1', 'd'), app);
      assert.deepEqual(await ack(again, SECURITY, 'retry', 'k-1', 'd'), security);
      const appF = await ack(again, APP, 'retry', 'k-f', 'a');
      assert.equal(appF.seq, app.seq + 1);
      const next = await ack(again, AUDIT, 'next', 'k-2', 'd');
      assert.equal(next.seq, audit.seq + 1);
      await again.flush();
      assert.deepEqual(await ids(again, AUDIT), ['rotated', 'audit', 'next']);
      assert.deepEqual(await ids(again, APP), ['app', 'app-f']);
      assert.deepEqual(seqs(await readAll(again, SECURITY)), [security.seq]);
      await again.close();

      // And again after a close at process exit (no final flush by the caller).
      const third = await f.open();
      third.closeSync();
      const fourth = await f.open();
      assert.deepEqual(await ack(fourth, AUDIT, 'retry', 'k-2', 'a'), next);
      assert.deepEqual(await ack(fourth, SECURITY, 'retry', 'k-1', 'a'), security);
      await fourth.close();
      assertNoErrors(f);
    }));

  test(`${name}: channels keep their keys apart: one key in two channels is two records`, () =>
    withFixture(backend, async (f) => {
      const store = await f.open();
      const audit = await ack(store, AUDIT, 'audit', 'shared', 'd');
      const app = await ack(store, APP, 'app', 'shared', 'd');
      assert.deepEqual([audit.channel, app.channel], [AUDIT, APP]);
      assert.deepEqual(await ack(store, APP, 'app-again', 'shared', 'a'), app);
      assert.deepEqual(await ack(store, AUDIT, 'audit-again', 'shared', 'a'), audit);
      assert.deepEqual(await ids(store, AUDIT), ['audit']);
      assert.deepEqual(await ids(store, APP), ['app']);
      await store.close();
      assertNoErrors(f);
    }));

  test(`${name}: after a writer killed with SIGKILL, a retry of every record sent gets the ack it was given (or would have been), and none is stored twice`, () =>
    withFixture(backend, async (f) => {
      const child = startChild(
        process.execPath,
        [CRASH_CHILD, f.child.module, f.child.spec, 'keyed'],
        f.masterKey,
        f.child.env,
      );
      await child.waitFor((l) => l.startsWith('ack '));
      await sleep(50 + Math.floor(Math.random() * 100));
      child.proc.kill('SIGKILL');
      const { signal } = await child.exited;
      assert.equal(signal, 'SIGKILL', child.stderr());
      const sent = child.lines.filter((l) => l.startsWith('send ')).map((l) => l.slice(5));
      const acked = new Map<string, { seq: number; hash: string }>();
      for (const l of child.lines.filter((x) => x.startsWith('ack '))) {
        const [, seq, hash, id] = l.split(' ');
        acked.set(id ?? '', { seq: Number(seq), hash: hash ?? '' });
      }
      assert.ok(acked.size >= 10, `only ${acked.size} records acknowledged`);

      // The client's retries, those whose answer never came included (the lost answers).
      const store = await f.open();
      const retries = await Promise.all(sent.map((id) => ack(store, AUDIT, id, id, 'd')));
      const records = await readAll(store, AUDIT);
      assertChained(store, AUDIT, records);
      const bySeq = new Map(records.map((r) => [r.seq, parse(r.line)]));
      sent.forEach((id, i) => {
        const retry = retries[i]!;
        const first = acked.get(id);
        if (first !== undefined) assert.deepEqual([retry.seq, retry.hash], [first.seq, first.hash]);
        const stored = bySeq.get(retry.seq);
        assert.deepEqual([stored?.id, stored?.hash], [id, retry.hash], `the retry of ${id}`);
      });
      const storedIds = records.map((r) => parse(r.line).id);
      assert.equal(new Set(storedIds).size, storedIds.length, 'a record stored twice');
      assert.deepEqual(new Set(storedIds), new Set(sent));
      const report = await store.verify();
      assert.ok(report.ok, JSON.stringify(report.damage));
      await store.close();
      assertNoErrors(f);
    }));

  test(`${name}: a key seen longer ago than the window is stored anew`, () =>
    withFixture(backend, async (f) => {
      const store = await f.open({ idempotency: { window_ms: 1000 } });
      const first = await ack(store, AUDIT, 'first', 'k', 'd');
      assert.deepEqual(await ack(store, AUDIT, 'within', 'k', 'd'), first);
      await sleep(1100);
      const second = await ack(store, AUDIT, 'after', 'k', 'd');
      assert.equal(second.seq, first.seq + 1, 'stored anew');
      assert.deepEqual(await ack(store, AUDIT, 'retry', 'k', 'a'), second);
      assert.deepEqual(await ids(store, AUDIT), ['first', 'after']);
      await store.close();
      assertNoErrors(f);
    }));
}
