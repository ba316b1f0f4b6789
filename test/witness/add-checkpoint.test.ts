import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import {
  ed25519Signer,
  openNote,
  parseNote,
  verifyCosignature,
} from '../../src/integrity/note/index.js';
import { originHash, parseAddCheckpoint } from '../../src/witness/index.js';
import { V } from '../integrity/note/vectors.js';
import { TestLog, addBody, startWitness } from './helpers.js';

test('a first checkpoint (old 0) is cosigned; the cosignature verifies with the witness key', async () => {
  const log = new TestLog('example.com/log1').append(5);
  const w = await startWitness([log], { clock: () => 1_700_000_123_456 });
  const r = await w.add(log.body(0));
  assert.equal(r.status, 200, r.body);
  assert.match(r.body, /^— witness\.example\.org\/w1 \S+\n$/);
  assert.equal(verifyCosignature(w.verifier, log.text(), r.body), 1_700_000_123);
  // As tlog-witness suggests: append the response to the checkpoint, open it as a note.
  const cosigned = openNote(log.checkpoint() + r.body, [w.verifier]);
  assert.equal(cosigned.verified.length, 1);
  // Persisted: one file per log, 0600, in a 0700 directory.
  const files = readdirSync(w.stateDir);
  assert.deepEqual(files, [`${originHash(log.origin)}.json`]);
  assert.equal(statSync(path.join(w.stateDir, files[0]!)).mode & 0o777, 0o600);
  assert.equal(statSync(w.stateDir).mode & 0o777, 0o700);
  await w.app.close();
});

test('a larger consistent checkpoint with its proof is cosigned; the old size must be the stored one', async () => {
  const log = new TestLog('example.com/log2').append(7);
  const w = await startWitness([log]);
  assert.equal((await w.add(log.body(0))).status, 200);
  for (const grow of [1, 9, 16, 100]) {
    const old = log.leaves.length;
    log.append(grow);
    const r = await w.add(log.body(old));
    assert.equal(r.status, 200, `${old} -> ${log.leaves.length}: ${r.body}`);
    verifyCosignature(w.verifier, log.text(), r.body);
  }
  // The same checkpoint again (old = size, no proof): cosigned again.
  assert.equal((await w.add(log.body(log.leaves.length))).status, 200);
  // A stale old size: 409, the stored size as text/x.tlog.size.
  const stale = await w.add(log.body(7));
  assert.deepEqual(
    [stale.status, stale.body, stale.type],
    [409, `${log.leaves.length}\n`, 'text/x.tlog.size'],
  );
  const zero = await w.add(log.body(0));
  assert.deepEqual([zero.status, zero.body], [409, `${log.leaves.length}\n`]);
  await w.app.close();
});

test('an inconsistent checkpoint is refused with 422 and changes nothing', async () => {
  const log = new TestLog('example.com/log3').append(10);
  const w = await startWitness([log]);
  assert.equal((await w.add(log.body(0))).status, 200);
  // A fork: the same log key signs another tree of 20 leaves that does not extend the first 10.
  const fork = new TestLog(log.origin, log.signer).append(20);
  const forged = await w.add(addBody(10, fork.proof(10), fork.checkpoint()));
  assert.equal(forged.status, 422, forged.body);
  assert.match(forged.body, /^WITNESS_INCONSISTENT: /);
  // A right proof for the wrong root, a truncated proof, a proof with a hash changed.
  log.append(10);
  const proof = log.proof(10);
  const otherRoot = createHash('sha256').update('x').digest();
  assert.equal((await w.add(addBody(10, proof, log.checkpoint(20, otherRoot)))).status, 422);
  assert.equal((await w.add(addBody(10, proof.slice(1), log.checkpoint()))).status, 422);
  const changed = [...proof];
  changed[0] = Buffer.alloc(32, 1).toString('base64');
  assert.equal((await w.add(addBody(10, changed, log.checkpoint()))).status, 422);
  // Same size, another root.
  assert.equal((await w.add(addBody(10, [], log.checkpoint(10, otherRoot)))).status, 422);
  // Still at 10: the honest extension is accepted.
  assert.equal((await w.add(log.body(10))).status, 200);
  await w.app.close();
});

