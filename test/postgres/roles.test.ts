/**
 * The roles of docs/postgres.md, applied as written: the service role writes, checkpoints,
 * rotates and seals (a new month's partition included), makes, checks and revokes tokens, but
 * cannot UPDATE or DELETE records nor delete or re-key a token, and `doctor` says so; connected
 * as the owner, doctor warns that the role could.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { REPO_ROOT } from '../helpers.js';
import { databaseChecks } from '../../src/store/postgres/index.js';
import { newSpec, postgresFixture, sql } from '../store/postgres-backend.js';
import { AUDIT, channelIndex, now, readAll, seqs, testRecord } from '../store/records.js';

/** The `-- roles` SQL block of docs/postgres.md, for this schema and role. */
function rolesSql(schema: string, role: string): string {
  const doc = readFileSync(path.join(REPO_ROOT, 'docs', 'postgres.md'), 'utf8');
  const block = /```sql\n(-- roles:[\s\S]*?)```/.exec(doc)?.[1];
  assert.ok(block !== undefined, 'docs/postgres.md has the roles SQL block');
  return block.replaceAll('dihya_logs', schema).replaceAll('dl_service', role);
}

test('postgres: the service role of docs/postgres.md writes and signs, cannot change records, and doctor agrees', async () => {
  const spec = newSpec();
  const key = randomBytes(32);
  const owner = postgresFixture(spec, key);
  const role = `dl_svc_${randomBytes(4).toString('hex')}`;
  try {
    await (await owner.open()).close(); // the owner's first start makes the schema
    await sql('public', rolesSql(spec.schema, role));
    const url = new URL(spec.url);
    url.username = role;
    const svc = postgresFixture({ ...spec, url: url.toString() }, key);
    const store = await svc.open();
    const audit = channelIndex(store, AUDIT);
    await store.append(audit, testRecord(AUDIT, 'now'), now(), 0, 'd');
    // A record of a month with no partition yet: made through dl_make_partition.
    const later = new Date(Date.now() + 62 * 86_400_000).toISOString();
    await store.append(audit, testRecord(AUDIT, 'later'), later, 0, 'd');
    await store.flush();
    const [cut] = await store.rotate({ channel: AUDIT });
    assert.equal(cut?.rotated, true);
    assert.equal(store.segments(AUDIT)[0]?.state, 'sealed');
    assert.deepEqual(seqs(await readAll(store, AUDIT)), [1, 2]);
    assert.equal((await store.verify()).ok, true);
    const tokens = store.tokens;
    assert.ok(tokens !== undefined);
    const made = await tokens.create('auditor', 'roles test');
    assert.equal((await tokens.check(made.token))?.id, made.info.id); // last_used written
    assert.equal(await tokens.revoke(made.info.id), true);
    assert.equal(await tokens.check(made.token), undefined);
    assert.equal((await tokens.list()).length, 1);
    assert.deepEqual(svc.errors, []);

    const asRole = (text: string): Promise<unknown> =>
      sql(spec.schema, `SET ROLE ${role}; ${text}`).then(() => 'allowed');
    await assert.rejects(asRole(`UPDATE dl_records SET msg = 'x'`), /permission denied/);
    await assert.rejects(asRole('DELETE FROM dl_records'), /permission denied/);
    await assert.rejects(asRole('TRUNCATE dl_records'), /permission denied/);
    await assert.rejects(asRole('DELETE FROM dl_tokens'), /permission denied/);
    await assert.rejects(
      asRole(`UPDATE dl_tokens SET hash = hash, role = 'admin'`),
      /permission denied/,
    );
    await assert.rejects(asRole(`UPDATE dl_tokens SET expires = NULL`), /permission denied/);
    // A revocation is final: the column grant allows the update, the schema's trigger does not.
    await assert.rejects(
      asRole(`UPDATE dl_tokens SET revoked = NULL`),
      /only last_used changes, and revoked once/,
    );
    assert.equal(await tokens.check(made.token), undefined);

    const mine = await databaseChecks(url.toString(), spec.schema);
    assert.equal(mine.find((c) => c.id === 'db-role')?.status, 'ok');
    assert.equal(mine.find((c) => c.id === 'db-schema')?.status, 'ok');
    assert.equal(mine.find((c) => c.id === 'db-durability')?.status, 'ok');
    const theirs = await databaseChecks(spec.url, spec.schema);
    assert.equal(theirs.find((c) => c.id === 'db-role')?.status, 'warn');
    await store.close();
  } finally {
    await owner.dispose();
    await sql('public', `DROP OWNED BY ${role}; DROP ROLE IF EXISTS ${role}`).catch(
      () => undefined,
    );
  }
});
