import { existsSync, readFileSync } from 'node:fs';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { LogsError } from '../../errors.js';
import { isSealed, open, seal, type Sealed } from '../../crypto/aead.js';
import {
  exportPrivateKey,
  importPrivateKey,
  keyId,
  parsePublicKey,
  publicKeyText,
} from '../../crypto/sign.js';
import { isChannelName } from '../../event/channels.js';
import { writeFileDurable } from '../../util/fs.js';
import type { LogLayout } from './layout.js';

export const FORMAT = 'dihya-logs/v1';

/** `.integrity/log.json`: the identity of a logs directory. Public: holds no secret. */
export interface LogMeta {
  readonly format: typeof FORMAT;
  readonly log_id: string;
  readonly created: string;
  /** `ed25519:<base64>`: checks every checkpoint signature. */
  readonly public_key: string;
  readonly kid: string;
  /** Channels that exist in this directory. */
  readonly channels: readonly string[];
}

export function readMeta(layout: LogLayout): LogMeta {
  if (!existsSync(layout.metaFile)) {
    throw new LogsError(
      'LOGS_NOT_INITIALIZED',
      `${layout.dir} is not an initialized logs directory (no .integrity/log.json); run: dihya-logs init --dir ${layout.dir}`,
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(layout.metaFile, 'utf8'));
  } catch (err) {
    throw new LogsError('INTEGRITY_STATE', `${layout.metaFile} is not valid JSON`, { cause: err });
  }
  const m = value as Partial<LogMeta> | null;
  const ok =
    typeof m === 'object' &&
    m !== null &&
    m.format === FORMAT &&
    typeof m.log_id === 'string' &&
    /^[0-9a-f]{32}$/.test(m.log_id) &&
    typeof m.public_key === 'string' &&
    typeof m.created === 'string' &&
    Array.isArray(m.channels) &&
    m.channels.every(isChannelName);
  if (!ok) throw new LogsError('INTEGRITY_STATE', `${layout.metaFile} is malformed`);
  parsePublicKey(m.public_key);
  return { ...m, kid: keyId(m.public_key) } as LogMeta;
}

export function writeMeta(
  layout: LogLayout,
  meta: LogMeta,
  options: { exclusive?: boolean } = {},
): void {
  writeFileDurable(layout.metaFile, `${JSON.stringify(meta, null, 2)}\n`, options);
}

/** `.keys/signing-key.json`: the Ed25519 private key, wrapped by the master key. */
interface SigningKeyFile {
  readonly kid: string;
  readonly public_key: string;
  readonly wrapped: Sealed;
}

function signingKeyAad(logId: string): string {
  return `dihya-logs/signing-key/v1\0${logId}`;
}

export function writeSigningKey(
  layout: LogLayout,
  logId: string,
  privateKey: KeyObject,
  publicKey: KeyObject,
  masterKey: Buffer,
): void {
  const text = publicKeyText(publicKey);
  const file: SigningKeyFile = {
    kid: keyId(text),
    public_key: text,
    wrapped: seal(masterKey, exportPrivateKey(privateKey), signingKeyAad(logId)),
  };
  writeFileDurable(layout.signingKeyFile, `${JSON.stringify(file, null, 2)}\n`, {
    exclusive: true,
  });
}

/** Unwrap the signing key and check it is the one the log publishes. */
export function readSigningKey(layout: LogLayout, meta: LogMeta, masterKey: Buffer): KeyObject {
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(layout.signingKeyFile, 'utf8'));
  } catch (err) {
    throw new LogsError('INTEGRITY_STATE', `cannot read the signing key ${layout.signingKeyFile}`, {
      cause: err,
    });
  }
  const f = value as Partial<SigningKeyFile> | null;
  if (typeof f !== 'object' || f === null || !isSealed(f.wrapped)) {
    throw new LogsError('INTEGRITY_STATE', `${layout.signingKeyFile} is malformed`);
  }
  const privateKey = importPrivateKey(open(masterKey, f.wrapped, signingKeyAad(meta.log_id)));
  const derived = publicKeyText(createPublicKey(privateKey));
  if (derived !== meta.public_key) {
    throw new LogsError(
      'INTEGRITY_STATE',
      'the signing key does not match the public key in .integrity/log.json: one of them was replaced',
    );
  }
  return privateKey;
}
