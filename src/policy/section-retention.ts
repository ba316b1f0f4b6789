import { code, codes, list, paragraph, pre, section, t, table, text, type Section } from './doc.js';
import { docLink, type PolicyContext } from './context.js';
import { days } from '../util/units.js';

/** How long each channel is kept, legal holds, retention duties. */
export function retentionSection(ctx: PolicyContext): Section {
  const { config } = ctx;
  const duty = config.gdpr.retentionDuty;
  const rows = Object.entries(config.channels).map(([name, c]) => {
    const d = duty[name];
    return [
      t`${code(name)}`,
      text(days(c.retention.minDays)),
      text(days(c.retention.maxDays)),
      d === undefined ? text('none') : t`${days(c.retention.minDays)}: ${d.basis}`,
    ];
  });
  const unconfigured = Object.keys(duty).filter((c) => config.channels[c] === undefined);
  const job = config.scheduler.jobs.retention;
  return section('Retention and legal holds', [
    table(
      ['channel', 'kept at least', 'deleted after', 'retention duty (GDPR) and its basis'],
      rows,
    ),
    ...(unconfigured.length === 0
      ? []
      : [
          paragraph(
            t`A retention duty is configured for channels that do not exist: ${codes(unconfigured)}.`,
          ),
        ]),
    list([
      t`Records stay in their channel's active file until it is rotated, then in a sealed archive. An archive's age is the number of whole days since its newest record; it is deleted once its age is above the channel's ${code('retention.max_days')}, never before ${code('retention.min_days')} (a configuration that would is refused). Deletion is by whole archive, so its oldest records can outlive the maximum by the span of the archive (at most a day with daily rotation).`,
      job.enabled
        ? t`Retention runs in the ${code('retention')} job (cron ${code(job.cron)}, UTC) of ${code('dihya-logs scheduler')} or ${code('serve')}, or by hand with ${code('dihya-logs retention')} (${code('--dry-run')} shows the decisions).`
        : t`The ${code('retention')} job is disabled (${code('scheduler.jobs.retention.enabled: false')}): archives are deleted only when ${code('dihya-logs retention')} is run by hand.`,
      t`Each deletion first signs a tombstone into the segment log, so ${code('verify')} knows the records were removed on purpose, then writes ${code('retention.segment.deleted')} to ${code('audit')}.`,
      t`A retention duty keeps a person's records for the channel's minimum retention whatever the person asks; their erasure is then scheduled for when the duty ends (${link(ctx)}).`,
      t`Archives of a channel removed from the configuration are kept. GDPR export bundles in ${code('export/')} are deleted when the person is erased.`,
    ]),
    paragraph(
      t`**Legal hold.** A channel under legal hold keeps all its archives: retention deletes none of them and the writer refuses any deletion in it, until the hold is cleared. Holds are set and cleared from the command line, with a reason, and both are recorded in ${code('audit')} (${code('retention.hold.set')}, ${code('retention.hold.cleared')}) and signed into the segment log:`,
    ),
    pre(
      'dihya-logs hold set   --channel audit --reason "case 2026-114, court order"\ndihya-logs hold clear --channel audit --reason "case closed"',
    ),
    paragraph(
      t`This document is generated from the configuration: current holds are not listed here; ${code('dihya-logs retention --dry-run')} shows them. Details: ${docLink(ctx, 'lifecycle.md', 'lifecycle.md#retention')}.`,
    ),
  ]);
}

function link(ctx: PolicyContext): ReturnType<typeof docLink> {
  return docLink(ctx, 'gdpr.md', 'gdpr.md#erasure-art-17');
}

/** Export, erasure, the register and its deadlines. */
export function gdprSection(ctx: PolicyContext): Section {
  const { config } = ctx;
  const duties = Object.keys(config.gdpr.retentionDuty).filter(
    (c) => config.channels[c] !== undefined,
  );
  const erasure = config.scheduler.jobs.erasure;
  return section('GDPR requests', [
    list([
      t`**Access and portability (Art. 15, 20)**: ${code('dihya-logs export --subject ID')} (or ${code('POST /v1/gdpr/exports')}, roles ${codes(['dpo', 'admin'])}) gathers every record of the person in every channel and archive, decrypted with their key only, into ${code('export/<request-id>/')}: records (JSON or CSV), a summary in English and French, who consulted their data, and a manifest signed with the log's key.`,
      t`**Erasure (Art. 17)**: ${code('dihya-logs erase --subject ID --reason TEXT')} (or ${code('POST /v1/gdpr/erasures')}) destroys the person's key and pseudonym mapping: every record about them, archives and backups included, becomes anonymous and unreadable, and the chain still verifies. Their rows leave the index and their earlier export bundles are deleted.`,
      duties.length === 0
        ? t`**Retention duty**: none configured (${code('gdpr.retention_duty')}): an erasure is carried out at once.`
        : t`**Retention duty**: while the person has records younger than their channel's minimum retention in ${codes(duties)}, the erasure is scheduled for the day the last duty ends; what can go goes at once, and the report says what is kept, where, until when and why. ${erasure.enabled ? t`The ${code('erasure')} job (cron ${code(erasure.cron)}, UTC) carries it out.` : t`The ${code('erasure')} job is disabled: run ${code('dihya-logs erase --due')} to carry out due erasures.`}`,
      t`**Deadline**: one month from receipt (Art. 12(3)). ${code('dihya-logs requests')} (or ${code('GET /v1/gdpr/requests')}) lists every request with its status and deadline, and marks ${code('LATE')} one neither done nor scheduled by then. The register is read from the ${code('audit')} channel itself (${code('gdpr.export')}, ${code('gdpr.erasure')}), as tamper-evident as the rest of the log.`,
    ]),
    paragraph(t`Details: ${docLink(ctx, 'gdpr.md', 'gdpr.md')}.`),
  ]);
}
