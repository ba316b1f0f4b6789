import type { DetectionRule } from '../config/detection.js';
import { code, codes, list, paragraph, section, t, table, text, type Inline } from './doc.js';
import type { Block, Section } from './doc.js';
import type { PolicyContext } from './context.js';
import { programName, urlOrigin } from './summary.js';
import { bytes, duration } from '../util/units.js';

/** The detectors on the live stream, their thresholds, and where alerts go. */
export function detectorsSection(ctx: PolicyContext): Section {
  const d = ctx.config.detectors;
  const on = (enabled: boolean): Inline => text(d.enabled && enabled ? 'on' : 'off');
  const fl = d.failedLogins;
  const ls = d.loggingStopped;
  const row = (name: string, enabled: boolean, alerts: string[], when: Inline): Inline[] => [
    t`${code(name)}`,
    on(enabled),
    codes(alerts.map((a) => `alert.${a}`)),
    when,
  ];
  const rows: Inline[][] = [
    row(
      'failed_logins',
      fl.enabled,
      ['brute_force', 'brute_force_address', 'credential_stuffing'],
      t`within ${duration(fl.windowMs)}, failed sign-ins (${codes(fl.events)}): ${fl.perAccount} on one account, ${fl.perAddress} from one address, or ${fl.stuffingAccounts} distinct accounts from one address`,
    ),
    row(
      'access_denied',
      d.accessDenied.enabled,
      ['access_denied_burst'],
      t`${d.accessDenied.threshold} refused accesses (outcome ${code('denied')}) by one account or address within ${duration(d.accessDenied.windowMs)}`,
    ),
    row(
      'privileged',
      d.privileged.enabled,
      ['privileged_first_use'],
      t`an account does one of ${codes(d.privileged.events)} for the first time`,
    ),
    row(
      'gdpr_burst',
      d.gdprBurst.enabled,
      ['gdpr_burst'],
      t`${d.gdprBurst.threshold} GDPR export or erasure requests by one requester within ${duration(d.gdprBurst.windowMs)}`,
    ),
    row(
      'mass_deletion',
      d.massDeletion.enabled,
      ['mass_deletion'],
      t`${d.massDeletion.threshold} deletions (${codes(d.massDeletion.events)}, counting ${code('data.count')}) by one account within ${duration(d.massDeletion.windowMs)}`,
    ),
    row(
      'tampering',
      d.tampering.enabled,
      ['tampering'],
      t`a verification finds damage, or the log was found appended to after close or behind its checkpoint`,
    ),
    row(
      'logging_stopped',
      ls.enabled,
      ['logging_stopped', 'writer_failed', 'disk_low'],
      t`no record on ${codes(ls.channels)} for ${duration(ls.silenceMs)} (since their last record, or since the start); the writer failing; less than ${bytes(ls.minFreeBytes)} free on the logs' filesystem`,
    ),
    row(
      'clock_jump',
      d.clockJump.enabled,
      ['clock_jump'],
      t`the wall clock jumps, or a writer's clock goes back, by more than ${duration(d.clockJump.toleranceMs)}`,
    ),
  ];
  const blocks: Block[] = [
    paragraph(
      d.enabled
        ? t`The detectors watch the records as ${code('dihya-logs serve')} writes them. A detection is a durable ${code('security')} event ${code('alert.<type>')} naming its evidence by channel and seq (never a personal value: accounts as pseudonyms, addresses as keyed digests), then a notification. An alert for one account or address is raised at most once per window.`
        : t`The detectors are off (${code('detectors.enabled: false')}): no alert is raised.`,
    ),
    table(['detector', 'state', 'raises', 'when'], rows),
  ];
  if (d.rules.length > 0)
    blocks.push(
      paragraph(t`Rules from the configuration (${code('detectors.rules')}):`),
      table(
        ['rule', 'raises', 'when'],
        d.rules.map((r) => ruleRow(r)),
      ),
    );
  blocks.push(alerts(ctx));
  return section('Detectors and alerts', blocks);
}

function ruleRow(r: DetectionRule): Inline[] {
  const f = r.filter;
  const filter: Inline[] = [];
  if (f.channel !== undefined) filter.push(t`channel ${code(f.channel)}`);
  if (f.event !== undefined) filter.push(t`event ${code(f.event)}`);
  if (f.level !== undefined) filter.push(t`level ${code(f.level)} and above`);
  if (f.outcome !== undefined) filter.push(t`outcome ${code(f.outcome)}`);
  const what =
    filter.length === 0
      ? text('any record')
      : filter.flatMap((x, i) => (i === 0 ? [...x] : [{ text: ', ' }, ...x]));
  return [
    t`${code(r.name)}${r.description === undefined ? '' : `: ${r.description}`}`,
    t`${code(`alert.rule.${r.name}`)}`,
    t`${r.threshold} records (${what}) within ${duration(r.windowMs)}${r.groupBy === undefined ? '' : t`, per ${code(r.groupBy)}`}`,
  ];
}

function alerts(ctx: PolicyContext): Block {
  const { webhook, command } = ctx.config.alerts;
  const items: Inline[] = [
    t`Every alert is first stored in ${code('security')}; delivery never blocks ingest.`,
  ];
  if (webhook !== undefined)
    items.push(
      t`Webhook: a JSON POST to ${code(urlOrigin(webhook.url))} (origin shown; the path is not), signed with HMAC-SHA256 (header ${code('X-Dihya-Signature')}, the secret from ${code(webhook.secretEnv)}${webhook.secretFile === undefined ? '' : ' or a secret file'}; never in the configuration), ${webhook.attempts} attempts with backoff from ${duration(webhook.backoffMs)}.`,
    );
  if (command !== undefined)
    items.push(
      t`Command: ${code(programName(command.argv[0]))} (arguments not shown) gets each alert as JSON on its standard input, stopped after ${duration(command.timeoutMs)}.`,
    );
  if (webhook === undefined && command === undefined)
    items.push(
      t`No webhook and no command are configured (${code('alerts')}): alerts are only in the ${code('security')} channel.`,
    );
  return list(items);
}
