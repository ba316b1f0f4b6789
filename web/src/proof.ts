/**
 * Checks an inclusion proof in the browser (RFC 9162 section 2.1.3.2, WebCrypto SHA-256)
 * against the signed checkpoint the service returned: docs/integrity.md, "Checking a proof".
 * The leaf hash is the record's chain hash (already SHA-256(0x00 || entry)): not hashed again.
 */
export interface InclusionProof {
  channel: string;
  seq: number;
  leaf_index: number;
  tree_size: number;
  leaf_hash: string;
  hashes: string[];
  root: string;
}

export interface Checkpoint {
  channel: string;
  size: number;
  root: string;
  [k: string]: unknown;
}

const HEX = /^[0-9a-f]{64}$/;

function bytes(hex: string): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function hex(buf: ArrayBuffer): string {
  return [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

async function node(left: string, right: string): Promise<string> {
  const data = new Uint8Array(65);
  data[0] = 1;
  data.set(bytes(left), 1);
  data.set(bytes(right), 33);
  return hex(await crypto.subtle.digest('SHA-256', data));
}

const CHECKPOINT_DOMAIN = 'dihya-logs/checkpoint/v1\n';

/**
 * Whether the checkpoint carries a valid Ed25519 signature of `publicKey` (`ed25519:<base64>`):
 * over CHECKPOINT_DOMAIN and the RFC 8785 form of its fields but `sig`. Its fields are ASCII
 * strings, integers, `final: true` and `unproven` (first, last, reason), so sorted keys and
 * JSON.stringify give that form.
 */
export async function checkpointSigned(
  checkpoint: Checkpoint,
  publicKey: string,
): Promise<boolean> {
  const m = /^ed25519:([A-Za-z0-9+/]{43}=)$/.exec(publicKey);
  const sig = checkpoint.sig;
  if (m === null || typeof sig !== 'string') return false;
  // Every field but sig, keys sorted (RFC 8785); `unproven`'s own keys are stored sorted.
  const fields = Object.fromEntries(
    Object.entries(checkpoint)
      .filter(([k, v]) => k !== 'sig' && v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : 1)),
  );
  const text = CHECKPOINT_DOMAIN + JSON.stringify(fields);
  const raw = Uint8Array.from(atob(m[1] ?? ''), (c) => c.charCodeAt(0));
  const key = await crypto.subtle.importKey('raw', raw, { name: 'Ed25519' }, false, ['verify']);
  let signature: Uint8Array<ArrayBuffer>;
  try {
    signature = Uint8Array.from(atob(sig), (c) => c.charCodeAt(0));
  } catch {
    return false;
  }
  return crypto.subtle.verify({ name: 'Ed25519' }, key, signature, new TextEncoder().encode(text));
}

/** Why a proof failed: a key of the catalogue (i18n.ts), shown in the page's language. */
export type ProofFailure =
  | 'proofNoCheckpoint'
  | 'proofBadSignature'
  | 'proofBadSizes'
  | 'proofLeafIndex'
  | 'proofMalformed'
  | 'proofOtherRecord'
  | 'proofOtherCheckpoint'
  | 'proofTooLong'
  | 'proofWrongRoot';

/** `{ ok: true }`, or why not. Parses defensively: the proof is outside input. */
export async function verifyInclusion(
  proof: InclusionProof,
  checkpoint: Checkpoint | null,
  recordHash: string,
  publicKey: string,
): Promise<{ ok: boolean; reason?: ProofFailure }> {
  if (checkpoint === null) return { ok: false, reason: 'proofNoCheckpoint' };
  if (!(await checkpointSigned(checkpoint, publicKey)))
    return { ok: false, reason: 'proofBadSignature' };
  const { leaf_index: index, tree_size: size, hashes } = proof;
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size)
    return { ok: false, reason: 'proofBadSizes' };
  if (index !== proof.seq - 1) return { ok: false, reason: 'proofLeafIndex' };
  if (
    !Array.isArray(hashes) ||
    hashes.length > 64 ||
    ![proof.leaf_hash, ...hashes].every((x) => HEX.test(x))
  )
    return { ok: false, reason: 'proofMalformed' };
  if (proof.leaf_hash !== recordHash) return { ok: false, reason: 'proofOtherRecord' };
  if (checkpoint.channel !== proof.channel || checkpoint.size !== size)
    return { ok: false, reason: 'proofOtherCheckpoint' };
  let fn = index;
  let sn = size - 1;
  let r = proof.leaf_hash;
  for (const p of hashes) {
    if (sn === 0) return { ok: false, reason: 'proofTooLong' };
    if (fn % 2 === 1 || fn === sn) {
      r = await node(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else r = await node(r, p);
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0 || r !== checkpoint.root) return { ok: false, reason: 'proofWrongRoot' };
  return { ok: true };
}
