import { closeSync, openSync, readFileSync, unlinkSync, writeSync, constants } from 'node:fs';
import { hostname } from 'node:os';
import { LogsError } from '../../errors.js';
import { FILE_MODE } from '../../util/fs.js';
import type { LogLayout } from './layout.js';

/** Who owns a logs directory. */
export interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly since: string;
  readonly command: string;
}

/** The owner named in the lock file, if the lock is held by a live process. */
export function lockOwner(layout: LogLayout): LockOwner | undefined {
  let owner: LockOwner;
  try {
    owner = JSON.parse(readFileSync(layout.lockFile, 'utf8')) as LockOwner;
  } catch {
    return undefined;
  }
  if (owner.host === hostname() && !alive(owner.pid)) return undefined;
  return owner;
}

function alive(pid: number): boolean {
  if (!Number.isSafeInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Take the single-owner lock of a logs directory (DESIGN.md: one process owns it). A lock left by
 * a dead process on this host is taken over. Returns the release function.
 */
export function acquireLock(layout: LogLayout, command: string): () => void {
  const me: LockOwner = {
    pid: process.pid,
    host: hostname(),
    since: new Date().toISOString(),
    command,
  };
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(
        layout.lockFile,
        constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL,
        FILE_MODE,
      );
      writeSync(fd, `${JSON.stringify(me)}\n`);
      closeSync(fd);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        try {
          unlinkSync(layout.lockFile);
        } catch {
          // already gone: nothing to release
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = lockOwner(layout);
    if (owner !== undefined) {
      throw new LogsError(
        'LOGS_LOCKED',
        `${layout.dir} is owned by process ${owner.pid} on ${owner.host} (${owner.command}, since ${owner.since}); ` +
          (owner.command.includes('serve')
            ? 'use its HTTP API instead (POST /v1/events, /v1/gdpr/exports, /v1/gdpr/erasures, /v1/tokens; docs/service.md), or stop it'
            : 'stop it, or send events through it instead of writing directly'),
        { details: { pid: owner.pid, host: owner.host } },
      );
    }
    try {
      unlinkSync(layout.lockFile); // stale: its process is gone
    } catch {
      // another process removed it first; try again
    }
  }
  throw new LogsError(
    'LOGS_LOCKED',
    `${layout.dir}: could not take the lock file ${layout.lockFile}`,
  );
}
