import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LogsError } from '../../../src/errors.js';
import { Keystore } from '../../../src/crypto/keystore.js';
import { fileBackend } from '../file-backend.js';
import { withFixture } from '../backend.js';
import { AUDIT, channelIndex, now, readAll, seqs, testRecord } from '../records.js';

// Issue 18: a full disk while the subject keystore was written wedged the service until a
// restart: every later write, even one about no person, failed. The keystore commit that
// fails (SQLite's "database or disk is full", injected here on the store's own keystore; the
// torture run fills a real disk) refuses the batch that needed the new people, spends no seq,
// forgets those people, and the store takes writes again as soon as the keystore can be written.

test('file store: a keystore write that fails refuses its batch only; the next writes succeed, no seq is lost or reused', () =>
  withFixture(fileBackend, async (f) => {
    const store = await f.open();
    const c = channelIndex(store, AUDIT);
    const keys = store.keys;
    assert.ok(keys instanceof Keystore, "the file store's own keystore");
    assert.ok((await store.append(c, testRecord(AUDIT, 'before'), now(), 0, 'd')) !== undefined);

    const commit = keys.commit.bind(keys);
    keys.commit = () => {
      throw new Error('database or disk is full');
    };
    const ada = keys.subject('ada@example.org');
    await assert.rejects(
      async () => store.append(c, testRecord(AUDIT, 'needs ada'), now(), 0, 'd'),
      (e: unknown) => {
        assert.ok(e instanceof LogsError);
        assert.equal(e.code, 'WRITE_FAILED');
        assert.match(e.message, /keystore could not be written \(database or disk is full\)/);
        return true;
      },
    );
    assert.equal(keys.uncommitted, 0, 'the people of the refused batch are forgotten');
    assert.equal(keys.find('ada@example.org'), undefined);

    // Space again: writes about no one and about the same person are stored, in sequence.
    keys.commit = commit;
    const after = await store.append(c, testRecord(AUDIT, 'no person'), now(), 0, 'd');
    assert.equal(after?.seq, 2, 'the refused record spent no seq');
    const again = keys.subject('ada@example.org');
    assert.notEqual(again.pseudonym, ada.pseudonym, 'a new key: the old one was never stored');
    assert.equal((await store.append(c, testRecord(AUDIT, 'ada again'), now(), 0, 'd'))?.seq, 3);
    assert.equal(keys.keyOf(again.pseudonym)?.equals(again.key), true, 'her key is on disk');
    assert.deepEqual(seqs(await readAll(store, AUDIT)), [1, 2, 3]);
    assert.equal(f.errors.length, 1, 'the refused batch was reported once');
    const report = await store.verify();
    assert.equal(report.ok, true, JSON.stringify(report));
    await store.close();
  }));
