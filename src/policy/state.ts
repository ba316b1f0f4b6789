import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/resolve.js';
import type { EventInput } from '../event/record.js';
import type { LogLayout } from '../store/file/index.js';
import { ensureDir, readJsonFile, writeFileDurable } from '../util/fs.js';
import type { PolicyChange, PolicySummary, SummaryValue } from './summary.js';

/** `.integrity/state/` holds caches named after channels; a dot keeps this name out of theirs. */
const SUMMARY_VERSION = 1;

export function summaryFile(layout: LogLayout): string {
  return layout.serviceStateFile('policySummary');
}

/** How the configuration is named in the policy: its file's name, never a path. */
export function sourceLabel(config: Config): string | undefined {
  return config.source === undefined ? undefined : path.basename(config.source);
}

export type StoredSummary =
  | { readonly state: 'missing' }
  | { readonly state: 'unreadable' }
  | { readonly state: 'ok'; readonly summary: PolicySummary };

/** The summary stored at the last open. Parse defensively: the file is on disk, editable. */
export function readStoredSummary(layout: LogLayout): StoredSummary {
  const file = summaryFile(layout);
  if (!existsSync(file)) return { state: 'missing' };
  const parsed = readJsonFile(file);
  if (typeof parsed !== 'object' || parsed === null) return { state: 'unreadable' };
  const { v, summary } = parsed as { v?: unknown; summary?: unknown };
  if (v !== SUMMARY_VERSION || typeof summary !== 'object' || summary === null)
    return { state: 'unreadable' };
  const out: Record<string, SummaryValue> = {};
  for (const [k, value] of Object.entries(summary)) {
    if (!isSummaryValue(value)) return { state: 'unreadable' };
    out[k] = value;
  }
  return { state: 'ok', summary: out };
}

/** Store the summary durably (0600; `.integrity/state/` made 0700 if an old log lacks it). */
export function storeSummary(layout: LogLayout, summary: PolicySummary): void {
  ensureDir(layout.stateDir);
  writeFileDurable(
    summaryFile(layout),
    `${JSON.stringify({ v: SUMMARY_VERSION, summary }, null, 2)}\n`,
  );
}

function isSummaryValue(v: unknown): v is SummaryValue {
  if (typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

/** How many changed keys the message names before `(+N more)`. */
const KEYS_IN_MSG = 3;

/**
 * The `config.policy.changed` audit event: the changed keys with their old and new values
 * (configuration only: no secret is part of the summary). The list is cut to fit in `budget`
 * bytes of JSON; `omitted` counts what was left out, so the record stays under the size limit.
 */
export function policyChangeEvent(
  changes: readonly PolicyChange[],
  options: { previous?: 'missing' | 'unreadable'; source: string | undefined; budget: number },
): EventInput {
  const kept: PolicyChange[] = [];
  let size = 0;
  for (const c of changes) {
    const n = JSON.stringify(c).length + 1;
    if (size + n > options.budget) break;
    kept.push(c);
    size += n;
  }
  const names = changes.slice(0, KEYS_IN_MSG).map((c) => c.key);
  const more = changes.length - names.length;
  const what =
    options.previous === undefined
      ? `policy configuration changed: ${names.join(', ')}${more > 0 ? ` (+${more} more)` : ''}`
      : `policy configuration recorded: no earlier summary could be read (${options.previous}); ${changes.length} setting(s)`;
  return {
    channel: 'audit',
    level: 'AUDIT',
    event: 'config.policy.changed',
    outcome: 'success',
    msg: what,
    data: {
      config: options.source ?? 'defaults',
      count: changes.length,
      changes: kept,
      ...(kept.length < changes.length ? { omitted: changes.length - kept.length } : {}),
      ...(options.previous === undefined ? {} : { previous: options.previous }),
    },
  };
}