test('old size rules: over the new size 400, a proof with old 0 422, an empty tree needs the empty root', async () => {
  const log = new TestLog('example.com/log4').append(4);
  const w = await startWitness([log]);
  assert.equal((await w.add(addBody(5, [], log.checkpoint()))).status, 400);
  assert.equal((await w.add(addBody(0, log.proof(2), log.checkpoint()))).status, 422);
  const wrongEmpty = await w.add(addBody(0, [], log.checkpoint(0, Buffer.alloc(32))));
  assert.equal(wrongEmpty.status, 422);
  const empty = createHash('sha256').digest();
  assert.equal((await w.add(addBody(0, [], log.checkpoint(0, empty)))).status, 200);
  assert.equal((await w.add(log.body(0))).status, 200);
  await w.app.close();
});

test('log signatures: none trusted 403, a bad one from the trusted key 403, extra unknown ones ignored', async () => {
  const log = new TestLog('example.com/log5').append(3);
  const w = await startWitness([log]);
  const impostor = ed25519Signer(log.origin, generateKeyPairSync('ed25519').privateKey);
  const r1 = await w.add(addBody(0, [], log.checkpoint(3, undefined, [impostor])));
  assert.equal(r1.status, 403, r1.body);
  assert.match(r1.body, /^NOTE_SIGNATURE: /);
  // The trusted key's line with its signature broken (the text changed after signing).
  const note = log.checkpoint();
  const tampered = note.replace(`\n3\n`, `\n2\n`);
  assert.equal((await w.add(addBody(0, [], tampered))).status, 403);
  // The trusted signature plus an impostor's (unknown key id): accepted.
  const both = await w.add(addBody(0, [], log.checkpoint(3, undefined, [impostor, log.signer])));
  assert.equal(both.status, 200, both.body);
  await w.app.close();
});

test('an unknown origin is 404', async () => {
  const log = new TestLog('example.com/log6').append(3);
  const other = new TestLog('example.com/not-witnessed').append(3);
  const w = await startWitness([log]);
  const r = await w.add(other.body(0));
  assert.equal(r.status, 404);
  assert.match(r.body, /^WITNESS_ORIGIN_UNKNOWN: /);
  await w.app.close();
});

test('the monitoring endpoint serves the latest cosigned checkpoint, log and witness signatures', async () => {
  const log = new TestLog('example.com/log7').append(6);
  const w = await startWitness([log]);
  const get = () => w.app.inject({ method: 'GET', url: `/${originHash(log.origin)}/checkpoint` });
  assert.equal((await get()).statusCode, 404);
  const r = await w.add(log.body(0));
  const served = await get();
  assert.equal(served.statusCode, 200);
  assert.equal(served.body, log.checkpoint() + r.body);
  const opened = openNote(served.body, [w.verifier, ...w.config.logs.get(log.origin)!]);
  assert.equal(opened.verified.length, 2);
  assert.equal((await w.app.inject({ method: 'GET', url: '/zz/checkpoint' })).statusCode, 404);
  await w.app.close();
});

test('c2sp.org tlog-witness: the example request body parses', () => {
  const req = parseAddCheckpoint(Buffer.from(V.c2sp.addCheckpointExample));
  assert.equal(req.oldSize, 20852014);
  assert.equal(req.proof.length, 4);
  assert.equal(req.proof[0]!.toString('base64'), 'PlRNCrwHpqhGrupue0L7gxbjbMiKA9temvuZZDDpkaw=');
  assert.equal(req.note.signatures.length, 2);
  assert.equal(req.note.text, parseNote(V.c2sp.checkpointExample).text);
});

test('a corrupt state file fails closed for its log', async () => {
  const log = new TestLog('example.com/log8').append(3);
  const w = await startWitness([log]);
  assert.equal((await w.add(log.body(0))).status, 200);
  await w.app.close();
  writeFileSync(path.join(w.stateDir, `${originHash(log.origin)}.json`), '{"v":1,', {
    mode: 0o600,
  });
  const again = await startWitness([log], { stateDir: w.stateDir });
  const r = await again.add(log.body(0));
  assert.equal(r.status, 500);
  assert.match(r.body, /^WITNESS_STATE_INVALID: /);
  await again.app.close();
});
