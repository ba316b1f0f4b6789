import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import {
  SIG_COSIGNATURE_V1,
  cosignatureMessage,
  cosignatureTimestamp,
  cosignatureVerifier,
  cosigner,
  ed25519Signer,
  formatCheckpoint,
  formatVerifierKey,
  keyIdHex,
  openNote,
  parseNote,
  parseSignerKey,
  parseVerifierKey,
  signCosignature,
  signNote,
  verifyCosignature,
} from '../../../src/integrity/note/index.js';
import { expectCode } from '../../helpers.js';
import { V } from './vectors.js';

const log = ed25519Signer('example.com/log', generateKeyPairSync('ed25519').privateKey);
const logVerifier = parseVerifierKey(formatVerifierKey(log));
const checkpoint = formatCheckpoint({
  origin: 'example.com/log',
  size: 42,
  rootHash: createHash('sha256').update('r').digest(),
});
const witnessKey = generateKeyPairSync('ed25519');
const witness = cosigner('witness.example/w1', witnessKey.privateKey, () => 1_700_000_000_999);
const witnessVerifier = parseVerifierKey(formatVerifierKey(witness));

test('c2sp.org tlog-cosignature: the signed message is the example byte for byte', () => {
  const body = parseNote(V.c2sp.cosignedExample).text;
  assert.equal(
    cosignatureMessage(body, V.c2sp.cosignedExampleTimestamp).toString('utf8'),
    V.c2sp.cosignatureMessageExample,
  );
});

test('c2sp.org tlog-cosignature: the example line frames key id, timestamp and 64 bytes', () => {
  const sig = parseNote(V.c2sp.cosignedExample).signatures[1]!;
  assert.equal(sig.name, 'witness.example.com/w1');
  assert.equal(keyIdHex(sig.keyId), V.c2sp.cosignedExampleKeyId);
  assert.equal(sig.signature.length, 8 + 64);
  assert.equal(cosignatureTimestamp(sig.signature), V.c2sp.cosignedExampleTimestamp);
});

test('transparency-dev/formats: the timestamp of a published cosignature; a plain signature has none', () => {
  const raw = Buffer.from(V.formats.cosignatureTimestamp.base64, 'base64');
  assert.equal(cosignatureTimestamp(raw.subarray(4)), V.formats.cosignatureTimestamp.timestamp);
  assert.equal(
    cosignatureTimestamp(Buffer.from(V.formats.notACosignature, 'base64').subarray(4)),
    undefined,
  );
});

test('a cosignature verifies with the witness verifier key and gives its timestamp', () => {
  assert.equal(witnessVerifier.type, SIG_COSIGNATURE_V1);
  assert.match(formatVerifierKey(witness), /^witness\.example\/w1\+[0-9a-f]{8}\+B/);
  const line = signCosignature(witness, checkpoint, 1_700_000_000);
  assert.match(line, /^— witness\.example\/w1 [A-Za-z0-9+/]{102}==\n$/);
  assert.equal(verifyCosignature(witnessVerifier, checkpoint, line), 1_700_000_000);
  // The clock's time, in whole seconds, through the generic note signer.
  const note = signNote(checkpoint, [log, witness]);
  const opened = openNote(note, [logVerifier, witnessVerifier]);
  assert.deepEqual(
    opened.verified.map((s) => s.name),
    ['example.com/log', 'witness.example/w1'],
  );
  assert.equal(cosignatureTimestamp(opened.verified[1]!.signature), 1_700_000_000);
  // A witness response appended to the log's note verifies as a note (tlog-witness).
  const cosigned = signNote(checkpoint, [log]) + line;
  assert.equal(openNote(cosigned, [witnessVerifier]).verified.length, 1);
});

test('the cosignature covers the timestamp, the text and extension lines; the key type matters', async () => {
  const line = signCosignature(witness, checkpoint, 1_700_000_000);
  const raw = Buffer.from(line.slice(line.lastIndexOf(' ') + 1, -1), 'base64');
  raw.writeBigUInt64BE(1_700_000_001n, 4);
  const forged = `— witness.example/w1 ${raw.toString('base64')}\n`;
  await expectCode('NOTE_SIGNATURE', () => verifyCosignature(witnessVerifier, checkpoint, forged));
  await expectCode('NOTE_SIGNATURE', () =>
    verifyCosignature(witnessVerifier, checkpoint.replace('42', '43'), line),
  );
  const extended = `${checkpoint}ext\n`;
  const extLine = signCosignature(witness, extended, 5);
  assert.equal(verifyCosignature(witnessVerifier, extended, extLine), 5);
  await expectCode('NOTE_SIGNATURE', () =>
    verifyCosignature(witnessVerifier, `${checkpoint}exu\n`, extLine),
  );
  // Another key with the same name: a different key id, so "not from this key".
  const other = cosigner('witness.example/w1', generateKeyPairSync('ed25519').privateKey);
  await expectCode('NOTE_SIGNATURE', () =>
    verifyCosignature(witnessVerifier, checkpoint, signCosignature(other, checkpoint, 1)),
  );
  // The same key as a plain Ed25519 note key has another id: its verifier ignores cosignatures.
  const plain = ed25519Signer('witness.example/w1', witnessKey.privateKey);
  assert.notEqual(plain.keyId, witness.keyId);
  await expectCode('NOTE_SIGNATURE', () =>
    openNote(signNote(checkpoint, [witness]), [parseVerifierKey(formatVerifierKey(plain))]),
  );
  await expectCode('NOTE_KEY_INVALID', () =>
    verifyCosignature(parseVerifierKey(formatVerifierKey(plain)), checkpoint, line),
  );
});

test('malformed cosignature lines and timestamps are refused', async () => {
  const line = signCosignature(witness, checkpoint, 7);
  await expectCode('NOTE_MALFORMED', () =>
    verifyCosignature(witnessVerifier, checkpoint, line.slice(2)),
  );
  const short = `— witness.example/w1 ${Buffer.concat([Buffer.alloc(4), Buffer.alloc(64)]).toString('base64')}`;
  const raw = Buffer.alloc(4 + 64);
  raw.writeUInt32BE(witness.keyId, 0);
  await expectCode('NOTE_MALFORMED', () =>
    verifyCosignature(
      witnessVerifier,
      checkpoint,
      `— witness.example/w1 ${raw.toString('base64')}`,
    ),
  );
  await expectCode('NOTE_SIGNATURE', () => verifyCosignature(witnessVerifier, checkpoint, short));
  const huge = Buffer.alloc(72, 0xff);
  assert.equal(cosignatureTimestamp(huge), undefined);
  await expectCode('NOTE_MALFORMED', () => cosignatureMessage(checkpoint, -1));
  await expectCode('NOTE_MALFORMED', () => cosignatureMessage(checkpoint, 1.5));
});

test('a Go signer key makes a cosigner of the same key (transparency-dev NewSignerForCosignatureV1)', () => {
  const { name, seed } = parseSignerKey(V.go.peterSkey);
  const co = cosigner(name, seed);
  const v = cosignatureVerifier(name, parseVerifierKey(V.go.peterVkey).publicKey);
  assert.equal(co.keyId, v.keyId);
  assert.deepEqual(co.publicKey, v.publicKey);
  assert.equal(verifyCosignature(v, checkpoint, signCosignature(co, checkpoint, 99)), 99);
});
