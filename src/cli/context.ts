import type { Command } from 'commander';
import { asLogsError } from '../errors.js';
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
export function configFor(cmd: Command): Config {
  const g = globals(cmd);
  return loadConfig({ file: g.config, dir: g.dir });
}

/** Output streams, injectable so tests can run commands in-process. */
export interface Io {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  readonly isTTY: boolean;
  readonly stdin: NodeJS.ReadableStream;
}

export const processIo: Io = {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  isTTY: process.stdout.isTTY,
  stdin: process.stdin,
};

/**
 * Report a failure as one line on stderr, `dihya-logs: CODE: message`, and return the exit
 * code. No stack trace unless --debug: the message is the interface.
 */
export function reportFailure(err: unknown, io: Io, debug: boolean): number {
  const e = asLogsError(err);
  io.err(`dihya-logs: ${e.code}: ${e.message}\n`);
  if (debug && err instanceof Error && err.stack !== undefined) io.err(`${err.stack}\n`);
  if (debug && e.cause instanceof Error && e.cause.stack !== undefined)
    io.err(`caused by: ${e.cause.stack}\n`);
  return e.exitCode;
}
