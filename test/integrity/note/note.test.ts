import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import {
  generateNoteKey,
  openNote,
  parseNote,
  parseSignerKey,
  parseVerifierKey,
  signNote,
  verifyNote,
} from '../../../src/integrity/note/index.js';
import { LogsError, isLogsError } from '../../../src/errors.js';
import { expectCode } from '../../helpers.js';
import { V } from './vectors.js';

const { text, peterSig, enochSig } = V.go;
const peter = parseVerifierKey(V.go.peterVkey);
const enoch = parseVerifierKey(V.go.enochVkey);
const peterSigner = parseSignerKey(V.go.peterSkey).signer;
const b64 = (line: string): string => line.slice(line.lastIndexOf(' ') + 1, -1);

test('Go x/mod note TestSign: the signed note is byte for byte the published one', async () => {
  assert.equal(signNote(text, [peterSigner]), V.go.signed);
  // A signature of the same key already there is replaced, not repeated.
  const stale = parseNote(
    `${text}\n— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAA=\n`,
  );
  assert.equal(signNote(text, [peterSigner], stale.signatures), V.go.signed);
  await expectCode('NOTE_MALFORMED', () => signNote('abc', [peterSigner]));
  await expectCode('NOTE_MALFORMED', () => signNote('a\u0001\n', [peterSigner]));
});

test('Go x/mod note TestOpen: one verified and one unverified signature', () => {
  const n = openNote(`${text}\n${peterSig}${enochSig}`, [peter]);
  assert.equal(n.text, text);
  assert.deepEqual(
    n.verified.map((s) => [s.name, s.keyId, s.base64]),
    [['PeterNeumann', 0xc74f20a3, b64(peterSig)]],
  );
  assert.equal(n.verified[0]!.verifier, peter);
  assert.deepEqual(
    n.unverified.map((s) => [s.name, s.keyId, s.base64]),
    [['EnochRoot', 0xaf0cfe78, b64(enochSig)]],
  );
  const both = openNote(`${text}\n${peterSig}${enochSig}`, [peter, enoch]);
  assert.deepEqual(
    both.verified.map((s) => s.name),
    ['PeterNeumann', 'EnochRoot'],
  );
  assert.equal(both.unverified.length, 0);
});

test('Go x/mod note TestOpen: no known signer, invalid signature, ambiguous keys', async () => {
  const none = await expectCode('NOTE_SIGNATURE', () =>
    openNote(`${text}\n${peterSig}${enochSig}`, []),
  );
  assert.match(none.message, /no signature from a trusted key/);
  assert.equal(parseNote(`${text}\n${peterSig}${enochSig}`).signatures.length, 2);
  const bad = `${text}\n${peterSig.slice(0, 60)}ABCD${peterSig.slice(60)}`;
  const e = await expectCode('NOTE_SIGNATURE', () => openNote(bad, [peter]));
  assert.equal(e.message, 'invalid signature for key PeterNeumann+c74f20a3');
  const amb = await expectCode('NOTE_KEY_INVALID', () =>
    openNote(`${text}\n${enochSig}`, [enoch, peter, enoch]),
  );
  assert.equal(amb.message, 'ambiguous key EnochRoot+af0cfe78');
  // An unused duplicate does not matter.
  assert.equal(openNote(`${text}\n${peterSig}`, [enoch, peter, enoch]).verified.length, 1);
});

test('Go x/mod note TestOpen: repeated lines are dropped, distinct unknown ones kept', () => {
  const enochABCD = `${enochSig.slice(0, 60)}ABCD${enochSig.slice(60)}`;
  const n = openNote(`${text}\n${peterSig}${peterSig}${enochSig}${enochSig}${enochABCD}`, [peter]);
  assert.deepEqual(
    n.verified.map((s) => s.name),
    ['PeterNeumann'],
  );
  assert.deepEqual(
    n.unverified.map((s) => s.base64),
    [b64(enochSig), b64(enochABCD)],
  );
});

test('Go x/mod note TestOpen: more than 100 signatures and malformed notes are NOTE_MALFORMED', async () => {
  for (const keys of [[peter], []])
    await expectCode('NOTE_MALFORMED', () => openNote(`${text}\n${peterSig.repeat(101)}`, keys));
  const badMsgs = [
    text,
    `${text}\n`,
    `${text}\n${peterSig.slice(0, -1)}`,
    `\u0001${text}\n${peterSig}`,
    `${text}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=`,
    `${text}\n${peterSig}Unexpected line.\n`,
  ];
  for (const msg of badMsgs) await expectCode('NOTE_MALFORMED', () => openNote(msg, [peter]));
  // "\xff" + text: not UTF-8.
  const bytes = Buffer.concat([Buffer.of(0xff), Buffer.from(`${text}\n${peterSig}`)]);
  await expectCode('NOTE_MALFORMED', () => openNote(bytes, [peter]));
});

