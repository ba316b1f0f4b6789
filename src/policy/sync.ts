import type { Config } from '../config/resolve.js';
import { LogsError, asLogsError } from '../errors.js';
import type { EventInput } from '../event/record.js';
import type { LogLayout } from '../store/file/index.js';
import { policyChangeEvent, readStoredSummary, sourceLabel, storeSummary } from './state.js';
import { diffSummary, policySummary, type PolicyChange } from './summary.js';

export interface PolicySyncOptions {
  readonly layout: LogLayout;
  readonly config: Config;
  /** No channel holds a record yet: the first open after init, whose policy is no change. */
  readonly fresh: boolean;
  /** Store an event durably; null when its channel's minimum level drops it. */
  readonly write: (event: EventInput) => Promise<unknown>;
  readonly onError: (err: LogsError) => void;
}

/**
 * At open, compare the policy the configuration states with the one stored at the last open
 * (`.integrity/state/policy.summary.json`). A difference is an `audit` event
 * `config.policy.changed` naming the changed keys, durable before the new summary is stored,
 * so a crash in between repeats the event rather than losing it. Returns the changes recorded.
 * (README.md, the policy for people, is written by the CLI and the service: policy/readme.ts.)
 *
 * Without a stored summary, a fresh log stores it silently; a log with records records the
 * whole policy (`previous: missing`): the summary was removed, or this is the first open by a
 * version that keeps one. Failing to write the event fails the open; failing to store the
 * summary or the README is reported, as the next open repeats them.
 */
export async function syncPolicy(o: PolicySyncOptions): Promise<readonly PolicyChange[]> {
  const current = policySummary(o.config);
  const stored = readStoredSummary(o.layout);
  let changes: PolicyChange[] = [];
  let previous: 'missing' | 'unreadable' | undefined;
  if (stored.state === 'ok') changes = diffSummary(stored.summary, current);
  else if (stored.state === 'unreadable' || !o.fresh) {
    changes = diffSummary({}, current);
    previous = stored.state;
  }
  const unchanged = stored.state === 'ok' && changes.length === 0;
  if (changes.length > 0) await record(o, changes, previous);
  if (!unchanged) {
    try {
      storeSummary(o.layout, current);
    } catch (err) {
      o.onError(asLogsError(err));
    }
  }
  return changes;
}

async function record(
  o: PolicySyncOptions,
  changes: readonly PolicyChange[],
  previous: 'missing' | 'unreadable' | undefined,
): Promise<void> {
  const source = sourceLabel(o.config);
  const budget = Math.min(32 * 1024, Math.floor(o.config.limits.maxRecordBytes / 2));
  const event = (b: number): EventInput =>
    policyChangeEvent(changes, {
      source,
      budget: b,
      ...(previous === undefined ? {} : { previous }),
    });
  let ack: unknown;
  try {
    ack = await o.write(event(budget));
  } catch (err) {
    // Classification can make values longer than they were: name the keys only, then.
    if (asLogsError(err).code !== 'EVENT_TOO_LARGE') throw err;
    ack = await o.write(event(0));
  }
  if (ack === null)
    o.onError(
      new LogsError(
        'EVENT_INVALID',
        `audit: config.policy.changed is below the channel's minimum level (channels.audit.min_level): the policy change was not recorded`,
      ),
    );
}
