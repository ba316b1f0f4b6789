import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Keystore } from '../../src/crypto/keystore.js';
import { IndexDb } from '../../src/search/index-db.js';
import { catchUp } from '../../src/search/indexer.js';
import { runQuery } from '../../src/query/query.js';
import { LogLayout } from '../../src/store/file/layout.js';
import { verifyLogs } from '../../src/store/file/verify.js';
import { cli } from '../cli/run.js';
import {
  expectCode,
  newLog,
  openedRecords,
  readLines,
  readRecords,
  type TestLog,
} from '../helpers.js';

const MARK = 'zebra-quartz-41';

function keyring(t: TestLog) {
  const ks = Keystore.openReadOnly(new LogLayout(t.dir).subjectsFile, t.masterKey, t.logId);
  try {
    return ks.channelKeyring();
  } finally {
    ks.close();
  }
}

/** Every byte under a directory, as latin1 text (to look for what must not be there). */
function allBytes(dir: string): string {
  let out = '';
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (e.isFile()) out += readFileSync(path.join(e.parentPath, e.name)).toString('latin1');
  }
  return out;
}

async function securityLog(): Promise<TestLog> {
  const t = newLog();
  const logs = await t.open();
  for (let i = 0; i < 5; i++) {
    await logs.security({
      event: 'auth.login.failure',
      actor: `user-${i}`,
      outcome: 'failure',
      request_id: `req-${i}`,
      msg: `bad password ${MARK} attempt ${i}`,
      data: { reason: 'bad_password', attempt: i },
    });
  }
  logs.app.info({ event: 'page.view' }, `plain ${MARK}`);
  await logs.close();
  return t;
}

test('a security record is stored as ciphertext: only seq, ts, level, channel and hash are readable; verify needs no key', async () => {
  const t = await securityLog();
  const stored = readRecords(path.join(t.dir, 'security.log'));
  const text = readFileSync(path.join(t.dir, 'security.log'), 'utf8');
  assert.equal(stored.length, 5 + 0);
  for (const [i, r] of stored.entries()) {
    assert.deepEqual(Object.keys(r).sort(), ['body', 'channel', 'hash', 'level', 'seq', 'ts']);
    assert.equal(r.seq, i + 1);
    assert.equal(r.level, 'SECURITY');
    assert.deepEqual(Object.keys(r.body as object).sort(), ['ct', 'k']);
  }
  for (const secret of [MARK, 'auth.login.failure', 'bad_password', 'req-1', 'failure'])
    assert.ok(!text.includes(secret), `${secret} is not in the file`);
  // The app channel is not encrypted.
  assert.ok(readFileSync(path.join(t.dir, 'app.log'), 'utf8').includes(MARK));

  // verify reads no key (none is given here) and passes, deep checks included.
  const report = await verifyLogs({ dir: t.dir, deep: true });
  assert.ok(report.ok, JSON.stringify(report.damage));
  assert.equal(report.channels.find((c) => c.channel === 'security')?.records, 5);

  // An allowed reader opens them: every field as written.
  const opened = openedRecords(t, 'security.log');
  assert.deepEqual(
    opened.map((r) => [
      r.seq,
      r.event,
      r.outcome,
      r.request_id,
      (r.data as { attempt: number }).attempt,
    ]),
    [0, 1, 2, 3, 4].map((i) => [i + 1, 'auth.login.failure', 'failure', `req-${i}`, i]),
  );
  assert.equal(opened[2]?.msg, `bad password ${MARK} attempt 2`);
});

test('the index finds encrypted records by event, actor and request id, but keeps no clear copy of their messages', async () => {
  const t = await securityLog();
  const layout = new LogLayout(t.dir);
  const db = IndexDb.open(layout, t.logId);
  try {
    const ring = keyring(t);
    const r = await runQuery(
      layout,
      t.logId,
      db,
      { filter: { channels: ['security'], requestIds: ['req-3'] } },
      undefined,
      ring,
    );
    assert.equal(r.records.length, 1);
    assert.equal(r.records[0]?.status, 'ok');
    assert.equal(r.records[0].record?.msg, `bad password ${MARK} attempt 3`);
    const byEvent = await runQuery(
      layout,
      t.logId,
      db,
      { filter: { events: ['auth.*'] } },
      undefined,
      ring,
    );
    assert.equal(byEvent.records.length, 5);
    // The text of the app record is indexed; the security ones' is not.
    const byText = await runQuery(layout, t.logId, db, { filter: { text: MARK } }, undefined, ring);
    assert.deepEqual(
      byText.records.map((x) => x.channel),
      ['app'],
    );
    // The full-text index holds the words of the app record only (and none of "password").
    const matches = (word: string): number =>
      db.connection
        .prepare<[string], { n: number }>('SELECT count(*) AS n FROM msg_fts WHERE msg_fts MATCH ?')
        .get(word)?.n ?? -1;
    assert.equal(matches('quartz'), 1);
    assert.equal(matches('password'), 0);
  } finally {
    db.close();
  }
});

