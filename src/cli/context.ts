import type { Command } from 'commander';
import { LogsError, asLogsError } from '../errors.js';
import { escapeBeyondC0, escapeTerminal } from '../util/escape.js';
import { loadConfig } from '../config/load.js';
import type { Config } from '../config/resolve.js';

/** Options every command accepts (declared on the program). */
export interface GlobalOptions {
  readonly dir?: string;
  readonly config?: string;
  readonly keyFile?: string;
  readonly debug?: boolean;
}

export function globals(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals();
}

/** Load the configuration with --config and --dir applied. */
export function configFor(cmd: Command, options: { postgres?: boolean } = {}): Config {
  const g = globals(cmd);
  const config = loadConfig({ file: g.config, dir: g.dir });
  if (config.store.kind === 'postgres' && options.postgres !== true)
    // Reading a directory that is not the log would answer from nothing: refused instead.
    throw new LogsError(
      'STORE_UNSUPPORTED',
      `dihya-logs ${cmd.name()} is not available on the PostgreSQL store yet (available: serve, write, verify, doctor, export, erase, import, token; query and tail through the service: GET /v1/events, /v1/tail)`,
    );
  return config;
}

/** Output streams, injectable so tests can run commands in-process. */
export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly isTTY: boolean;
  readonly stdin: NodeJS.ReadableStream;
  /** Aborted once nobody reads `out` any more (`| head` exited): a long output stops. */
  readonly closed?: AbortSignal;
}

const stdoutGone = new AbortController();
let guarded = false;

/**
 * A reader that goes away (`dihya-logs tail | head`) makes the next write fail with EPIPE,
 * an 'error' event that would otherwise end the process with a stack trace. Node ignores
 * SIGPIPE, so we do what a SIGPIPE'd tool looks like to its user: stdout goes quiet, `closed`
 * stops the loops that write, and the command ends with its own exit status (0 when nothing
 * failed, so `set -o pipefail` scripts do not fail because `head` had enough).
 */
function guardPipes(): void {
  if (guarded) return;
  guarded = true;
  const onError =
    (gone?: AbortController) =>
    (err: NodeJS.ErrnoException): void => {
      if (err.code !== 'EPIPE') throw err;
      gone?.abort();
    };
  process.stdout.on('error', onError(stdoutGone));
  process.stderr.on('error', onError());
}

export const processIo: Io = {
  out: (text) => {
    guardPipes();
    if (!stdoutGone.signal.aborted) process.stdout.write(text);
  },
  err: (text) => {
    guardPipes();
    if (!process.stderr.destroyed) process.stderr.write(text);
  },
  isTTY: process.stdout.isTTY,
  stdin: process.stdin,
  closed: stdoutGone.signal,
};

/**
 * The last guard between record content and a terminal. Each format escapes what it writes
 * (C0 included, as our own colours are ESC sequences); on top, DEL, C1, bidi controls and
 * U+2028/9 are escaped in everything written to a terminal, and always on stderr: no output
 * of ours uses them, and JSON.stringify leaves them raw (their `\uXXXX` form is the same
 * JSON). Piped JSON stays exact.
 */
export function terminalGuard(io: Io): Io {
  return {
    ...io,
    out: io.isTTY ? (text) => io.out(escapeBeyondC0(text)) : io.out,
    err: (text) => io.err(escapeBeyondC0(text)),
  };
}

/**
 * Report a failure as one line on stderr, `dihya-logs: CODE: message`, and return the exit
 * code. No stack trace unless --debug: the message is the interface.
 */
export function reportFailure(err: unknown, io: Io, debug: boolean): number {
  const e = asLogsError(err);
  // The message may quote input (a bad line, a file name): shown inert.
  io.err(`dihya-logs: ${e.code}: ${escapeTerminal(e.message)}\n`);
  if (debug && err instanceof Error && err.stack !== undefined) io.err(`${err.stack}\n`);
  if (debug && e.cause instanceof Error && e.cause.stack !== undefined)
    io.err(`caused by: ${e.cause.stack}\n`);
  return e.exitCode;
}
