/**
 * Signed notes, checkpoints and cosignatures of c2sp.org (signed-note, tlog-checkpoint,
 * tlog-cosignature), over node:crypto Ed25519. Pure functions; every parser takes hostile input
 * and throws LogsError NOTE_MALFORMED, NOTE_KEY_INVALID or NOTE_SIGNATURE.
 */
export {
  SIG_COSIGNATURE_V1,
  SIG_ED25519,
  ed25519PrivateKey,
  ed25519PublicKey,
  isValidKeyName,
  keyIdHex,
  noteKeyId,
  rawPublicKey,
  rawSeed,
  type NoteKeyType,
  type NoteSigner,
  type NoteVerifier,
} from './keys.js';
export { ed25519Signer, ed25519Verifier } from './ed25519.js';
export {
  cosignatureMessage,
  cosignatureTimestamp,
  cosignatureVerifier,
  cosigner,
  signCosignature,
  verifyCosignature,
  type Cosigner,
} from './cosignature.js';
export {
  formatSignerKey,
  formatVerifierKey,
  generateNoteKey,
  parseSignerKey,
  parseVerifierKey,
  type ParsedSignerKey,
} from './vkey.js';
export {
  DEFAULT_MAX_NOTE_BYTES,
  DEFAULT_MAX_SIGNATURES,
  formatSignatureLine,
  openNote,
  parseNote,
  parseSignatureLine,
  signNote,
  verifyNote,
  type Note,
  type NoteLimits,
  type NoteSignature,
  type VerifiedNote,
} from './note.js';
export {
  formatCheckpoint,
  parseCheckpoint,
  type Checkpoint,
  type CheckpointInput,
} from './checkpoint.js';
