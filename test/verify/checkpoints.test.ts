import { checkpointNoteText, NoteSigners } from '../../src/integrity/checkpoint-note.js';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { generateKeyPairSync } from 'node:crypto';
import { verifyLogs } from '../../src/store/file/verify.js';
import {
  encodeCheckpoint,
  parseCheckpoint,
  signCheckpoint,
  checkpointLinkHash,
} from '../../src/integrity/checkpoint.js';
import { keyId, publicKeyText } from '../../src/crypto/sign.js';
import { ChainHasher, chainGenesis, toLine } from '../../src/integrity/chain.js';
import { newLog, openedRecords, readLines, type TestLog } from '../helpers.js';

async function written(): Promise<TestLog> {
  const t = newLog();
  const logs = await t.open();
  for (let i = 0; i < 12; i++) {
    logs.app.info({ i }, `message ${i}`);
    if (i % 4 === 3) await logs.flush();
  }
  await logs.audit({ event: 'x.y' });
  await logs.close();
  return t;
}

const ckFile = (t: TestLog): string => path.join(t.dir, '.integrity', 'checkpoints.log');
const verify = (t: TestLog, pinned = true) =>
  verifyLogs({ dir: t.dir, ...(pinned ? { publicKey: t.publicKey } : {}) });

test('an intact log verifies, with every checkpoint matched', async () => {
  const t = await written();
  const r = await verify(t);
  assert.ok(r.ok);
  assert.deepEqual(r.damage, []);
  // Three flushes, then the final checkpoint of the clean close; audit has its final one;
  // and init's five empty checkpoints (one per channel), which no record reaches.
  assert.equal(r.channels.find((c) => c.channel === 'app')!.checkpoints, 4);
  assert.equal(r.checkpoints.count, 10);
});

test('an altered checkpoint (its root changed) fails its signature', async () => {
  const t = await written();
  const lines = readLines(ckFile(t));
  const cp = JSON.parse(lines[1]!) as Record<string, unknown>;
  cp.size = 100;
  lines[1] = JSON.stringify(cp);
  writeFileSync(ckFile(t), `${lines.join('\n')}\n`);
  const r = await verify(t);
  assert.equal(r.ok, false);
  assert.equal(r.checkpoints.damage?.line, 2);
  assert.ok(['checkpoint_signature', 'checkpoint_chain'].includes(r.checkpoints.damage.kind));
});

test('a removed or reordered checkpoint breaks the checkpoint chain at that place', async () => {
  for (const edit of ['remove', 'swap'] as const) {
    const t = await written();
    const lines = readLines(ckFile(t));
    if (edit === 'remove') lines.splice(1, 1);
    else [lines[1], lines[2]] = [lines[2]!, lines[1]!];
    writeFileSync(ckFile(t), `${lines.join('\n')}\n`);
    const r = await verify(t);
    assert.equal(r.ok, false, edit);
    assert.equal(r.checkpoints.damage?.kind, 'checkpoint_chain', edit);
    assert.equal(r.checkpoints.damage.line, 2, edit);
  }
});

test('a checkpoint forged with another key is named wrong_key', async () => {
  const t = await written();
  const lines = readLines(ckFile(t));
  const last = parseCheckpoint(lines[lines.length - 1]!);
  const other = generateKeyPairSync('ed25519');
  const { sig: _sig, ...body } = last;
  const forged = signCheckpoint(
    {
      ...body,
      size: last.size,
      prev: checkpointLinkHash(lines[lines.length - 1]!),
      kid: keyId(publicKeyText(other.publicKey)),
    },
    other.privateKey,
  );
  appendFileSync(ckFile(t), `${encodeCheckpoint(forged)}\n`);
  const r = await verify(t);
  assert.equal(r.ok, false);
  assert.equal(r.checkpoints.damage?.kind, 'wrong_key');
  assert.equal(r.checkpoints.damage.line, lines.length + 1);
});