test('without the keys, the index stops before the first encrypted record; with them it goes on from there', async () => {
  const t = await securityLog();
  const layout = new LogLayout(t.dir);
  const db = IndexDb.open(layout, t.logId);
  try {
    const locked = await catchUp(layout, t.logId, db);
    const sec = locked.channels.find((c) => c.channel === 'security');
    assert.deepEqual([sec?.locked, sec?.indexedSeq], [true, 0]);
    assert.equal(locked.channels.find((c) => c.channel === 'app')?.locked, false);
    // A query without keys shows no security record (none is indexed), and says so by `locked`.
    const none = await runQuery(layout, t.logId, db, { filter: { channels: ['security'] } });
    assert.equal(none.records.length, 0);
    assert.equal(none.indexed?.channels.find((c) => c.channel === 'security')?.locked, true);

    const opened = await catchUp(layout, t.logId, db, { channelKeys: keyring(t) });
    const after = opened.channels.find((c) => c.channel === 'security');
    assert.deepEqual([after?.locked, after?.indexedSeq, after?.records], [false, 5, 5]);
    assert.equal(opened.rebuilt, undefined, 'no rebuild: it went on from where it stopped');

    // Read back without the key: readable fields and ciphertext, status ok (the chain holds).
    const stored = await runQuery(layout, t.logId, db, { filter: { channels: ['security'] } });
    assert.equal(stored.records.length, 5);
    for (const r of stored.records) {
      assert.equal(r.status, 'ok');
      assert.equal(r.record?.event, undefined);
      assert.equal(typeof r.record?.body, 'object');
    }
    // A catch-up without the keys after that resumes at an encrypted line: nothing is redone.
    const again = await catchUp(layout, t.logId, db);
    assert.equal(again.rebuilt, undefined);
    assert.equal(again.channels.find((c) => c.channel === 'security')?.indexedSeq, 5);
  } finally {
    db.close();
  }
});

test('keys rotate: new records use the new key, older ones stay readable, and the rotation is an audit event', async () => {
  const t = newLog();
  let logs = await t.open();
  await logs.security({ event: 'access.denied', msg: 'before' });
  const rotated = await logs.keys.rotateChannelKeys();
  assert.deepEqual(rotated, [{ channel: 'security', key: 2 }]);
  await logs.security({ event: 'access.denied', msg: 'after' });
  await expectCode('USAGE', () => logs.keys.rotateChannelKeys(['app']));
  await logs.close();
  // Reopened: the newest key is the current one.
  logs = await t.open();
  await logs.security({ event: 'access.denied', msg: 'reopened' });
  await logs.close();

  const stored = readRecords(path.join(t.dir, 'security.log'));
  assert.deepEqual(
    stored.map((r) => (r.body as { k: number }).k),
    [1, 2, 2],
  );
  assert.deepEqual(
    openedRecords(t, 'security.log').map((r) => r.msg),
    ['before', 'after', 'reopened'],
  );
  const audit = readRecords(path.join(t.dir, 'audit.log')).filter(
    (r) => r.event === 'keys.rotated',
  );
  assert.equal(audit.length, 1);
  assert.deepEqual((audit[0]?.data as { channels: unknown }).channels, [
    { channel: 'security', key: 2 },
  ]);
  // No key material in the audit trail or anywhere readable: the keystore holds them wrapped.
  const ks = Keystore.openReadOnly(new LogLayout(t.dir).subjectsFile, t.masterKey, t.logId);
  const keys = ks.channelKeys();
  ks.close();
  const everything = allBytes(t.dir);
  for (const [, , key] of keys) {
    assert.ok(!everything.includes(Buffer.from(key).toString('latin1')));
    assert.ok(!everything.includes(Buffer.from(key).toString('base64')));
    assert.ok(!everything.includes(Buffer.from(key).toString('hex')));
  }
  assert.ok((await verifyLogs({ dir: t.dir, deep: true })).ok);
});

