import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { verifyLogs } from '../../src/store/file/verify.js';
import { newLog } from '../helpers.js';
import { ROTATOR, startChild } from '../child.js';
import { readChannel } from './read.js';

// Every step of rotation, sealing and retention where a crash could leave something half done,
// some at their second or third occurrence; then a few kills at random moments.
const POINTS = [
  'rotate.synced:1',
  'rotate.cut:1',
  'rotate.renamed:1',
  'rotate.created:1',
  'rotate.cut:3',
  'rotate.renamed:2',
  'segments.torn.cut:1',
  'segments.torn.cut:2',
  'seal.start:1',
  'seal.compressed:1',
  'seal.synced:1',
  'seal.renamed:1',
  'seal.renamed:3',
  'seal.signed:1',
  'seal.signed:2',
  'seal.unstaged:1',
  'segments.torn.seal:1',
  'retention.before:1',
  'retention.tombstoned:1',
  'retention.tombstoned:2',
  'retention.unlinked:1',
  'segments.torn.tombstone:1',
  'random',
  'random',
  'random',
];

test(`crash: a kill at ${POINTS.length} points of rotation, sealing and retention loses, duplicates and fakes nothing`, async () => {
  const t = newLog();
  const acked = new Set<string>();
  for (const [round, point] of POINTS.entries()) {
    const env: Record<string, string> = point === 'random' ? {} : { DIHYA_LOGS_FAILPOINT: point };
    const child = startChild(process.execPath, [ROTATOR, t.dir], t.masterKey, env);
    if (point === 'random') {
      await child.waitFor((l) => l.startsWith('ack '));
      await sleep(50 + Math.floor(Math.random() * 400));
      child.proc.kill('SIGKILL');
    } else {
      const timer = setTimeout(() => child.proc.kill('SIGTERM'), 30_000);
      await child.exited;
      clearTimeout(timer);
    }
    const { signal } = await child.exited;
    assert.equal(signal, 'SIGKILL', `round ${round} (${point}) never reached: ${child.stderr()}`);
    for (const l of child.lines) if (l.startsWith('ack ')) acked.add(l.split(' ')[1]!);

    // As the kill left it, before any recovery: every acknowledged event exactly once,
    // nothing twice in any channel, and verify finds no damage (warnings only).
    const audit = await readChannel(t.dir, t.logId, 'audit');
    const seen = new Map<string, number>();
    for (const r of audit) {
      const id = (r.data as { id: string }).id;
      seen.set(id, (seen.get(id) ?? 0) + 1);
    }
    for (const id of acked)
      assert.equal(
        seen.get(id),
        1,
        `round ${round} (${point}): ${id} appears ${seen.get(id) ?? 0} times`,
      );
    for (const channel of ['audit', 'app', 'scheduler']) {
      const seqs = (await readChannel(t.dir, t.logId, channel)).map((r) => r.seq as number);
      assert.equal(
        new Set(seqs).size,
        seqs.length,
        `round ${round} (${point}): ${channel} has a duplicate seq`,
      );
    }
    const report = await verifyLogs({ dir: t.dir, publicKey: t.publicKey });
    assert.ok(report.ok, `round ${round} (${point}): ${JSON.stringify(report.damage)}`);
  }

  // A final open finishes what the last kill interrupted: everything sealed, nothing pending.
  const errors: string[] = [];
  const logs = await t.open({ onError: (e) => errors.push(`${e.code}: ${e.message}`) });
  const sealed = await logs.lifecycle.seal();
  await logs.close();
  assert.deepEqual(errors, []);
  const report = await verifyLogs({ dir: t.dir, publicKey: t.publicKey });
  assert.ok(report.ok, JSON.stringify(report.damage));
  assert.deepEqual(
    report.warnings.filter((w) => w.kind === 'segment_pending' || w.kind === 'torn_tail'),
    [],
  );
  const staging = path.join(t.dir, 'archive', '.staging');
  assert.deepEqual(existsSync(staging) ? readdirSync(staging) : [], [], JSON.stringify(sealed));
  const audit = await readChannel(t.dir, t.logId, 'audit');
  const ids = new Set(audit.map((r) => (r.data as { id: string }).id));
  for (const id of acked) assert.ok(ids.has(id), `${id} lost`);
  assert.ok(report.channels.find((c) => c.channel === 'audit')!.records > 0);
  assert.ok(acked.size >= POINTS.length * 10, `only ${acked.size} events acknowledged`);
});

// Killed before its seal (the next open seals it), and after signing the seal but before
// recording it (the next open finds it sealed, its staged copy still there, and records it).
for (const point of ['seal.start:1', 'seal.signed:1'])
  test(`a segment a kill left staged (${point}) has its seal recorded (log.archive.sealed) after the next open`, async () => {
    const t = newLog();
    const child = startChild(process.execPath, [ROTATOR, t.dir], t.masterKey, {
      DIHYA_LOGS_FAILPOINT: point,
    });
    const timer = setTimeout(() => child.proc.kill('SIGTERM'), 30_000);
    const { signal } = await child.exited;
    clearTimeout(timer);
    assert.equal(signal, 'SIGKILL', `the failpoint was never reached: ${child.stderr()}`);
    const staging = path.join(t.dir, 'archive', '.staging');
    const staged = readdirSync(staging);
    assert.ok(staged.length > 0, 'the kill left a staged segment');

    // The open seals it in the background, as soon as the writer thread is up.
    const errors: string[] = [];
    const logs = await t.open({ onError: (e) => errors.push(`${e.code}: ${e.message}`) });
    await logs.lifecycle.seal();
    await logs.close();
    assert.deepEqual(errors, []);
    assert.deepEqual(readdirSync(staging), [], 'nothing left staged');

    const sealed = (await readChannel(t.dir, t.logId, 'scheduler')).filter(
      (r) => r.event === 'log.archive.sealed' && r.outcome === 'success',
    );
    for (const name of staged) {
      // Staged files are named <channel>-<first>-<last>...: each has its sealed record.
      const found = sealed.some((r) => {
        const d = r.data as { channel: string; first: number; last: number };
        return name.startsWith(`${d.channel}-`) && name.includes(`-${d.first}-${d.last}`);
      });
      assert.ok(
        found,
        `no log.archive.sealed for ${name}: ${JSON.stringify(sealed.map((r) => r.data))}`,
      );
    }
  });
