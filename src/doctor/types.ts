import type { Config } from '../config/resolve.js';
import type { LogLayout, LogMeta } from '../store/file/index.js';

/** `ok`: nothing to do; `warn`: worth a look, not a failure; `fail`: fix it. */
export type CheckStatus = 'ok' | 'warn' | 'fail';

/** One thing wrong, and how to put it right (the exact command when there is one). */
export interface Finding {
  readonly what: string;
  readonly fix: string;
}

export interface CheckResult {
  readonly status: CheckStatus;
  /** One line: what was looked at and the verdict. */
  readonly summary: string;
  readonly findings: readonly Finding[];
}

/** What every check may read. Checks only read: none of them changes the deployment. */
export interface DoctorContext {
  readonly config: Config;
  readonly layout: LogLayout;
  readonly meta: LogMeta;
  /** `--key-file`, when given (it wins over every other source of the master key). */
  readonly keyFile: string | undefined;
  /** The time ages are judged against (ms since the epoch): the clock, or `--now`. */
  readonly now: number;
  /** False with `--no-verify`: use the last recorded verification instead of running one. */
  readonly runVerify: boolean;
  /** Progress of slow parts (verify): bytes done of a total. */
  readonly onProgress: (done: number, total: number, detail: string) => void;
}

/** A compliance check: a stable id (for `--json` and `--check`), a title, and the check itself. */
export interface Check {
  readonly id: string;
  readonly title: string;
  run(ctx: DoctorContext): CheckResult | Promise<CheckResult>;
}

const DAY_MS = 86_400_000;

/** Whole days from `then` to `now`, rounded down (as retention counts them). */
export function daysBetween(then: number, now: number): number {
  return Math.floor((now - then) / DAY_MS);
}

/** A path or word as one shell argument, quoted only when it has to be. */
export function shellArg(text: string): string {
  return /^[\w@%+=:,./-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`;
}
