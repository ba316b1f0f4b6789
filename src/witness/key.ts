import { existsSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { LogsError } from '../errors.js';
import {
  cosigner,
  formatVerifierKey,
  generateNoteKey,
  parseSignerKey,
  type Cosigner,
} from '../integrity/note/index.js';
import { LogLayout } from '../store/file/index.js';
import { readOwnerOnlyFile, writeFileDurable } from '../util/fs.js';

/**
 * The witness key file holds a Go-compatible signer key (`PRIVATE+KEY+<name>+<id>+<base64>`,
 * Ed25519). The witness cosigns with the same key as a tlog-cosignature/v1 key (type 0x04),
 * whose verifier key is what log operators configure.
 */

/** Load the witness's cosigner from its key file: mode 0600, not a link, outside any logs dir. */
export function loadWitnessKey(
  file: string,
  options: {
    readonly name?: string;
    readonly stateDir?: string;
    readonly clock?: () => number;
  } = {},
): Cosigner {
  assertKeyPlace(file, options.stateDir);
  const text = readOwnerOnlyFile(file, `witness key file ${file}`, 'NOTE_KEY_INVALID');
  const { name, seed } = parseSignerKey(text.trim());
  if (options.name !== undefined && name !== options.name)
    throw new LogsError(
      'CONFIG_INVALID',
      `the witness key in ${file} is named ${name}, the configuration says ${options.name}`,
    );
  return cosigner(name, seed, options.clock);
}

/** Create a new witness key file (never replacing one); returns the witness's verifier key. */
export function createWitnessKey(file: string, name: string): string {
  assertKeyPlace(file, undefined);
  const { skey } = generateNoteKey(name);
  try {
    writeFileDurable(file, `${skey}\n`, { exclusive: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      throw new LogsError('PATH_UNSAFE', `${file} exists; a witness key is never replaced`);
    throw err;
  }
  const { seed } = parseSignerKey(skey);
  return witnessVerifierKey(cosigner(name, seed));
}

/** The verifier key log operators configure for this witness (type 0x04). */
export function witnessVerifierKey(key: Cosigner): string {
  return formatVerifierKey(key);
}

/**
 * The key must not sit in the witness's state directory nor in a dihya-logs logs directory:
 * whoever copies the state or the logs (backups) must not get the key with them.
 */
function assertKeyPlace(file: string, stateDir: string | undefined): void {
  const real = (p: string): string => {
    try {
      return realpathSync(p);
    } catch {
      return path.resolve(p);
    }
  };
  const keyPath = path.join(real(path.dirname(path.resolve(file))), path.basename(file));
  if (stateDir !== undefined) {
    const rel = path.relative(real(stateDir), keyPath);
    if (!rel.startsWith('..') && !path.isAbsolute(rel))
      throw new LogsError('PATH_UNSAFE', `the witness key ${file} is inside the state directory`);
  }
  for (let dir = path.dirname(keyPath); ; dir = path.dirname(dir)) {
    if (existsSync(new LogLayout(dir).metaFile))
      throw new LogsError('PATH_UNSAFE', `the witness key ${file} is inside logs directory ${dir}`);
    if (path.dirname(dir) === dir) break;
  }
}
