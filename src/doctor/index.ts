import { asLogsError } from '../errors.js';
import { checkpointsCheck } from './checkpoints.js';
import { classificationCheck } from './classification.js';
import { masterKeyCheck } from './master-key.js';
import { permissionsCheck } from './permissions.js';
import { retentionCheck } from './retention.js';
import { serviceCheck } from './service.js';
import { tokensCheck } from './tokens.js';
import type { Check, CheckResult, CheckStatus, DoctorContext, Finding } from './types.js';
import { verifyCheck } from './verify.js';

export type { Check, CheckResult, CheckStatus, DoctorContext, Finding } from './types.js';

/**
 * Every check, in the order they run and are shown. Permissions come first: later checks
 * open files (the token store) and must not be the ones that change what it looks at.
 */
export const CHECKS: readonly Check[] = [
  permissionsCheck,
  masterKeyCheck,
  verifyCheck,
  checkpointsCheck,
  retentionCheck,
  classificationCheck,
  tokensCheck,
  serviceCheck,
];

/** Past this many findings, a check's list ends with one line counting the rest. */
const MAX_FINDINGS = 25;

export interface CheckOutcome extends CheckResult {
  readonly id: string;
  readonly title: string;
}

export interface DoctorReport {
  /** No check failed (warnings do not fail). */
  readonly ok: boolean;
  readonly checks: readonly CheckOutcome[];
}

/**
 * Run checks one after the other. A check that throws becomes a failure carrying the error's
 * code and message: doctor reports on a broken deployment, it does not crash on one.
 */
export async function runDoctor(
  ctx: DoctorContext,
  options: {
    readonly checks?: readonly Check[];
    /** Called as each check ends, to show it at once. */
    readonly onCheck?: (outcome: CheckOutcome) => void;
    /** Called with what a check threw (for --debug). */
    readonly onError?: (id: string, err: unknown) => void;
  } = {},
): Promise<DoctorReport> {
  const out: CheckOutcome[] = [];
  for (const check of options.checks ?? CHECKS) {
    let result: CheckResult;
    try {
      result = await check.run(ctx);
    } catch (err) {
      options.onError?.(check.id, err);
      const e = asLogsError(err);
      result = {
        status: 'fail',
        summary: `the check could not run: ${e.code}: ${e.message}`,
        findings: [
          {
            what: `${e.code}: ${e.message}`,
            fix: 'fix what the error names, then run dihya-logs doctor again (--debug shows where it failed)',
          },
        ],
      };
    }
    const outcome = { id: check.id, title: check.title, ...bounded(result) };
    out.push(outcome);
    options.onCheck?.(outcome);
  }
  return { ok: out.every((c) => c.status !== 'fail'), checks: out };
}

function bounded(r: CheckResult): CheckResult {
  if (r.findings.length <= MAX_FINDINGS) return r;
  const rest: Finding = {
    what: `and ${r.findings.length - MAX_FINDINGS} more finding(s) of this check`,
    fix: 'fix the ones above, then run dihya-logs doctor again',
  };
  return { ...r, findings: [...r.findings.slice(0, MAX_FINDINGS), rest] };
}

/** How many checks ended in each status. */
export function tally(checks: readonly { status: CheckStatus }[]): Record<CheckStatus, number> {
  const n: Record<CheckStatus, number> = { ok: 0, warn: 0, fail: 0 };
  for (const c of checks) n[c.status] += 1;
  return n;
}
