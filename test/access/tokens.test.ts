import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { TokenStore } from '../../src/access/tokens.js';
import { tempDir } from '../helpers.js';

// Token changes are answered only once synced (issue 18: a revoke came back after a power loss
// while the audit trail said it was revoked). SQLite as better-sqlite3 builds it turns a WAL
// database to synchronous=NORMAL, where a commit is not synced: the store must say FULL, on a
// new file and on every later open.

test('the token store syncs every change before it answers: synchronous=full on create and on reopen', () => {
  const keys = path.join(tempDir(), '.keys');
  mkdirSync(keys, { mode: 0o700 });
  const first = TokenStore.open(keys);
  const made = first.create('ingest', 'producer');
  assert.equal(first.syncMode(), 'full');
  first.close();

  const again = TokenStore.open(keys);
  try {
    assert.equal(again.syncMode(), 'full', 'a reopened WAL database is synced too');
    assert.ok(again.revoke(made.info.id));
    assert.equal(again.check(made.token), undefined, 'revoked at once');
  } finally {
    again.close();
  }
  const third = TokenStore.open(keys);
  try {
    assert.notEqual(third.get(made.info.id)?.revoked, undefined, 'the revocation was kept');
  } finally {
    third.close();
  }
});