test('a log rewritten and re-signed with a new key pair: detected when the key is pinned, warned otherwise', async () => {
  const t = await written();
  // The attacker replaces the published public key and re-signs every checkpoint.
  const other = generateKeyPairSync('ed25519');
  const text = publicKeyText(other.publicKey);
  const metaFile = path.join(t.dir, '.integrity', 'log.json');
  const meta = JSON.parse(readFileSync(metaFile, 'utf8')) as Record<string, unknown>;
  writeFileSync(metaFile, JSON.stringify({ ...meta, public_key: text }));
  let prev: string | undefined;
  const notes = new NoteSigners(other.privateKey);
  const resigned = readLines(ckFile(t)).map((line) => {
    const { sig: _sig, ...body } = parseCheckpoint(line);
    // The signed-note form too: a thorough attacker re-signs everything.
    const noteSig =
      body.origin === undefined
        ? {}
        : {
            note_sig: notes.sign(
              body.origin,
              checkpointNoteText(body.origin, body.size, body.root),
            ),
          };
    const cp = signCheckpoint(
      { ...body, ...noteSig, kid: keyId(text), prev: prev ?? body.prev },
      other.privateKey,
    );
    const out = encodeCheckpoint(cp);
    prev = checkpointLinkHash(out);
    return out;
  });
  writeFileSync(ckFile(t), `${resigned.join('\n')}\n`);

  const pinned = await verify(t);
  assert.equal(pinned.ok, false);
  assert.ok(pinned.damage.some((d) => d.kind === 'wrong_key' && d.file === '.integrity/log.json'));
  assert.equal(pinned.checkpoints.damage?.kind, 'wrong_key');

  const unpinned = await verify(t, false);
  assert.ok(
    unpinned.ok,
    `without a pinned key the re-signed log looks consistent... ${JSON.stringify(unpinned.damage)}`,
  );
  assert.ok(
    unpinned.warnings.some((w) => w.kind === 'key_not_pinned'),
    '...and verify says so',
  );
});

test('records rewritten with a consistent chain disagree with the signed checkpoints', async () => {
  const t = await written();
  const file = path.join(t.dir, 'app.log');
  const hasher = new ChainHasher();
  let head = chainGenesis(t.logId, 'app');
  const rewritten = readLines(file).map((line, i) => {
    const { hash: _hash, ...rec } = JSON.parse(line) as Record<string, unknown>;
    if (i === 2) rec.msg = 'rewritten history';
    const canonical = JSON.stringify(
      Object.fromEntries(Object.entries(rec).sort(([a], [b]) => (a < b ? -1 : 1))),
    );
    head = hasher.next(head, canonical);
    return toLine(canonical, head);
  });
  writeFileSync(file, rewritten.join(''));
  const r = await verify(t);
  const damage = r.channels.find((c) => c.channel === 'app')!.damage;
  assert.equal(damage?.kind, 'checkpoint_mismatch');
  assert.equal(damage.seq, 4, 'the first checkpoint after the rewritten record');
});

test('a deleted channel file is named when checkpoints cover it', async () => {
  const t = await written();
  rmSync(path.join(t.dir, 'app.log'));
  const r = await verify(t);
  assert.equal(r.ok, false);
  assert.ok(r.damage.some((d) => d.kind === 'file_missing' && d.channel === 'app'));
});

test('records appended after a clean close are named, and moved aside on the next open', async () => {
  const t = await written();
  const file = path.join(t.dir, 'app.log');
  // A valid continuation of the chain: only the signed final checkpoint can tell it is foreign.
  const lines = readLines(file);
  const last = JSON.parse(lines[lines.length - 1]!) as { seq: number; hash: string; ts: string };
  const canonical = `{"channel":"app","event":"forged","level":"INFO","seq":${last.seq + 1},"ts":"${last.ts}"}`;
  appendFileSync(file, toLine(canonical, new ChainHasher().next(last.hash, canonical)));
  const r = await verify(t);
  const damage = r.channels.find((c) => c.channel === 'app')!.damage;
  assert.equal(damage?.kind, 'appended_after_close');
  assert.equal(damage.seq, 13);

  const logs = await t.open();
  logs.app.info('after reopen');
  await logs.close();
  const after = await verify(t);
  assert.ok(after.ok, JSON.stringify(after.damage));
  const security = openedRecords(t, 'security.log');
  assert.ok(security.some((s) => s.event === 'log.integrity.appended_after_close'));
  assert.ok(!readFileSync(file, 'utf8').includes('"forged"'));
});

test('a log whose log.json is gone is damaged, not "not initialized"', async () => {
  const t = await written();
  rmSync(path.join(t.dir, '.integrity', 'log.json'));
  const r = await verify(t);
  assert.equal(r.ok, false);
  assert.equal(r.damage[0]?.kind, 'log_meta');
});
