import { existsSync } from 'node:fs';
import path from 'node:path';
import { damagePlace, type Damage, type Warning } from '../integrity/damage.js';
import { verifyLogs } from '../store/file/index.js';
import { readJsonFile } from '../util/fs.js';
import { roughDuration } from '../util/units.js';
import { jobIntervalMs } from './cron.js';
import type { Check, CheckResult, DoctorContext, Finding } from './types.js';

/** Damage past this many is summed up in one finding: the first per channel is what matters. */
const MAX_DAMAGE_FINDINGS = 10;

const INCIDENT_FIX =
  'treat it as an incident: copy the logs directory aside as evidence, run dihya-logs verify for the full report, restore the damaged file from a backup (see docs/integrity.md)';

/** `kind at channel, file, line n, seq n`: what and where, as verify names them. */
function kindAt(d: Damage | Warning): string {
  const at = damagePlace(d);
  return `${d.kind}${at === '' ? '' : ` at ${at}`}`;
}

function damageFinding(d: Damage): Finding {
  return {
    what: `${kindAt(d)}: ${d.detail}`,
    fix:
      d.kind === 'wrong_key'
        ? 'check integrity.public_key against the copy of the public key kept apart; if the log was re-signed, treat it as an incident (docs/integrity.md)'
        : d.kind === 'hold_mismatch'
          ? 'set the legal hold again: dihya-logs hold set --channel <channel> --reason "..."'
          : INCIDENT_FIX,
  };
}

/** What to do about each warning doctor reports (`unsigned_tail` is the `checkpoints` check's). */
function warningFinding(w: Warning, publicKey: string): Finding {
  const what = `${kindAt(w)}: ${w.detail}`;
  switch (w.kind) {
    case 'key_not_pinned':
      return {
        what,
        fix: `after checking it against the copy kept apart, pin it: integrity.public_key: '${publicKey}' in the configuration`,
      };
    case 'segment_pending':
      return { what, fix: 'dihya-logs scheduler --once archive (or let the archive job run)' };
    case 'tombstoned_archive_present':
      return { what, fix: 'dihya-logs retention (or let the retention job run)' };
    case 'torn_tail':
      return { what, fix: 'the next open moves it aside (a crash mid-write): start the writer' };
    default:
      return { what, fix: 'see docs/integrity.md' };
  }
}

function fromReport(
  head: string,
  ok: boolean,
  damage: readonly Damage[],
  warnings: readonly Warning[],
  publicKey: string,
): CheckResult {
  const warns = warnings.filter((w) => w.kind !== 'unsigned_tail');
  const findings = damage.slice(0, MAX_DAMAGE_FINDINGS).map(damageFinding);
  if (damage.length > MAX_DAMAGE_FINDINGS)
    findings.push({
      what: `and ${damage.length - MAX_DAMAGE_FINDINGS} more damage(s)`,
      fix: 'dihya-logs verify',
    });
  findings.push(...warns.map((w) => warningFinding(w, publicKey)));
  const first = damage[0];
  if (!ok || first !== undefined)
    return {
      status: 'fail',
      summary: `${head}: DAMAGED, first ${first === undefined ? 'damage unknown' : kindAt(first)}`,
      findings,
    };
  return {
    status: warns.length > 0 ? 'warn' : 'ok',
    summary: `${head}: intact${warns.length > 0 ? `, ${warns.length} warning(s)` : ''}`,
    findings,
  };
}

/**
 * The full verification, as `dihya-logs verify` runs it (the pinned public key), or with
 * `--no-verify` the last one the service recorded, which must be recent.
 */
export const verifyCheck: Check = {
  id: 'verify',
  title: 'integrity (verify)',
  async run(ctx: DoctorContext): Promise<CheckResult> {
    const publicKey = ctx.config.integrity.publicKey;
    if (!ctx.runVerify) return lastRecorded(ctx);
    const r = await verifyLogs({
      dir: ctx.layout.dir,
      ...(publicKey === undefined ? {} : { publicKey }),
      onProgress: (p) =>
        ctx.onProgress(p.bytes, p.totalBytes, `${p.records.toLocaleString('en-US')} records`),
    });
    return fromReport(
      `${r.records.toLocaleString('en-US')} records in ${r.channels.length} channel(s), ${r.checkpoints.count} checkpoint(s)${r.pinned ? ', pinned key' : ''}`,
      r.ok,
      r.damage,
      r.warnings,
      ctx.meta.public_key,
    );
  },
};

function lastRecorded(ctx: DoctorContext): CheckResult {
  const file = ctx.layout.serviceStateFile('lastVerify');
  const rerun: Finding['fix'] = 'run dihya-logs doctor without --no-verify (or dihya-logs verify)';
  if (!existsSync(file))
    return {
      status: 'warn',
      summary: 'not run (--no-verify) and no verification recorded',
      findings: [
        {
          what: `no recorded verification (${path.relative(ctx.layout.dir, file)} is written by the service's verify job)`,
          fix: rerun,
        },
      ],
    };
  // Parse defensively: the file is as open to edits as any other in the directory.
  const value = readJsonFile(file);
  const v = value as Partial<Record<'at' | 'ok' | 'damage' | 'warnings', unknown>> | undefined;
  const at = typeof v?.at === 'string' ? Date.parse(v.at) : NaN;
  if (v === undefined || !Number.isFinite(at) || typeof v.ok !== 'boolean')
    return {
      status: 'warn',
      summary: 'not run (--no-verify) and the recorded verification is unreadable',
      findings: [{ what: `${path.relative(ctx.layout.dir, file)} is malformed`, fix: rerun }],
    };
  const damage = (Array.isArray(v.damage) ? v.damage : []).filter(isKindDetail) as Damage[];
  const warnings = (Array.isArray(v.warnings) ? v.warnings : []).filter(isKindDetail) as Warning[];
  const result = fromReport(
    `last recorded verification, ${new Date(at).toISOString()}`,
    v.ok,
    damage,
    warnings,
    ctx.meta.public_key,
  );
  const maxAge = 2 * jobIntervalMs(ctx.config, 'verify', ctx.now);
  if (ctx.now - at <= maxAge || result.status === 'fail') return result;
  return {
    status: 'warn',
    summary: `${result.summary}; but it is ${roughDuration(ctx.now - at)} old`,
    findings: [
      ...result.findings,
      {
        what: `the last recorded verification is older than ${roughDuration(maxAge)} (twice the verify job's interval): the job is not running`,
        fix: `${rerun}; and check that the service (or dihya-logs scheduler) runs the verify job`,
      },
    ],
  };
}

function isKindDetail(x: unknown): boolean {
  return (
    typeof x === 'object' &&
    x !== null &&
    typeof (x as { kind?: unknown }).kind === 'string' &&
    typeof (x as { detail?: unknown }).detail === 'string'
  );
}