test('strict parsing: base64, names, prefix, size, CR, BOM', async () => {
  const sig = b64(peterSig);
  const bad = [
    `${text}\n— PeterNeumann ${sig.slice(0, -1)}\n`, // padding cut
    `${text}\n— PeterNeumann ${sig} \n`, // trailing space
    `${text}\n— PeterNeumann  ${sig}\n`, // two spaces
    `${text}\n-- PeterNeumann ${sig}\n`, // not an em dash
    `${text}\n—PeterNeumann ${sig}\n`,
    `${text}\n— PeterNeumann\n`,
    `${text}\n— PeterNeumann AAAAAA==\n`, // under 5 bytes
    `${text}\n— Peter+Neumann ${sig}\n`,
    `${text}\n${peterSig}\n`, // an empty line among signatures
    `${text}\r\n${peterSig}`,
  ];
  for (const msg of bad) await expectCode('NOTE_MALFORMED', () => parseNote(msg));
  await expectCode('NOTE_MALFORMED', () => parseNote(`${text}\n${peterSig}`, { maxBytes: 100 }));
  await expectCode('NOTE_MALFORMED', () =>
    parseNote(`${text}\n${peterSig.repeat(3)}`, { maxSignatures: 2 }),
  );
  // A BOM is text, not stripped: it changes what was signed.
  await expectCode('NOTE_SIGNATURE', () =>
    openNote(Buffer.from(`\ufeff${text}\n${peterSig}`), [peter]),
  );
  assert.equal(openNote(Buffer.from(V.go.signed), [peter]).text, text);
});

test('the text may hold empty lines: the last empty line separates the signatures', () => {
  const key = generateNoteKey('example.org/k');
  const signer = parseSignerKey(key.skey).signer;
  for (const t of ['a\n\nb\n', '\n', 'a\n\n\n', 'è\n']) {
    const n = openNote(signNote(t, [signer]), [parseVerifierKey(key.vkey)]);
    assert.equal(n.text, t);
  }
});

test('c2sp.org signed-note: the examples parse, and the verifier key example verifies', () => {
  const v = parseVerifierKey(V.c2sp.vkeyExample);
  const n = openNote(V.c2sp.vkeyExampleNote, [v]);
  assert.equal(n.text, 'This is an example message.\n');
  const f = parseNote(V.c2sp.formatExampleNote);
  assert.equal(
    f.text,
    'Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned è subito sera.\n',
  );
  assert.deepEqual(
    [f.signatures[0]!.name, f.signatures[0]!.signature.length],
    ['quasimodo.example/salvatore', 64],
  );
  // Its key is not published: unknown, so the note is not trusted.
  assert.throws(
    () => verifyNote(f, [v]),
    (e: unknown) => e instanceof LogsError && e.code === 'NOTE_SIGNATURE',
  );
});

test('property: signed notes round-trip; any other byte string is a LogsError, never a crash', () => {
  const key = generateNoteKey('example.org/p');
  const signer = parseSignerKey(key.skey).signer;
  const verifier = parseVerifierKey(key.vkey);
  const line = fc.string({ maxLength: 20 }).filter(printable);
  fc.assert(
    fc.property(fc.array(line, { maxLength: 5 }), (lines) => {
      let t = lines.join('\n');
      while (t.endsWith('\n')) t = t.slice(0, -1);
      t += '\n'; // empty lines inside are fine; the text ends with exactly one newline
      const n = openNote(signNote(t, [signer]), [verifier]);
      assert.equal(n.text, t);
    }),
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.nat(200), (noise, at) => {
      const base = Buffer.from(V.go.signed);
      const mutated = Buffer.concat([
        base.subarray(0, at),
        noise,
        base.subarray(at + noise.length),
      ]);
      try {
        openNote(mutated, [peter]);
      } catch (err) {
        assert.ok(isLogsError(err), String(err));
        assert.ok(['NOTE_MALFORMED', 'NOTE_SIGNATURE'].includes(err.code), err.code);
      }
    }),
  );
});

/** No control character (the generators' strings stay single lines of note text). */
function printable(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) < 0x20) return false;
  return s.isWellFormed();
}
