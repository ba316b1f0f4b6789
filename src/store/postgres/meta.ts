/**
 * The identity of a log kept in PostgreSQL (`dl_meta`): its id, its public key, and its signing
 * key wrapped by the master key. Made by the first instance that opens an empty schema (under
 * an advisory lock, with every configured channel signed empty, as `init` does for a
 * directory); every later instance unwraps the same key, so all sign as one log.
 */
import { createPublicKey, randomBytes, type KeyObject } from 'node:crypto';
import type pg from 'pg';
import { LogsError } from '../../errors.js';
import { open, seal, type Sealed } from '../../crypto/aead.js';
import {
  exportPrivateKey,
  generateSigningKeyPair,
  importPrivateKey,
  keyId,
  publicKeyText,
} from '../../crypto/sign.js';
import { chainGenesis } from '../../integrity/chain.js';
import { CompactRange } from '../../integrity/merkle.js';
import { transaction } from './pool.js';
import { appendCheckpoints, type Signer } from './signed-logs.js';

const INIT_LOCK = 0x646c_696e; // 'dlin'

export interface PgLogIdentity extends Signer {
  readonly publicKey: string;
}

function aad(logId: string): string {
  return `dihya-logs/signing-key/v1\0${logId}`;
}

/**
 * The log's identity, made when the schema holds none; and a head row, a tree row and a signed
 * empty checkpoint for every channel that has none yet. One transaction: instances opening
 * together see either nothing or all of it.
 */
export async function ensureLog(
  client: pg.ClientBase,
  masterKey: Buffer,
  channels: readonly string[],
): Promise<PgLogIdentity> {
  return transaction(client, async () => {
    await client.query('SELECT pg_advisory_xact_lock(hashtext(current_schema()), $1)', [INIT_LOCK]);
    const identity =
      (await readIdentity(client, masterKey)) ?? (await newIdentity(client, masterKey));
    const have = await client.query<{ channel: string }>('SELECT channel FROM dl_heads');
    const known = new Set(have.rows.map((r) => r.channel));
    const added = channels.filter((c) => !known.has(c));
    const empty = new CompactRange().root();
    const now = new Date().toISOString();
    for (const channel of added) {
      const genesis = chainGenesis(identity.logId, channel);
      await client.query(
        'INSERT INTO dl_heads (channel, seq, hash, last_ts) VALUES ($1, 0, $2, $3)',
        [channel, genesis, ''],
      );
      await client.query(
        `INSERT INTO dl_trees (channel, size, head, peaks) VALUES ($1, 0, $2, '{}')`,
        [channel, genesis],
      );
    }
    await appendCheckpoints(
      client,
      identity,
      added.map((channel) => ({
        channel,
        size: 0,
        head: chainGenesis(identity.logId, channel),
        root: empty,
        ts: now,
      })),
    );
    return identity;
  });
}

async function readIdentity(
  client: pg.ClientBase,
  masterKey: Buffer,
): Promise<PgLogIdentity | undefined> {
  const { rows } = await client.query<{ log_id: string; public_key: string; signing_key: Buffer }>(
    'SELECT log_id, public_key, signing_key FROM dl_meta WHERE id = 1',
  );
  const row = rows[0];
  if (row === undefined) return undefined;
  let privateKey: KeyObject;
  try {
    const wrapped = JSON.parse(row.signing_key.toString('utf8')) as Sealed;
    privateKey = importPrivateKey(open(masterKey, wrapped, aad(row.log_id)));
  } catch (err) {
    throw new LogsError(
      'MASTER_KEY_WRONG',
      'the master key does not open this database’s signing key: another log’s key, or the key was replaced',
      { cause: err },
    );
  }
  if (publicKeyText(createPublicKey(privateKey)) !== row.public_key)
    throw new LogsError(
      'INTEGRITY_STATE',
      'the signing key in dl_meta does not match its public key: one of them was replaced',
    );
  return { logId: row.log_id, publicKey: row.public_key, kid: keyId(row.public_key), privateKey };
}

async function newIdentity(client: pg.ClientBase, masterKey: Buffer): Promise<PgLogIdentity> {
  const logId = randomBytes(16).toString('hex');
  const { privateKey, publicKey } = generateSigningKeyPair();
  const text = publicKeyText(publicKey);
  await client.query(
    `INSERT INTO dl_meta (id, log_id, created, public_key, signing_key) VALUES (1, $1, now(), $2, $3)`,
    [logId, text, wrapSigningKey(masterKey, logId, privateKey)],
  );
  return { logId, publicKey: text, kid: keyId(text), privateKey };
}

/** The signing key as `dl_meta.signing_key` keeps it: wrapped by the master key, bound to the log. */
export function wrapSigningKey(masterKey: Buffer, logId: string, privateKey: KeyObject): Buffer {
  return Buffer.from(JSON.stringify(seal(masterKey, exportPrivateKey(privateKey), aad(logId))));
}
