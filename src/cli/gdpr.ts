import { existsSync } from 'node:fs';
import { userInfo } from 'node:os';
import type { Command } from 'commander';
import { Keystore } from '../crypto/keystore.js';
import { MASTER_KEY_ENV } from '../crypto/masterkey.js';
import { LogsError } from '../errors.js';
import { exportSubject, type ExportReport } from '../gdpr/export.js';
import { eraseDue, eraseSubject, type EraseReport } from '../gdpr/erase.js';
import { listRequests, type GdprRequest } from '../gdpr/requests.js';
import { IndexDb } from '../search/index.js';
import { LogLayout, readMeta } from '../store/file/index.js';
import { escapeTerminal } from '../util/escape.js';
import { configFor, type Io } from './context.js';
import { openForCli } from './open.js';
import { writeNew } from './proof.js';
import { tryMasterKey } from './query.js';

interface ExportFlags {
  readonly subject: string[];
  readonly format: string;
  readonly reason?: string;
  readonly requestedBy?: string;
  readonly json?: boolean;
}

/** `dihya-logs export` and `dihya-logs requests`: GDPR access requests and their register. */
export function registerGdpr(program: Command, io: Io): void {
  program
    .command('export')
    .description(
      'GDPR access/portability: every record of a person, their values decrypted, in export/<request-id>/ with a signed manifest',
    )
    .requiredOption(
      '--subject <id...>',
      'the person: an id, an e-mail... (several: the same person)',
    )
    .option('--format <format>', 'json, or csv (records.csv beside records.json)', 'json')
    .option('--reason <text>', 'why (recorded in the audit event)')
    .option('--requested-by <who>', 'who asks (default: cli:<your user name>)')
    .option('--json', 'print the report as JSON')
    .action(async (opts: ExportFlags, cmd: Command) => {
      if (opts.format !== 'json' && opts.format !== 'csv')
        throw new LogsError('USAGE', '--format: expected json or csv');
      const config = configFor(cmd, { postgres: true });
      const masterKey = tryMasterKey(cmd, new LogLayout(config.dir), config);
      if (masterKey === undefined)
        throw new LogsError(
          'MASTER_KEY_MISSING',
          `an export decrypts personal data: it needs the master key (--key-file or ${MASTER_KEY_ENV})`,
        );
      const logs = await openForCli(cmd, 'export');
      try {
        const report = await exportSubject({
          logs,
          masterKey,
          ids: opts.subject,
          format: opts.format,
          ...(opts.reason === undefined ? {} : { reason: opts.reason }),
          requestedBy: opts.requestedBy ?? `cli:${userInfo().username}`,
          onProgress: (n) => {
            if (n > 0 && n % 50_000 === 0) io.err(`export: ${n.toLocaleString('en-US')} records\n`);
          },
        });
        io.out(opts.json === true ? `${JSON.stringify(report, null, 2)}\n` : exportText(report));
      } finally {
        await logs.close();
      }
    });

  program
    .command('requests')
    .description('the GDPR request register: every export and erasure, its status and deadline')
    .option('--json', 'print the register as JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      const layout = new LogLayout(configFor(cmd).dir);
      const meta = readMeta(layout);
      const masterKey = tryMasterKey(cmd, layout);
      const keystore =
        masterKey === undefined
          ? undefined
          : Keystore.openReadOnly(layout.subjectsFile, masterKey, meta.log_id);
      const db = IndexDb.open(layout, meta.log_id);
      try {
        const requests = await listRequests(
          layout,
          meta.log_id,
          db,
          keystore,
          keystore?.channelKeyring(),
        );
        if (opts.json === true) {
          io.out(`${JSON.stringify(requests, null, 2)}\n`);
          return;
        }
        if (requests.length === 0) {
          io.out('no GDPR request yet\n');
          return;
        }
        io.out(requestsText(requests, Date.now()));
      } finally {
        db.close();
        keystore?.close();
      }
    });
}

/** The export's report for a person to read: counts, files, and what needs attention. */
function exportText(report: ExportReport): string {
  const lines = [
    `export ${report.requestId}: ${report.records} record(s) in ${report.dir}/`,
    ...Object.entries(report.perChannel).map(([c, n]) => `  ${c}: ${n}`),
    `  files: ${report.files.join(', ')}`,
    `  receipts: ${report.receipts.proven} in receipts/${report.receipts.unproven > 0 ? `, ${report.receipts.unproven} record(s) unproven (reasons in receipts.json)` : ''}`,
  ];
  if (report.unknownIds > 0)
    lines.push(
      `note: ${report.unknownIds} of the ids given are unknown to the keystore (never logged, or erased)`,
    );
  if (report.damaged > 0)
    lines.push(
      `warning: ${report.damaged} record(s) failed their hash check and are exported as stored; run dihya-logs verify`,
    );
  return `${lines.map(escapeTerminal).join('\n')}\n`;
}

/** The register, a request a line; one unanswered past its deadline is marked LATE. */
function requestsText(requests: readonly GdprRequest[], now: number): string {
  const lines = requests.map((r) => {
    const answered = r.status === 'done' || r.status === 'scheduled';
    const late = !answered && Date.parse(r.deadline) < now ? ' LATE' : '';
    return `${r.requestId}  ${r.kind.padEnd(8)} ${r.status.padEnd(9)} received ${r.received}  deadline ${r.deadline}${late}  ${r.subject ?? '-'}  ${r.records ?? '-'} record(s)${r.reason === undefined ? '' : `  "${r.reason}"`}`;
  });
  return `${lines.map(escapeTerminal).join('\n')}\n`;
}

