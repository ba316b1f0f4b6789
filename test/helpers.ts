import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { initLogs } from '../src/log/init.js';
import { openLogCore, type OpenLogsOptions } from '../src/log/open.js';
import type { LogCore } from '../src/log/core.js';
import { LogsError, type ErrorCode } from '../src/errors.js';
import { Keystore } from '../src/crypto/keystore.js';
import { isSealedRecord, openBody } from '../src/crypto/body-cipher.js';
import { LogLayout } from '../src/store/file/layout.js';
import type { Io } from '../src/cli/context.js';

const made: string[] = [];
// Removed when the test process exits, not in an after() hook: a test file's own after() hooks
// (closing a service, a browser) may run after this module's, and removing a directory a running
// service still writes into fails (ENOTEMPTY) and, failing the hook, skips the hooks that would
// have closed the service, leaving the process hanging.
process.once('exit', () => {
  for (const d of made) {
    try {
      rmSync(d, { recursive: true, force: true, maxRetries: 3 });
    } catch (e) {
      process.stderr.write(`could not remove test directory ${d}: ${String(e)}\n`);
    }
  }
});

/** A fresh temporary directory, removed when the test process exits. */
export function tempDir(prefix = 'dihya-test-'): string {
  const d = mkdtempSync(path.join(tmpdir(), prefix));
  made.push(d);
  return d;
}

export interface TestLog {
  readonly root: string;
  readonly dir: string;
  readonly masterKey: Buffer;
  readonly publicKey: string;
  readonly logId: string;
  open(options?: Partial<OpenLogsOptions>): Promise<LogCore>;
}

/** An initialized logs directory with its master key; open() opens it for writing. */
export function newLog(): TestLog {
  const root = tempDir();
  const dir = path.join(root, 'logs');
  const masterKey = randomBytes(32);
  const { publicKey, logId } = initLogs({ dir, masterKey });
  return {
    root,
    dir,
    masterKey,
    publicKey,
    logId,
    // Tests drive the index themselves: no feeder thread unless a test turns it on.
    open: (options = {}) =>
      openLogCore({
        dir,
        masterKey,
        handleExit: false,
        onError: () => undefined,
        ...options,
        settings: { index: { live: false }, ...options.settings },
      }),
  };
}

/** Assert that `fn` throws (or rejects with) a LogsError with this code; returns it. */
export async function expectCode(code: ErrorCode, fn: () => unknown): Promise<LogsError> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err;
  }
  if (!(caught instanceof LogsError)) {
    throw new Error(
      `expected a LogsError ${code}, got ${caught === undefined ? 'no error' : caught instanceof Error ? caught.message : typeof caught}`,
    );
  }
  if (caught.code !== code)
    throw new Error(`expected ${code}, got ${caught.code}: ${caught.message}`);
  return caught;
}

/** The complete, non-empty lines of a file (an unfinished last line, left by a crash, is not one). */
export function readLines(file: string): string[] {
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.pop(); // after the last newline: empty, or a torn line
  return lines.filter((l) => l !== '');
}

/** The records of a channel file, parsed. */
export function readRecords(file: string): Array<Record<string, unknown>> {
  return readLines(file).map((l) => JSON.parse(l) as Record<string, unknown>);
}

/**
 * The records of a channel file, those of an encrypted channel opened with the log's keys (what
 * an allowed reader sees). Throws on a record that does not open.
 */
export function openedRecords(t: TestLog, file: string): Array<Record<string, unknown>> {
  const ks = Keystore.openReadOnly(new LogLayout(t.dir).subjectsFile, t.masterKey, t.logId);
  const ring = ks.channelKeyring();
  ks.close();
  return readRecords(path.join(t.dir, file)).map((r) => {
    if (!isSealedRecord(r)) return r;
    const o = openBody(r, ring);
    if (!o.ok) throw new Error(`${file} #${String(r.seq)} does not open: ${o.why}`);
    return o.record;
  });
}

/** The repository root (tests run from build/test/). */
export const REPO_ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../..');

/** A JSON test vector file from test/vectors/. */
export function vector(name: string): unknown {
  return JSON.parse(readFileSync(path.join(REPO_ROOT, 'test', 'vectors', name), 'utf8')) as unknown;
}

/** A CLI `Io` that keeps what is written, for commands run in this process. */
export function memoryIo(): { io: Io; out: () => string; err: () => string } {
  let out = '';
  let err = '';
  const io: Io = {
    out: (t) => (out += t),
    err: (t) => (err += t),
    isTTY: false,
    stdin: process.stdin,
  };
  return { io, out: () => out, err: () => err };
}

/** Every file under a directory, as bytes. */
export function allFiles(dir: string): Array<{ file: string; bytes: Buffer }> {
  const out: Array<{ file: string; bytes: Buffer }> = [];
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) out.push(...allFiles(p));
    else out.push({ file: p, bytes: readFileSync(p) });
  }
  return out;
}
