import { realpathSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { LogsError } from '../errors.js';
import { readOwnerOnlyFile, writeFileDurable } from '../util/fs.js';

/** Environment variable holding the master key itself (base64 of 32 bytes). */
export const MASTER_KEY_ENV = 'DIHYA_LOGS_MASTER_KEY';
/** Environment variable naming a key file. */
export const KEY_FILE_ENV = 'DIHYA_LOGS_KEY_FILE';

/** Where the master key comes from, most specific first; the first one set wins. */
export interface MasterKeySource {
  /** `--key-file`. */
  readonly keyFile?: string | undefined;
  /** The value of DIHYA_LOGS_MASTER_KEY. */
  readonly keyText?: string | undefined;
  /** DIHYA_LOGS_KEY_FILE, then `master_key_file` from the configuration. */
  readonly fallbackKeyFile?: string | undefined;
}

/**
 * Where a process finds the master key, most specific first: a key file given explicitly, the
 * key itself in DIHYA_LOGS_MASTER_KEY, a key file in DIHYA_LOGS_KEY_FILE, then the configured
 * `master_key_file`. One place for the library and every command.
 */
export function masterKeySource(
  keyFile: string | undefined,
  configuredKeyFile: string | undefined,
): MasterKeySource {
  return {
    keyFile,
    keyText: process.env[MASTER_KEY_ENV],
    fallbackKeyFile: process.env[KEY_FILE_ENV] || configuredKeyFile,
  };
}

/**
 * Load the master key. A key file must be a regular file readable by its owner only and must not
 * sit inside the logs directory: whoever holds logs and key together holds everything.
 */
export function loadMasterKey(source: MasterKeySource, logsDir: string): Buffer {
  if (source.keyFile !== undefined) return readKeyFile(source.keyFile, logsDir);
  if (source.keyText !== undefined && source.keyText !== '') {
    return parseMasterKey(source.keyText, `the ${MASTER_KEY_ENV} environment variable`);
  }
  if (source.fallbackKeyFile !== undefined) return readKeyFile(source.fallbackKeyFile, logsDir);
  throw new LogsError(
    'MASTER_KEY_MISSING',
    `no master key: set ${MASTER_KEY_ENV} (base64 of 32 bytes), or give --key-file FILE, or set master_key_file in the configuration`,
  );
}

export function parseMasterKey(text: string, where: string): Buffer {
  const trimmed = text.trim();
  const key = /^[a-z\d+/]{43}=$/i.test(trimmed) ? Buffer.from(trimmed, 'base64') : undefined;
  if (key?.length !== 32) {
    // Never echo the value: it is (or is meant to be) a secret.
    throw new LogsError('MASTER_KEY_INVALID', `${where} does not hold base64 of 32 bytes`);
  }
  return key;
}

function readKeyFile(file: string, logsDir: string): Buffer {
  assertOutside(file, logsDir);
  const label = `key file ${file}`;
  return parseMasterKey(readOwnerOnlyFile(file, label, 'MASTER_KEY_INVALID'), label);
}

/** Refuse a key file inside the logs directory (compared after resolving links). */
function assertOutside(file: string, logsDir: string): void {
  const real = (p: string): string => {
    try {
      return realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  const dir = real(logsDir);
  const keyPath = path.join(real(path.dirname(path.resolve(file))), path.basename(file));
  const rel = path.relative(dir, keyPath);
  if (rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel))) {
    throw new LogsError(
      'PATH_UNSAFE',
      `key file ${file} is inside the logs directory; keep the master key apart from the logs and their backups`,
    );
  }
}

/** Create a new key file (never overwriting one), mode 0600, and return the key. */
export function generateKeyFile(file: string, logsDir: string): Buffer {
  assertOutside(file, logsDir);
  const key = randomBytes(32);
  writeFileDurable(file, `${key.toString('base64')}\n`, { exclusive: true });
  return key;
}
