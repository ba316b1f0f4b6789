import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import fc from 'fast-check';
import {
  SIG_COSIGNATURE_V1,
  SIG_ED25519,
  cosignatureVerifier,
  ed25519Signer,
  ed25519Verifier,
  formatSignerKey,
  formatVerifierKey,
  generateNoteKey,
  isValidKeyName,
  keyIdHex,
  noteKeyId,
  parseSignerKey,
  parseVerifierKey,
  rawPublicKey,
  rawSeed,
} from '../../../src/integrity/note/index.js';
import { LogsError } from '../../../src/errors.js';
import { expectCode } from '../../helpers.js';
import { V } from './vectors.js';

function refused(fn: () => unknown): boolean {
  try {
    fn();
    return false;
  } catch (err) {
    if (!(err instanceof LogsError)) throw err; // never a raw TypeError or RangeError
    return err.code === 'NOTE_KEY_INVALID';
  }
}

test('Go x/mod note: the published verifier and signer keys parse, with the same key id', () => {
  const v = parseVerifierKey(V.go.peterVkey);
  const s = parseSignerKey(V.go.peterSkey);
  assert.equal(v.name, 'PeterNeumann');
  assert.equal(keyIdHex(v.keyId), 'c74f20a3');
  assert.equal(v.type, SIG_ED25519);
  assert.equal(s.signer.keyId, v.keyId);
  assert.deepEqual(s.signer.publicKey, v.publicKey);
  // Formatting them again gives the published texts byte for byte.
  assert.equal(formatVerifierKey(v), V.go.peterVkey);
  assert.equal(formatSignerKey(s.name, s.seed), V.go.peterSkey);
  assert.equal(keyIdHex(parseVerifierKey(V.go.enochVkey).keyId), 'af0cfe78');
});

test('Go x/mod note: every substring and every one-byte change of the keys is refused', () => {
  for (const [key, parse] of [
    [V.go.peterVkey, parseVerifierKey],
    [V.go.peterSkey, parseSignerKey],
  ] as const) {
    for (let i = 0; i <= key.length; i++)
      for (let j = i + 1; j <= key.length; j++)
        if (i !== 0 || j !== key.length)
          assert.ok(
            refused(() => parse(key.slice(i, j))),
            `substring ${i}..${j} of ${key.slice(0, 12)}`,
          );
    for (let i = 0; i < key.length; i++) {
      const changed =
        key.slice(0, i) + String.fromCharCode(key.charCodeAt(i) + 1) + key.slice(i + 1);
      assert.ok(
        refused(() => parse(changed)),
        `byte ${i} changed`,
      );
    }
  }
  for (const bad of V.go.badVkeys)
    assert.ok(
      refused(() => parseVerifierKey(bad)),
      bad,
    );
});

test('c2sp.org signed-note: the example verifier key parses', () => {
  const v = parseVerifierKey(V.c2sp.vkeyExample);
  assert.equal(v.name, 'example.com/foo');
  assert.equal(keyIdHex(v.keyId), '530d903a');
  assert.equal(formatVerifierKey(v), V.c2sp.vkeyExample);
});

test('transparency-dev/formats: an Ed25519 cosigner (0x04) vkey and an Ed25519 (0x01) vkey parse', () => {
  for (const k of V.formats.cosignerVkeys) {
    const v = parseVerifierKey(k);
    assert.equal(v.type, SIG_COSIGNATURE_V1);
    assert.equal(formatVerifierKey(v), k);
  }
  for (const k of V.formats.ed25519Vkeys) assert.equal(parseVerifierKey(k).type, SIG_ED25519);
  for (const k of V.formats.badVkeys)
    assert.ok(
      refused(() => parseVerifierKey(k)),
      k,
    );
});

test('key ids: SHA-256(name || 0x0A || type || key)[:4]; the type byte separates cosigners', () => {
  const v = parseVerifierKey(V.go.peterVkey);
  assert.equal(noteKeyId('PeterNeumann', 1, v.publicKey), 0xc74f20a3);
  const co = cosignatureVerifier('PeterNeumann', v.publicKey);
  assert.notEqual(co.keyId, v.keyId);
  assert.equal(co.keyId, noteKeyId('PeterNeumann', 4, v.publicKey));
  assert.match(formatVerifierKey(co), /^PeterNeumann\+[0-9a-f]{8}\+BBpc2QcUPDhMQ/);
});

