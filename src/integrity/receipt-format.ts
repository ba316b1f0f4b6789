import { isHex64, sha256Hex } from '../crypto/hash.js';
import { LogsError } from '../errors.js';
import { isChannelName } from '../event/channels.js';
import { HASH_SUFFIX_BYTES, lineHash } from './chain.js';
import { parseCheckpoint, parseNote, parseSignatureLine } from './note/index.js';
import type { InclusionProof } from './proofs.js';

/**
 * Offline receipts, their format: one record's inclusion in a channel's tree, as a c2sp.org/tlog-proof
 * document that anyone can check with the log's public key (and witnesses' keys) alone.
 *
 *   c2sp.org/tlog-proof@v1
 *   extra <base64 of the JSON {"v":"dihya-logs/receipt/v1","channel","seq","leaf_hash","prev_hash",...}>
 *   index <seq - 1>
 *   <audit path, base64, one hash a line>
 *   <empty line>
 *   <the signed checkpoint note, with its cosignature lines>
 *
 * The extra data is what the spec leaves to the application: which record it is and what it
 * takes to recompute its leaf (the previous chain hash, optionally the stored line). None of it
 * is trusted: every field is bound to the signed root by the checks of verifyReceipt.
 */

export const RECEIPT_HEADER = 'c2sp.org/tlog-proof@v1';
export const RECEIPT_VERSION = 'dihya-logs/receipt/v1';
/** A receipt is at most this many bytes (a 1 MiB record line, base64, and a 1 MiB note). */
export const MAX_RECEIPT_BYTES = 4 * 1024 * 1024;
// A tree of 2^53 leaves has paths of 53 hashes.
const MAX_PATH = 64;
const MAX_VKEY = 1024;
const MAX_LINE = 2 * 1024 * 1024;

/** A parsed receipt. Nothing in it is trusted until verifyReceipt says so. */
export interface Receipt {
  readonly channel: string;
  readonly seq: number;
  /** seq - 1, the leaf's index. */
  readonly index: number;
  /** The record's chain hash (hex): its RFC 9162 leaf hash. */
  readonly leafHash: string;
  /** The chain hash before it (hex): with the stored line, it gives leafHash. */
  readonly prevHash: string;
  /** The audit path (hex), leaf side first. */
  readonly hashes: readonly string[];
  /** The signed checkpoint note, cosignature lines included. */
  readonly note: string;
  /** The log's verifier key as the receipt states it: informative, never used to verify. */
  readonly logVkey?: string;
  /** The record's stored line (without newline), when the receipt carries it. */
  readonly line?: string;
}

export interface MakeReceiptInput {
  readonly proof: InclusionProof;
  /** The checkpoint's signed note (checkpointNote), of the proof's size and root. */
  readonly note: string;
  /** Cosignature lines of that checkpoint (newline optional), appended to the note. */
  readonly cosignatures?: readonly string[];
  readonly logVkey?: string;
  /** The record's stored line, without its newline. */
  readonly line?: string;
}

/** The receipt text of an inclusion proof and the signed checkpoint of its size. */
export function makeReceipt(input: MakeReceiptInput): string {
  const p = input.proof;
  const usage = (why: string): LogsError => new LogsError('USAGE', `receipt: ${why}`);
  if (
    !isChannelName(p.channel) ||
    !isSeq(p.seq) ||
    p.leaf_index !== p.seq - 1 ||
    !isSeq(p.tree_size) ||
    p.seq > p.tree_size ||
    !isHex64(p.leaf_hash) ||
    !isHex64(p.prev_hash) ||
    !isHex64(p.root) ||
    p.hashes.length > MAX_PATH ||
    !p.hashes.every(isHex64)
  )
    throw usage('the inclusion proof is malformed');
  const note = parseNote(input.note);
  const cp = parseCheckpoint(note.text);
  if (cp.size !== p.tree_size || cp.rootHash.toString('hex') !== p.root)
    throw new LogsError(
      'INTEGRITY_STATE',
      `receipt: the checkpoint of ${p.channel} at ${cp.size} is not the tree the proof is of`,
    );
  if (!cp.origin.endsWith(`/${p.channel}`)) throw usage('the checkpoint is of another channel');
  let signed = input.note;
  const present = new Set(note.signatures.map((s) => `${s.name} ${s.base64}`));
  for (const raw of input.cosignatures ?? []) {
    const s = parseSignatureLine(raw.endsWith('\n') ? raw.slice(0, -1) : raw);
    const key = `${s.name} ${s.base64}`;
    if (!present.has(key)) signed += `\u2014 ${key}\n`;
    present.add(key);
  }
  if (input.line !== undefined && leafOfLine(p.prev_hash, input.line) !== p.leaf_hash)
    throw usage('the line is not the record whose hash is leaf_hash');
  if (input.logVkey !== undefined && input.logVkey.length > MAX_VKEY)
    throw usage('the verifier key is too long');
  const extra = {
    v: RECEIPT_VERSION,
    channel: p.channel,
    seq: p.seq,
    leaf_hash: p.leaf_hash,
    prev_hash: p.prev_hash,
    ...(input.logVkey === undefined ? {} : { log_vkey: input.logVkey }),
    ...(input.line === undefined ? {} : { line: input.line }),
  };
  const path = p.hashes.map((h) => `${Buffer.from(h, 'hex').toString('base64')}\n`).join('');
  const extraB64 = Buffer.from(JSON.stringify(extra), 'utf8').toString('base64');
  return `${RECEIPT_HEADER}\nextra ${extraB64}\nindex ${p.leaf_index}\n${path}\n${signed}`;
}