test('a flipped ciphertext byte is damage: verify names the record without any key, and a reader with the key refuses it', async () => {
  const t = await securityLog();
  const file = path.join(t.dir, 'security.log');
  const lines = readLines(file);
  const r = JSON.parse(lines[2] as string) as { body: { ct: string } };
  const raw = Buffer.from(r.body.ct, 'base64');
  raw[20] = (raw[20] as number) ^ 0x01;
  lines[2] = (lines[2] as string).replace(r.body.ct, raw.toString('base64'));
  writeFileSync(file, `${lines.join('\n')}\n`);

  const report = await verifyLogs({ dir: t.dir });
  assert.equal(report.ok, false);
  const damage = report.damage.find((d) => d.channel === 'security');
  assert.equal(damage?.kind, 'record_altered');
  assert.equal(damage.seq, 3);
  assert.equal(damage.line, 3);

  const layout = new LogLayout(t.dir);
  const db = IndexDb.open(layout, t.logId);
  try {
    const q = await runQuery(
      layout,
      t.logId,
      db,
      { filter: { channels: ['security'] } },
      undefined,
      keyring(t),
    );
    // The record edited before it was indexed does not open: it is left out of the index (and
    // verify names it); the others are there.
    assert.deepEqual(q.records.map((x) => x.seq).sort(), [1, 2, 4, 5]);
  } finally {
    db.close();
  }
});

test('encryption follows the configuration: security can be stored in clear, any other channel encrypted', async () => {
  const t = newLog();
  const logs = await t.open({
    settings: { channels: { security: { encrypt: false }, app: { encrypt: true } } },
  });
  await logs.security({ event: 'access.denied', msg: `clear ${MARK}` });
  logs.app.info({ event: 'page.view' }, `hidden ${MARK}`);
  await logs.close();
  assert.ok(readFileSync(path.join(t.dir, 'security.log'), 'utf8').includes(MARK));
  assert.ok(!readFileSync(path.join(t.dir, 'app.log'), 'utf8').includes(MARK));
  assert.equal(openedRecords(t, 'app.log')[0]?.msg, `hidden ${MARK}`);
});

test('CLI: query opens encrypted channels with the master key and says what it cannot do without; keys list and rotate', async () => {
  const t = await securityLog();
  const env = { DIHYA_LOGS_MASTER_KEY: t.masterKey.toString('base64') };
  const base = ['--dir', t.dir];
  const noKey = cli(t.root, [...base, 'query', '--channel', 'security', '--format', 'ndjson']);
  assert.equal(noKey.code, 0, noKey.stderr);
  assert.equal(noKey.stdout, '');
  assert.match(noKey.stderr, /channel security is encrypted and no master key was given/);

  const withKey = cli(
    t.root,
    [...base, 'query', '--channel', 'security', '--format', 'ndjson'],
    env,
  );
  assert.equal(withKey.code, 0, withKey.stderr);
  const rows = withKey.stdout
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  assert.equal(rows.length, 5);
  assert.ok(rows.every((r) => r.event === 'auth.login.failure'));

  const text = cli(t.root, [...base, 'query', '--text', MARK, '--format', 'ndjson'], env);
  assert.equal(text.stdout.trim().split('\n').length, 1);
  assert.match(
    text.stderr,
    /--text does not search the messages of encrypted channels \(security\)/,
  );

  const rotate = cli(t.root, [...base, 'keys', 'rotate'], env);
  assert.equal(rotate.code, 0, rotate.stderr);
  assert.equal(rotate.stdout, 'security: new key #2\n');
  const list = cli(t.root, [...base, 'keys', 'list'], env);
  assert.match(list.stdout, /^security: 2 key\(s\), current #2 since \d{4}-/);
  const listNoKey = cli(t.root, [...base, 'keys', 'list']);
  assert.equal(listNoKey.code, 2);
  assert.match(listNoKey.stderr, /MASTER_KEY_MISSING/);

  const tail = cli(
    t.root,
    [...base, 'tail', '--channel', 'security', '-n', '2', '--format', 'ndjson'],
    env,
  );
  assert.deepEqual(
    tail.stdout
      .trim()
      .split('\n')
      .map((l) => (JSON.parse(l) as { msg: string }).msg),
    [`bad password ${MARK} attempt 3`, `bad password ${MARK} attempt 4`],
  );
});
