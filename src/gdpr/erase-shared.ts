/**
 * What every erasure shares whatever store holds the person (erase.ts: the file store and its
 * index; erase-db.ts: a database store): the request's options and report, its id, its audit
 * record (written before anything is destroyed) and the removal of earlier export bundles.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, realpathSync, rmSync } from 'node:fs';
import path from 'node:path';
import { LogsError } from '../errors.js';
import type { LogCore } from '../log/core.js';
import type { Logs } from '../log/logs.js';
import type { LogLayout } from '../store/file/index.js';
import type { Ack } from '../store/store.js';
import type { GdprRequest } from './requests.js';

export const DAY_MS = 86_400_000;
export const EXPORT_DIR_NAME = /^exp-\d{8}-[\da-f]{16}$/;

export interface EraseOptions {
  /** The open logs: the request is recorded through them, and they hold the keystore. */
  readonly logs: Logs | LogCore;
  /** The person's ids (one person, known under each). */
  readonly ids: readonly string[];
  readonly reason: string;
  readonly requestedBy: string;
  /** Say what would happen; change nothing. */
  readonly dryRun?: boolean;
  /** Milliseconds since the epoch (injectable for tests). */
  readonly now?: number;
}

/** A channel that keeps the person's data for now, and why. */
export interface Duty {
  readonly channel: string;
  readonly basis: string;
  readonly records: number;
  /** When its newest record of the person reaches the channel's minimum retention. */
  readonly until: string;
}

export interface EraseReport {
  readonly requestId: string;
  /** done: erased now; scheduled: erased when the duties end; nothing: nobody to erase. */
  readonly status: 'done' | 'scheduled' | 'nothing';
  readonly dryRun: boolean;
  /** For `scheduled`: when the key is destroyed. */
  readonly dueAt: string | undefined;
  readonly duties: readonly Duty[];
  /** What was done now. */
  readonly now: {
    readonly keys: number;
    readonly indexRows: number;
    readonly exports: readonly string[];
  };
  /** Ids given that the keystore does not know (never logged, or already erased). */
  readonly unknownIds: number;
  /** The `gdpr.erasure` record written (none for a dry run or nobody to erase). */
  readonly recorded: { readonly channel: 'audit'; readonly seq: number } | undefined;
  /**
   * The receipt of that record (c2sp.org/tlog-proof text, docs/receipts.md): it proves with the
   * log's public key alone that the request is in the audit trail. Never holds personal data.
   */
  readonly receipt: string | undefined;
  /** Why there is no receipt although the record was written (the erasure is done all the same). */
  readonly receiptError: string | undefined;
}

/** A new erasure's request id: `era-YYYYMMDD-<16 hex>`, never taken from input. */
export function newErasureId(now: number): string {
  return `era-${new Date(now).toISOString().slice(0, 10).replaceAll('-', '')}-${randomBytes(8).toString('hex')}`;
}

/** What is decided before anything is destroyed. */
export interface ErasurePlan {
  readonly requestId: string;
  readonly status: EraseReport['status'];
  readonly pseudonyms: readonly string[];
  readonly dueAt: string | undefined;
  readonly duties: readonly Duty[];
  /** The ids given that the keystore knows. */
  readonly known: readonly string[];
  readonly exports: readonly string[];
}

/** The status and due date that the people found and their duties give. */
export function decide(
  pseudonyms: readonly string[],
  duties: readonly Duty[],
): { status: EraseReport['status']; dueAt: string | undefined } {
  const status = pseudonyms.length === 0 ? 'nothing' : duties.length > 0 ? 'scheduled' : 'done';
  const dueAt =
    status === 'scheduled'
      ? new Date(Math.max(...duties.map((d) => Date.parse(d.until)))).toISOString()
      : undefined;
  return { status, dueAt };
}

