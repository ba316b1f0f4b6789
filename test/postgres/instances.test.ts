/**
 * Several writer instances on one PostgreSQL store, each its own process (issue 17): seq stays
 * gap-free and each channel one chain whatever the number of writers; every acknowledged event
 * is there exactly once, also when instances are killed with SIGKILL at random moments and
 * their producers retry with idempotency keys.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { startChild, type Child } from '../child.js';
import { tempDir } from '../helpers.js';
import { postgresFixture, newSpec } from '../store/postgres-backend.js';
import { assertChained, readAll } from '../store/records.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'instance-child.js');
const AUDIT = 'audit';

type Spec = ReturnType<typeof newSpec>;

function instance(
  spec: Spec,
  key: Buffer,
  name: string,
  producers: number,
  count: number,
  retry?: string,
): Child {
  const args = [CHILD, JSON.stringify(spec), name, String(producers), String(count)];
  if (retry !== undefined) args.push(retry);
  return startChild(process.execPath, args, key);
}

/** What the instances printed: ids sent, and the ack of each id answered (seq and hash). */
function collect(children: readonly Child[]): { sent: Set<string>; acked: Map<string, string> } {
  const sent = new Set<string>();
  const acked = new Map<string, string>();
  for (const c of children)
    for (const l of c.lines) {
      const [word, id, seq, hash] = l.split(' ');
      if (word === 'send' && id !== undefined) sent.add(id);
      if (word === 'ack' && id !== undefined) {
        const ack = `${seq} ${hash}`;
        const before = acked.get(id);
        assert.ok(before === undefined || before === ack, `${id} answered ${before} then ${ack}`);
        acked.set(id, ack);
      }
    }
  return { sent, acked };
}

/** Read the channel back and check it against what was acknowledged: once each, same seq and hash. */
async function checkStored(spec: Spec, key: Buffer, acked: Map<string, string>): Promise<number> {
  const f = postgresFixture(spec, key);
  try {
    const store = await f.open();
    const records = await readAll(store, AUDIT);
    assert.deepEqual(
      records.map((r) => r.seq),
      records.map((_, i) => i + 1),
      'seq from 1 without a gap',
    );
    assertChained(store, AUDIT, records);
    const byId = new Map<string, string>();
    for (const r of records) {
      const rec = JSON.parse(r.line) as {
        data?: { id?: string };
        seq: number;
        hash: string;
        event: string;
      };
      if (rec.event !== 'test.instance') continue;
      const id = rec.data?.id ?? '';
      assert.equal(byId.has(id), false, `${id} stored twice`);
      byId.set(id, `${rec.seq} ${rec.hash}`);
    }
    for (const [id, ack] of acked) assert.equal(byId.get(id), ack, `${id}: acknowledged ${ack}`);
    await store.flush();
    const report = await store.verify();
    assert.ok(report.ok, JSON.stringify(report.damage));
    await store.close();
    return byId.size;
  } finally {
    await f.dispose();
  }
}

test('three instances with concurrent producers on one channel: one chain, no gap, every ack exactly once', async () => {
  const spec = newSpec();
  const key = randomBytes(32);
  // The first open makes the schema and the log; then three writers at once.
  const first = postgresFixture(spec, key);
  await (await first.open()).close();
  const children = ['a', 'b', 'c'].map((n) => instance(spec, key, n, 8, 60));
  const ends = await Promise.all(children.map((c) => c.exited));
  ends.forEach((e, i) => assert.equal(e.code, 0, children[i]?.stderr()));
  const { acked } = collect(children);
  assert.equal(acked.size, 3 * 8 * 60);
  const stored = await checkStored(spec, key, acked);
  assert.equal(stored, 3 * 8 * 60);
});

test('instances killed with SIGKILL at random moments, 20 times: retries with idempotency keys lose and duplicate nothing', async () => {
  const spec = newSpec();
  const key = randomBytes(32);
  const first = postgresFixture(spec, key);
  await (await first.open()).close();
  const dir = tempDir('dihya-pg-retry-');
  const all: Child[] = [];
  let live = ['a', 'b', 'c'].map((n) => instance(spec, key, `${n}0`, 4, 0));
  all.push(...live);
  await Promise.all(live.map((c) => c.waitFor((l) => l === 'ready')));
  const seen = live.map(() => 0);
  for (let k = 1; k <= 20; k++) {
    const i = Math.floor(Math.random() * live.length);
    const victim = live[i] as Child;
    // Killed while writing: once it has had a few answers, at a random moment after.
    await victim.waitFor((l) => l.startsWith('ack ') && ++seen[i]! >= 5);
    await sleep(Math.floor(Math.random() * 200));
    victim.proc.kill('SIGKILL');
    await victim.exited;
    // Its producers retry what they sent: unanswered ones, and (answers lost on the way) the
    // last three answered: these must get their original seq and hash back.
    const { sent, acked } = collect([victim]);
    const retry = [...[...acked.keys()].slice(-3), ...[...sent].filter((id) => !acked.has(id))];
    const file = path.join(dir, `retry-${k}`);
    writeFileSync(file, retry.join('\n'));
    const next = instance(spec, key, `r${k}`, 4, 0, file);
    all.push(next);
    live = live.map((c, j) => (j === i ? next : c));
    seen[i] = 0;
  }
  await sleep(300);
  for (const c of live) c.proc.kill('SIGKILL');
  await Promise.all(all.map((c) => c.exited));
  const { sent, acked } = collect(all);
  assert.ok(acked.size >= 100, `only ${acked.size} acknowledged`);
  const stored = await checkStored(spec, key, acked);
  assert.ok(stored <= sent.size);
});
