/**
 * process.exit() right after fire-and-forget logging on the PostgreSQL store: the exit handler
 * commits what was waiting (a worker thread, while the main thread blocks), with the new
 * people's keys, so nothing accepted is lost and every record decrypts for its person.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startChild } from '../child.js';
import { newSpec, postgresFixture, sql } from '../store/postgres-backend.js';
import { APP, assertChained, readAll, seqs } from '../store/records.js';

const CHILD = path.join(path.dirname(fileURLToPath(import.meta.url)), 'exit-child.js');

test('postgres: records accepted before process.exit() are committed by the exit handler, with their people', async () => {
  const spec = newSpec();
  const key = randomBytes(32);
  const COUNT = 3000;
  const child = startChild(process.execPath, [CHILD, JSON.stringify(spec), String(COUNT)], key);
  const { code } = await child.exited;
  assert.equal(code, 0, child.stderr());
  assert.doesNotMatch(child.stderr(), /not stored|could not be stored/);
  const f = postgresFixture(spec, key);
  try {
    const store = await f.open();
    const apps = await readAll(store, APP);
    const ours = apps.filter((r) => r.line.includes('"event":"test.exit"'));
    assert.equal(ours.length, COUNT, 'every record accepted before exit is stored');
    assert.deepEqual(
      seqs(apps),
      apps.map((_, i) => i + 1),
    );
    assertChained(store, APP, apps);
    // Each record's person is in the keystore: their e-mail reads back.
    const people = await sql(spec.schema, 'SELECT count(*)::int AS n FROM dl_subjects');
    assert.ok((people.rows[0] as { n: number }).n >= COUNT, JSON.stringify(people.rows));
    const sample = JSON.parse(ours[COUNT - 1]!.line) as { pii?: Record<string, string> };
    const pseudonym = Object.keys(sample.pii ?? {})[0] ?? '';
    const row = await sql(spec.schema, 'SELECT 1 FROM dl_subjects WHERE pseudonym = $1', [
      pseudonym,
    ]);
    assert.equal(row.rowCount, 1, 'the last record’s person was stored with it');
    const report = await store.verify();
    assert.ok(report.ok, JSON.stringify(report.damage));
    await store.close();
  } finally {
    await f.dispose();
  }
});