/**
 * Parse a receipt strictly (it is attacker-controlled): bounded, every line in its one form.
 * RECEIPT_INVALID when it is not one; the note inside is parsed by verifyReceipt.
 */
export function parseReceipt(input: string | Uint8Array): Receipt {
  const bytes = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.length;
  if (bytes > MAX_RECEIPT_BYTES) throw invalid(`it is over ${MAX_RECEIPT_BYTES} bytes`);
  const text = typeof input === 'string' ? input : utf8(input);
  if (text === undefined || !text.isWellFormed()) throw invalid('it is not UTF-8 text');
  let pos = 0;
  const next = (): string => {
    const nl = text.indexOf('\n', pos);
    if (nl < 0) throw invalid('it ends before its checkpoint');
    const line = text.slice(pos, nl);
    pos = nl + 1;
    return line;
  };
  if (next() !== RECEIPT_HEADER) throw invalid(`its first line is not ${RECEIPT_HEADER}`);
  let line = next();
  let extra: Buffer | undefined;
  if (line.startsWith('extra ')) {
    extra = base64(line.slice(6));
    if (extra === undefined) throw invalid('its extra data is not base64');
    line = next();
  }
  const index = /^index (0|[1-9]\d{0,15})$/.exec(line)?.[1];
  if (index === undefined || !Number.isSafeInteger(Number(index)))
    throw invalid('it has no "index N" line');
  const hashes: string[] = [];
  for (line = next(); line !== ''; line = next()) {
    const h = base64(line);
    if (h?.length !== 32) throw invalid('an audit path line is not base64 of 32 bytes');
    if (hashes.length === MAX_PATH) throw invalid('its audit path is too long');
    hashes.push(h.toString('hex'));
  }
  const note = text.slice(pos);
  if (note === '') throw invalid('it has no checkpoint');
  if (extra === undefined) throw invalid('it has no dihya-logs extra data');
  const x = extraData(extra);
  if (x.seq !== Number(index) + 1) throw invalid('its index is not seq - 1');
  return Object.freeze({
    channel: x.channel,
    seq: x.seq,
    index: Number(index),
    leafHash: x.leaf_hash,
    prevHash: x.prev_hash,
    hashes: Object.freeze(hashes),
    note,
    ...(x.log_vkey === undefined ? {} : { logVkey: x.log_vkey }),
    ...(x.line === undefined ? {} : { line: x.line }),
  });
}

/**
 * hash_n of a stored line: SHA-256(0x00 || prev || the line without its `,"hash":"..."` field,
 * closed with `}`); undefined when the line does not end with that field holding that hash.
 */
export function leafOfLine(prevHex: string, line: string | Uint8Array): string | undefined {
  let bytes = Buffer.from(line);
  if (bytes.at(-1) === 0x0a) bytes = bytes.subarray(0, -1);
  const stored = lineHash(bytes);
  if (stored === undefined) return undefined;
  const body = bytes.subarray(0, bytes.length - HASH_SUFFIX_BYTES);
  const leaf = sha256Hex(
    Buffer.concat([Buffer.of(0), Buffer.from(prevHex, 'hex'), body, Buffer.of(0x7d)]),
  );
  // The line must also carry that hash: then it is the stored line byte for byte.
  return stored === leaf ? leaf : undefined;
}

interface ExtraData {
  readonly channel: string;
  readonly seq: number;
  readonly leaf_hash: string;
  readonly prev_hash: string;
  readonly log_vkey?: string;
  readonly line?: string;
}

function extraData(bytes: Buffer): ExtraData {
  const text = utf8(bytes);
  let v: unknown;
  try {
    v = text === undefined ? undefined : JSON.parse(text);
  } catch {
    v = undefined;
  }
  const x = v as Partial<Record<keyof ExtraData | 'v', unknown>> | null | undefined;
  if (typeof x !== 'object' || x === null || x.v !== RECEIPT_VERSION)
    throw invalid(`its extra data is not ${RECEIPT_VERSION} JSON`);
  const ok =
    isChannelName(x.channel) &&
    isSeq(x.seq) &&
    isHex64(x.leaf_hash) &&
    isHex64(x.prev_hash) &&
    (x.log_vkey === undefined ||
      (typeof x.log_vkey === 'string' && x.log_vkey.length <= MAX_VKEY)) &&
    (x.line === undefined || (typeof x.line === 'string' && x.line.length <= MAX_LINE));
  if (!ok) throw invalid('its extra data lacks a field or has one of the wrong form');
  return x as ExtraData;
}

function isSeq(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 1;
}

const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function utf8(bytes: Uint8Array): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

/** Standard padded base64, in its one canonical spelling, or undefined. */
function base64(text: string): Buffer | undefined {
  const bytes = Buffer.from(text, 'base64');
  return text !== '' && bytes.toString('base64') === text ? bytes : undefined;
}

function invalid(why: string): LogsError {
  return new LogsError('RECEIPT_INVALID', `not a receipt: ${why}`);
}