/**
 * The request, as an `audit` event `gdpr.erasure`, durable before anything is destroyed: its
 * subject still resolves to the person's pseudonym (after, it would make a new one), and no
 * erasure goes unrecorded. Its ack is the warrant to destroy the keys.
 */
export function recordErasure(
  logs: LogCore,
  options: EraseOptions,
  plan: ErasurePlan,
): Promise<Ack> {
  const first = plan.known[0];
  return logs.recorders.recordRequest({
    event: 'gdpr.erasure',
    actor: options.requestedBy,
    ...(first === undefined ? {} : { subject: first }),
    outcome: 'success',
    msg: `GDPR erasure ${plan.requestId}: ${plan.status}`,
    data: {
      request_id: plan.requestId,
      kind: 'erasure',
      status: plan.status,
      reason: options.reason,
      pseudonyms: plan.pseudonyms,
      ...(plan.dueAt === undefined ? {} : { due_at: plan.dueAt }),
      duties: plan.duties.map((d) => ({
        channel: d.channel,
        basis: d.basis,
        until: d.until,
        records: d.records,
      })),
      exports_deleted: plan.exports.length,
    },
  });
}

/** The second record of a scheduled erasure, once its duties have ended. */
export function recordDueErasure(logs: LogCore, r: GdprRequest): Promise<Ack> {
  return logs.recorders.recordRequest({
    event: 'gdpr.erasure',
    actor: 'dihya-logs',
    outcome: 'success',
    msg: `GDPR erasure ${r.requestId}: done (retention duty ended)`,
    data: {
      request_id: r.requestId,
      kind: 'erasure',
      status: 'done',
      pseudonyms: [...r.pseudonyms],
    },
  });
}

/** The scheduled erasures of the register whose day has come. */
export function dueErasures(requests: readonly GdprRequest[], now: number): GdprRequest[] {
  return requests.filter(
    (r) =>
      r.kind === 'erasure' &&
      r.status === 'scheduled' &&
      r.dueAt !== undefined &&
      Date.parse(r.dueAt) <= now,
  );
}

/** Export bundles of these people in the register whose directories are still here. */
export function exportsIn(
  layout: LogLayout,
  requests: readonly GdprRequest[],
  pseudonyms: readonly string[],
): string[] {
  return requests
    .filter((r) => r.kind === 'export' && r.pseudonyms.some((p) => pseudonyms.includes(p)))
    .map((r) => r.requestId)
    .filter((id) => EXPORT_DIR_NAME.test(id) && existsSync(path.join(layout.exportDir, id)));
}

/** Delete an export bundle, only ever a directory directly under export/. */
export function removeExport(layout: LogLayout, requestId: string, logs: LogCore): boolean {
  if (!EXPORT_DIR_NAME.test(requestId)) return false;
  try {
    const root = realpathSync(layout.exportDir);
    const dir = realpathSync(path.join(root, requestId));
    if (path.dirname(dir) !== root)
      throw new LogsError('IO_ERROR', `export/${requestId} leads outside the export directory`);
    rmSync(dir, { recursive: true, force: true });
    return true;
  } catch (err) {
    logs.reportError(
      new LogsError('IO_ERROR', `erasure: export/${requestId} was not removed; remove it by hand`, {
        cause: err,
      }),
    );
    return false;
  }
}

/** The report of an erasure: what was decided, what was done now, and its record's receipt. */
export function eraseReport(
  plan: ErasurePlan,
  options: EraseOptions,
  done: { keys: number; indexRows: number; exports: readonly string[] },
  proof?: { seq: number; receipt?: string; error?: string },
): EraseReport {
  return {
    requestId: plan.requestId,
    status: plan.status,
    dryRun: options.dryRun === true,
    dueAt: plan.dueAt,
    duties: plan.duties,
    now: done,
    unknownIds: options.ids.length - plan.known.length,
    recorded: proof === undefined ? undefined : { channel: 'audit', seq: proof.seq },
    receipt: proof?.receipt,
    receiptError: proof?.error,
  };
}