test('key names: non-empty, no space of any kind, no plus, no control character', () => {
  for (const ok of ['example.com/log', 'PeterNeumann', 'é', 'oid/1.3.6.1.4.1'])
    assert.ok(isValidKeyName(ok), ok);
  for (const bad of [
    '',
    'a b',
    'a+b',
    'a\tb',
    'a\u00a0b',
    'a\u0085b',
    'a\u3000b',
    'a\u0001b',
    '\ud800',
    'x'.repeat(256),
  ])
    assert.ok(!isValidKeyName(bad), JSON.stringify(bad));
  assert.ok(refused(() => generateNoteKey('bad name')));
});

test('generated keys round-trip through text, KeyObject and raw bytes', () => {
  const { skey, vkey } = generateNoteKey('example.org/w1');
  const s = parseSignerKey(skey);
  const v = parseVerifierKey(vkey);
  assert.equal(s.signer.keyId, v.keyId);
  const msg = Buffer.from('hello\n');
  assert.ok(v.verify(msg, s.signer.sign(msg)));
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const signer = ed25519Signer('k', privateKey);
  assert.deepEqual(signer.publicKey, rawPublicKey(publicKey));
  assert.equal(ed25519Signer('k', rawSeed(privateKey)).keyId, signer.keyId);
  assert.equal(ed25519Verifier('k', publicKey).keyId, signer.keyId);
  assert.equal(ed25519Verifier('k', rawPublicKey(publicKey)).keyId, signer.keyId);
  assert.equal(parseSignerKey(formatSignerKey('k', privateKey)).signer.keyId, signer.keyId);
});

test('a corrupt signature or message does not verify (Go testSignerAndVerifier)', () => {
  const { signer } = parseSignerKey(V.go.peterSkey);
  const v = parseVerifierKey(V.go.peterVkey);
  const msg = Buffer.from('hi');
  const sig = signer.sign(msg);
  assert.ok(v.verify(msg, sig));
  sig[0]! += 1;
  assert.ok(!v.verify(msg, sig));
  sig[0]! -= 1;
  assert.ok(!v.verify(Buffer.from('hj'), sig));
  assert.ok(!v.verify(msg, sig.subarray(1)));
});

test('wrong key types and sizes are NOTE_KEY_INVALID, not TypeError', async () => {
  const { publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  await expectCode('NOTE_KEY_INVALID', () => ed25519Verifier('k', publicKey));
  await expectCode('NOTE_KEY_INVALID', () => ed25519Verifier('k', Buffer.alloc(31)));
  await expectCode('NOTE_KEY_INVALID', () => ed25519Signer('k', Buffer.alloc(33)));
  const ed = generateKeyPairSync('ed25519');
  await expectCode('NOTE_KEY_INVALID', () => ed25519Signer('k', ed.publicKey));
  // A signer key of the cosignature type is not a Go signer key.
  const seed = rawSeed(ed.privateKey);
  const id = keyIdHex(noteKeyId('k', 4, rawPublicKey(ed.publicKey)));
  await expectCode('NOTE_KEY_INVALID', () =>
    parseSignerKey(`PRIVATE+KEY+k+${id}+${Buffer.concat([Buffer.of(4), seed]).toString('base64')}`),
  );
});

test('property: any text is either a valid verifier key or NOTE_KEY_INVALID', () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 120 }), (s) => {
      try {
        parseVerifierKey(s);
      } catch (err) {
        assert.ok(err instanceof LogsError && err.code === 'NOTE_KEY_INVALID');
      }
      try {
        parseSignerKey(`PRIVATE+KEY+${s}`);
      } catch (err) {
        assert.ok(err instanceof LogsError && err.code === 'NOTE_KEY_INVALID');
      }
    }),
  );
});
