import {
  closeSync,
  fstatSync,
  fsyncSync,
  readFileSync,
  mkdirSync,
  openSync,
  renameSync,
  chmodSync,
  unlinkSync,
  writeSync,
  constants,
} from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { LogsError, type ErrorCode } from '../errors.js';

/**
 * The parsed content of a JSON file dihya-logs keeps for itself (state, outbox...): undefined
 * when it is missing or not JSON. Such a file is on disk and may have been edited: callers
 * check the shape of what they get.
 */
export function readJsonFile(file: string): unknown {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

/** Files we create are readable by their owner only; directories likewise. */
export const FILE_MODE = 0o600;
export const DIR_MODE = 0o700;

/** Create a directory (and parents) with mode 0700, whatever the umask. */
export function ensureDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: DIR_MODE });
  chmodSync(dir, DIR_MODE);
}

/** fsync a directory so a rename or a new file in it survives a power cut. */
export function fsyncDir(dir: string): void {
  const fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Write a whole file so that a crash leaves either the old content or the new, never a mix:
 * temporary file, fsync, rename, directory fsync. With `exclusive`, refuse to replace a file.
 */
export function writeFileDurable(
  file: string,
  data: string | Uint8Array,
  /** `sync`: true (default) syncs the file and its directory; `'contents'` only the file's
   * contents before it replaces the old one (a power loss leaves the old or the new file, never
   * an empty one); false nothing. */
  options: { exclusive?: boolean; sync?: boolean | 'contents' } = {},
): void {
  const contents = options.sync !== false;
  const sync = options.sync === undefined || options.sync === true;
  if (options.exclusive === true) {
    const fd = openSync(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, FILE_MODE);
    try {
      writeAll(fd, data);
      if (sync) fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    if (sync) fsyncDir(path.dirname(file));
    return;
  }
  const tmp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
  const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, FILE_MODE);
  try {
    writeAll(fd, data);
    if (contents) fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    unlinkSync(tmp);
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, file);
  if (sync) fsyncDir(path.dirname(file));
}

/** write(2) until every byte is written (a short write is legal and must be continued). */
export function writeAll(fd: number, data: string | Uint8Array, position?: number): void {
  const buf = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let done = 0;
  while (done < buf.length) {
    const pos = position === undefined ? null : position + done;
    done += writeSync(fd, buf, done, buf.length - done, pos);
  }
}

/**
 * Read a file that holds a secret (a key, a webhook secret): a regular file, not a link,
 * readable by its owner only. It is opened once and checked through that descriptor, so it
 * cannot be swapped between the check and the read. Errors (`code`) start with `label`.
 */
export function readOwnerOnlyFile(file: string, label: string, code: ErrorCode): string {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const e = (err as NodeJS.ErrnoException).code;
    const why =
      e === 'ENOENT'
        ? 'does not exist'
        : e === 'ELOOP'
          ? 'is a symbolic link'
          : `cannot be read (${e})`;
    throw new LogsError(code, `${label} ${why}`, { cause: err });
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new LogsError(code, `${label} is not a regular file`);
    if ((st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      throw new LogsError(
        code,
        `${label} is readable by group or others (mode ${mode}); run: chmod 600 ${file}`,
      );
    }
    return readFileSync(fd, 'utf8');
  } finally {
    closeSync(fd);
  }
}
