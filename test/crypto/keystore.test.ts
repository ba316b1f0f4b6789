import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { Keystore } from '../../src/crypto/keystore.js';
import { expectCode, newLog, readRecords, tempDir } from '../helpers.js';

const LOG_ID = 'ab'.repeat(16);

test('a person keeps one pseudonym and one key across restarts; ids are not stored', () => {
  const dir = tempDir();
  const file = path.join(dir, 'subjects.db');
  const master = randomBytes(32);
  const id = 'person-7f3a9c-unique@example.org';
  let ks = Keystore.open(file, master, LOG_ID);
  const first = ks.subject(id);
  assert.match(first.pseudonym, /^sub_[0-9a-f]{24}$/);
  assert.equal(first.key.length, 32);
  assert.equal(ks.subject(id), first, 'the same entry while open');
  assert.equal(ks.uncommitted, 1);
  ks.close();

  ks = Keystore.open(file, master, LOG_ID);
  const again = ks.find(id);
  assert.equal(again?.pseudonym, first.pseudonym);
  assert.ok(again.key.equals(first.key));
  assert.ok(ks.keyOf(first.pseudonym)?.equals(first.key));
  assert.equal(ks.find('someone-else'), undefined, 'find never creates');
  ks.close();

  for (const f of readdirSync(dir)) {
    const bytes = readFileSync(path.join(dir, f));
    assert.equal(bytes.includes(Buffer.from(id)), false, `${f} holds the id`);
    assert.equal(bytes.includes(first.key), false, `${f} holds the key unwrapped`);
    assert.equal(statSync(path.join(dir, f)).mode & 0o077, 0, `${f} is readable by others`);
  }
});

test('another master key finds nobody and opens no key', async () => {
  const file = path.join(tempDir(), 'subjects.db');
  const ks = Keystore.open(file, randomBytes(32), LOG_ID);
  const e = ks.subject('u-1');
  ks.close();
  const other = Keystore.openReadOnly(file, randomBytes(32), LOG_ID);
  assert.equal(other.find('u-1'), undefined, 'the lookup is keyed by the master key');
  await expectCode('MASTER_KEY_WRONG', () => other.keyOf(e.pseudonym));
  other.close();
});

test('the keys of new people are on disk before the records that need them', async () => {
  const t = newLog();
  const logs = await t.open();
  const ack = await logs.audit({
    event: 'auth.login.success',
    actor: { id: 'u-new', email: 'new@example.com' },
  });
  // Read the keystore now, while the writer still runs: the person must be there.
  const ks = Keystore.openReadOnly(path.join(t.dir, '.keys', 'subjects.db'), t.masterKey, t.logId);
  const entry = ks.find('u-new');
  ks.close();
  await logs.close();
  const rec = readRecords(path.join(t.dir, 'audit.log'))[ack.seq - 1]!;
  assert.equal(rec.sub, entry?.pseudonym);
});
