import { createHmac, hkdfSync, randomFillSync } from 'node:crypto';
import { open, seal, type Sealed } from './aead.js';
import type { SubjectEntry } from './subjects.js';

/**
 * The cryptography of a subject keystore, whatever holds its rows (SQLite for the file store,
 * a table for PostgreSQL): how a person is looked up (a keyed hash of their id), how their key
 * is wrapped by the master key and their id sealed under their own key, how channel keys are
 * wrapped. Every wrap is bound to the log and to the row's name (AAD), so a row moved to
 * another person or another log does not open.
 */
export class SubjectCrypto {
  private readonly lookupKey: Buffer;

  constructor(
    private readonly masterKey: Buffer,
    private readonly logId: string,
  ) {
    this.lookupKey = Buffer.from(
      hkdfSync('sha256', masterKey, Buffer.from(logId), 'dihya-logs/subject-lookup/v1', 32),
    );
  }

  /** A new person: a random pseudonym and a random 256-bit key. */
  newEntry(): SubjectEntry {
    return { pseudonym: `sub_${randomPool(12).toString('hex')}`, key: randomPool(32) };
  }

  /** A random 256-bit channel key. */
  newKey(): Buffer {
    return randomPool(32);
  }

  lookup(id: string): Buffer {
    return createHmac('sha256', this.lookupKey).update(id, 'utf8').digest();
  }

  wrap(entry: SubjectEntry): Buffer {
    return pack(seal(this.masterKey, entry.key, this.aad(entry.pseudonym)));
  }

  unwrap(pseudonym: string, wrapped: Buffer): Buffer {
    return open(this.masterKey, unpack(wrapped), this.aad(pseudonym));
  }

  /** The person's id, sealed under their own key (only an allowed reader turns it back). */
  sealId(entry: SubjectEntry, id: string): Buffer {
    return pack(seal(entry.key, Buffer.from(id, 'utf8'), this.idAad(entry.pseudonym)));
  }

  openId(pseudonym: string, key: Buffer, sealedId: Buffer): string {
    return open(key, unpack(sealedId), this.idAad(pseudonym)).toString('utf8');
  }

  wrapChannelKey(channel: string, id: number, key: Buffer): Buffer {
    return pack(seal(this.masterKey, key, this.channelAad(channel, id)));
  }

  unwrapChannelKey(channel: string, id: number, wrapped: Buffer): Buffer {
    return open(this.masterKey, unpack(wrapped), this.channelAad(channel, id));
  }

  private aad(pseudonym: string): string {
    return `dihya-logs/subject-key/v1\0${this.logId}\0${pseudonym}`;
  }

  private channelAad(channel: string, id: number): string {
    return `dihya-logs/channel-key/v1\0${this.logId}\0${channel}\0${id}`;
  }

  private idAad(pseudonym: string): string {
    return `dihya-logs/subject-id/v1\0${this.logId}\0${pseudonym}`;
  }
}

// Random bytes drawn from a pool refilled in bulk: one system call per 4 KiB instead of two
// per new person.
const POOL = Buffer.alloc(4096);
let poolAt = POOL.length;

function randomPool(n: number): Buffer {
  if (poolAt + n > POOL.length) {
    randomFillSync(POOL);
    poolAt = 0;
  }
  const out = Buffer.from(POOL.subarray(poolAt, poolAt + n));
  POOL.fill(0, poolAt, poolAt + n); // a drawn key does not stay behind in the pool
  poolAt += n;
  return out;
}

/** nonce (12) || tag (16) || ciphertext, the compact form stored in the database. */
function pack(s: Sealed): Buffer {
  return Buffer.concat([
    Buffer.from(s.iv, 'base64'),
    Buffer.from(s.tag, 'base64'),
    Buffer.from(s.ct, 'base64'),
  ]);
}

function unpack(b: Buffer): Sealed {
  return {
    alg: 'A256GCM',
    iv: b.subarray(0, 12).toString('base64'),
    tag: b.subarray(12, 28).toString('base64'),
    ct: b.subarray(28).toString('base64'),
  };
}
