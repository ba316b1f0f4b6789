import { createCipheriv, createDecipheriv } from 'node:crypto';
import { nonce } from './pii-cipher.js';

/**
 * Encrypted channels: a record's body (every field but seq, ts, level, channel and hash) stored
 * as AES-256-GCM ciphertext under the channel's key. The stored record is
 *
 *   {"body":{"ct":"<base64 nonce||ciphertext||tag>","k":<key id>},"channel":…,"level":…,"seq":…,"ts":…,"hash":…}
 *
 * and the plaintext is the record's whole canonical text (seq, ts, level and channel included),
 * so opening it checks that the readable fields are the ones it was sealed with. The chain hash
 * covers the stored form: `verify` needs no key, and a flipped ciphertext byte breaks the chain.
 * The additional data binds the ciphertext to the log, the channel and the key id.
 */

/** One key of a channel: keys are numbered from 1 per channel; the highest is the current one. */
export interface ChannelKey {
  readonly id: number;
  readonly key: Uint8Array;
}

/** Channel keys of a log, for readers (unwrapped with the master key). */
export interface ChannelKeyring {
  readonly logId: string;
  /** Every key, as plain data (for a worker thread). */
  readonly keys: ChannelKeyList;
  key(channel: string, id: number): Uint8Array | undefined;
}

/** Every key of a keyring's channels, as plain data for a worker thread. */
export type ChannelKeyList = ReadonlyArray<readonly [channel: string, id: number, key: Uint8Array]>;

export function keyringOf(logId: string, keys: ChannelKeyList): ChannelKeyring {
  const map = new Map<string, Uint8Array>();
  for (const [channel, id, key] of keys) map.set(`${channel}\0${id}`, key);
  return { logId, keys, key: (channel, id) => map.get(`${channel}\0${id}`) };
}

function aad(logId: string, channel: string, id: number): Buffer {
  return Buffer.from(`dihya-logs/body/v1\0${logId}\0${channel}\0${id}`, 'utf8');
}

/**
 * The stored canonical text (without hash) of a record whose canonical text is `inner`.
 * `channel` and `level` are plain names (letters, digits, `_`, `-`): no escaping needed.
 */
export function sealBody(
  key: ChannelKey,
  logId: string,
  channel: string,
  level: string,
  seq: number,
  ts: string,
  inner: string,
): string {
  const iv = nonce();
  const cipher = createCipheriv('aes-256-gcm', key.key, iv);
  cipher.setAAD(aad(logId, channel, key.id));
  const ct = Buffer.concat([
    iv,
    cipher.update(inner, 'utf8'),
    cipher.final(),
    cipher.getAuthTag(),
  ]).toString('base64');
  return `{"body":{"ct":"${ct}","k":${key.id}},"channel":"${channel}","level":"${level}","seq":${seq},"ts":"${ts}"}`;
}

/** The level of a prepared record: the last `"level":"` of its head (see prepareFields). */
export function levelOfHead(pre: string): string {
  // In `pre`, only msg and outcome follow the level: a string (its quotes escaped) and a fixed
  // word, so the last occurrence is the record's own (data, before it, may hold a "level" key).
  const at = pre.lastIndexOf('"level":"') + 9;
  return pre.slice(at, pre.indexOf('"', at));
}

/** Whether a stored record is an encrypted one (has a body). */
export function isSealedRecord(r: Record<string, unknown>): boolean {
  return Object.hasOwn(r, 'body');
}

/**
 * What opening a stored record gave: the record with its fields (and its stored `hash`), or why
 * not: `locked` (no key for it here), `damaged` (the ciphertext does not open under its key, or
 * opens to a record whose seq, ts, level or channel differ from the readable ones).
 */
export type Opened =
  | { readonly ok: true; readonly record: Record<string, unknown> }
  | { readonly ok: false; readonly why: 'locked' | 'damaged'; readonly keyId: number | undefined };

export function openBody(r: Record<string, unknown>, ring: ChannelKeyring | undefined): Opened {
  const body = r.body as { ct?: unknown; k?: unknown } | null;
  const keyId = typeof body?.k === 'number' && Number.isSafeInteger(body.k) ? body.k : undefined;
  if (typeof r.channel !== 'string' || typeof body?.ct !== 'string' || keyId === undefined) {
    return { ok: false, why: 'damaged', keyId };
  }
  const key = ring?.key(r.channel, keyId);
  if (ring === undefined || key === undefined) return { ok: false, why: 'locked', keyId };
  const raw = Buffer.from(body.ct, 'base64');
  if (raw.length < 28) return { ok: false, why: 'damaged', keyId };
  let inner: unknown;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, raw.subarray(0, 12));
    decipher.setAAD(aad(ring.logId, r.channel, keyId));
    decipher.setAuthTag(raw.subarray(raw.length - 16));
    const plain = Buffer.concat([
      decipher.update(raw.subarray(12, raw.length - 16)),
      decipher.final(),
    ]);
    inner = JSON.parse(plain.toString('utf8'));
  } catch {
    return { ok: false, why: 'damaged', keyId };
  }
  if (typeof inner !== 'object' || inner === null || Array.isArray(inner)) {
    return { ok: false, why: 'damaged', keyId };
  }
  const rec = inner as Record<string, unknown>;
  for (const f of ['seq', 'ts', 'level', 'channel'] as const) {
    if (rec[f] !== r[f]) return { ok: false, why: 'damaged', keyId };
  }
  return { ok: true, record: { ...rec, hash: r.hash } };
}

/**
 * A stored record as a reader shows it: opened when it is encrypted and a key is at hand, else
 * as stored (an encrypted one then shows only its readable fields and its ciphertext).
 */
export function openIfSealed(
  r: Record<string, unknown>,
  ring: ChannelKeyring | undefined,
): { record: Record<string, unknown>; damaged: boolean } {
  if (!isSealedRecord(r)) return { record: r, damaged: false };
  const o = openBody(r, ring);
  if (o.ok) return { record: o.record, damaged: false };
  return { record: r, damaged: o.why === 'damaged' };
}
