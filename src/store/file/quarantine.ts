import { closeSync, constants, fsyncSync, ftruncateSync, openSync } from 'node:fs';
import path from 'node:path';
import { sha256Hex } from '../../crypto/hash.js';
import { writeFileDurable } from '../../util/fs.js';
import type { LogLayout } from './layout.js';

/** Bytes moved aside on open because they were not a complete record. */
export interface QuarantineNote {
  readonly file: string;
  /** Offset in `file` where the moved bytes started. */
  readonly offset: number;
  readonly bytes: number;
  readonly sha256: string;
  /** Path of the quarantine file, relative to the logs directory. */
  readonly quarantine: string;
}

/**
 * Move the bytes after `end` aside into `.integrity/quarantine/` (kept, 0600, fsynced) and cut
 * the file back to `end`. The file is cut only once the copy is safe on disk.
 */
export function quarantineTail(
  layout: LogLayout,
  file: string,
  end: number,
  tail: Buffer,
): QuarantineNote {
  const stamp = new Date().toISOString().replace(/[-:.]/g, '');
  const name = `${path.basename(file, '.log')}-${stamp}-${end}.part`;
  const target = path.join(layout.quarantineDir, name);
  writeFileDurable(target, tail, { exclusive: true });
  const fd = openSync(file, constants.O_WRONLY);
  try {
    ftruncateSync(fd, end);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  return {
    file: path.relative(layout.dir, file),
    offset: end,
    bytes: tail.length,
    sha256: sha256Hex(tail),
    quarantine: path.relative(layout.dir, target),
  };
}
