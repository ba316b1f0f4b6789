import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, generateKeyPairSync } from 'node:crypto';
import { createRequire } from 'node:module';
import {
  ed25519Signer,
  formatCheckpoint,
  parseCheckpoint,
  parseNote,
  signNote,
} from '../../../src/integrity/note/index.js';

/**
 * Interoperability with an independent implementation: sigstore-js (@sigstore/verify) parses
 * and verifies Rekor v2 checkpoints, which are c2sp signed notes (a devDependency, for this
 * test only).
 */
interface SigstoreCheckpoint {
  readonly origin: string;
  readonly logSize: bigint;
  readonly logHash: Buffer;
  readonly rest: string[];
}
type VerifyCheckpoint = (
  entry: { inclusionProof: { checkpoint: { envelope: string } } },
  tlogs: Array<{ logID: Buffer; publicKey: unknown; baseURL: string; validFor: object }>,
) => SigstoreCheckpoint;

// A deep import: the package exports no name for it, but the file is its checkpoint verifier.
const require = createRequire(import.meta.url);
const { verifyCheckpoint } = require('@sigstore/verify/dist/tlog/checkpoint.js') as {
  verifyCheckpoint: VerifyCheckpoint;
};

test('sigstore-js verifies our signed checkpoints and reads the same origin, size and root', () => {
  const verify = verifyCheckpoint;
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const origin = 'log.example.org/dihya';
  const signer = ed25519Signer(origin, privateKey);
  const logID = Buffer.alloc(32);
  logID.writeUInt32BE(signer.keyId, 0); // sigstore matches the key id on the log id's head
  const tlog = { logID, publicKey, baseURL: `https://${origin}`, validFor: {} };
  for (const size of [0, 1, 20852163, Number.MAX_SAFE_INTEGER]) {
    const rootHash = createHash('sha256').update(String(size)).digest();
    const note = signNote(formatCheckpoint({ origin, size, rootHash }), [signer]);
    const theirs = verify({ inclusionProof: { checkpoint: { envelope: note } } }, [tlog]);
    const ours = parseCheckpoint(parseNote(note).text);
    assert.equal(theirs.origin, ours.origin);
    assert.equal(theirs.logSize, BigInt(ours.size));
    assert.deepEqual(Buffer.from(theirs.logHash), ours.rootHash);
    // A note whose text was changed after signing: both refuse it.
    const forged = note.replace(`\n${size}\n`, `\n${size + 1}\n`);
    assert.throws(() => verify({ inclusionProof: { checkpoint: { envelope: forged } } }, [tlog]));
  }
});