interface EraseFlags {
  readonly subject?: string[];
  readonly reason?: string;
  readonly requestedBy?: string;
  readonly dryRun?: boolean;
  readonly due?: boolean;
  readonly json?: boolean;
  readonly receiptOut?: string;
}

/** `dihya-logs erase`: GDPR erasure, now or when retention duties end. */
export function registerErase(program: Command, io: Io): void {
  program
    .command('erase')
    .description(
      "GDPR erasure: destroy a person's key so their records become anonymous and unreadable (scheduled when a retention duty applies)",
    )
    .option('--subject <id...>', 'the person: an id, an e-mail... (several: the same person)')
    .option('--reason <text>', 'why (required, except with --dry-run; recorded in the audit event)')
    .option('--requested-by <who>', 'who asks (default: cli:<your user name>)')
    .option('--dry-run', 'say what would be erased now and later, change nothing')
    .option('--due', 'carry out the scheduled erasures whose retention duties have ended')
    .option('--json', 'print the report as JSON (with the receipt of the erasure record)')
    .option(
      '--receipt-out <file>',
      'write the receipt of the erasure record to this new file (mode 0600)',
    )
    .action(async (opts: EraseFlags, cmd: Command) => {
      const dryRun = opts.dryRun === true;
      // A dry run changes and records nothing: it has nothing to give a reason for.
      if (
        opts.due !== true &&
        (opts.subject === undefined || (opts.reason === undefined && !dryRun))
      )
        throw new LogsError(
          'USAGE',
          'erase: give --subject and --reason (or --due; --dry-run needs no --reason)',
        );
      if (opts.receiptOut !== undefined && (opts.due === true || dryRun))
        throw new LogsError(
          'USAGE',
          '--receipt-out: only an erasure (not --due, --dry-run) makes one',
        );
      // Checked before anything is erased; writeNew refuses it again if it appears meanwhile.
      if (opts.receiptOut !== undefined && existsSync(opts.receiptOut))
        throw new LogsError('USAGE', `${opts.receiptOut} exists: it is not replaced`);
      const logs = await openForCli(cmd, 'erase');
      try {
        if (opts.due === true) {
          const done = await eraseDue(logs);
          io.out(
            opts.json === true
              ? `${JSON.stringify({ done }, null, 2)}\n`
              : done.length === 0
                ? 'no scheduled erasure is due\n'
                : `${done.map((id) => `${id}: done (retention duty ended)`).join('\n')}\n`,
          );
          return;
        }
        const report = await eraseSubject({
          logs,
          ids: opts.subject ?? [],
          // Never recorded by a dry run; eraseSubject still asks for one.
          reason: opts.reason ?? (dryRun ? 'dry run' : ''),
          requestedBy: opts.requestedBy ?? `cli:${userInfo().username}`,
          dryRun,
        });
        const saved =
          opts.receiptOut !== undefined && report.receipt !== undefined
            ? saveReceipt(opts.receiptOut, report.receipt, io)
            : undefined;
        io.out(
          opts.json === true ? `${JSON.stringify(report, null, 2)}\n` : eraseText(report, saved),
        );
      } finally {
        await logs.close();
      }
    });
}

/** Write the receipt; a failure is said, never a reason to hide that the erasure is done. */
function saveReceipt(file: string, receipt: string, io: Io): string | undefined {
  try {
    writeNew(file, receipt);
    return file;
  } catch (err) {
    io.err(
      `warning: the receipt was not written to ${escapeTerminal(file)} (${err instanceof Error ? err.message : String(err)}); it is in --json\n`,
    );
    return undefined;
  }
}

function eraseText(r: EraseReport, saved: string | undefined): string {
  const head = r.dryRun
    ? `erase ${r.requestId} (dry run, nothing changed)`
    : `erase ${r.requestId}`;
  const lines = [
    r.status === 'nothing'
      ? `${head}: nobody to erase: the keystore knows none of these ids (never logged, or already erased)`
      : r.status === 'done'
        ? `${head}: done: the person's key is destroyed; their records are anonymous and unreadable`
        : `${head}: scheduled for ${String(r.dueAt)}: retention duties keep the key until then`,
    `  now: ${r.now.keys} key(s) destroyed, ${r.now.indexRows} index row(s) removed, ${r.now.exports.length} export bundle(s) deleted`,
    ...r.duties.map(
      (d) =>
        `  kept: ${d.records} record(s) in ${d.channel} until ${d.until} (${d.basis}); the key is destroyed then`,
    ),
  ];
  if (r.recorded !== undefined) {
    const what = `receipt of the request record (${r.recorded.channel} #${r.recorded.seq})`;
    lines.push(
      r.receipt === undefined
        ? `  ${what}: none yet (${r.receiptError ?? '?'})`
        : saved !== undefined
          ? `  ${what}: written to ${saved}`
          : `  ${what}: in --json, or write it with --receipt-out FILE (or dihya-logs proof --channel ${r.recorded.channel} --seq ${r.recorded.seq})`,
    );
  }
  if (r.unknownIds > 0 && r.status !== 'nothing')
    lines.push(`note: ${r.unknownIds} of the ids given are unknown to the keystore`);
  return `${lines.map(escapeTerminal).join('\n')}\n`;
}
