import type { Command } from 'commander';
import { DAMAGE_KINDS, damagePlace } from '../integrity/damage.js';
import { existsSync } from 'node:fs';
import type { VerifyReport } from '../store/verify-report.js';
import { LogLayout, readMeta, verifyLogs } from '../store/file/index.js';
import { verifyDatabase } from '../store/postgres/index.js';
import { committedLeavesFromIndex } from '../search/index.js';
import { witnessedForVerify } from '../witness/index.js';
import { configFor, type Io } from './context.js';
import { Progress } from './progress.js';
import { escapeTerminal } from './terminal.js';

interface VerifyCmdOptions {
  readonly channel?: string[];
  readonly json?: boolean;
  readonly deep?: boolean;
  readonly publicKey?: string;
  readonly progress?: boolean;
  readonly witnesses?: boolean;
}

export function registerVerify(program: Command, io: Io): void {
  program
    .command('verify')
    .description(
      'check every record, chain, checkpoint signature and checkpoint against the records',
    )
    .option('--channel <name...>', 'only these channels (the checkpoint log is always checked)')
    .option(
      '--public-key <key>',
      'the expected public key (default: integrity.public_key from the configuration)',
    )
    .option('--deep', 'also parse every record and check its fields and canonical form (slower)')
    .option('--json', 'print the report as JSON')
    .option('--no-progress', 'no progress lines on stderr')
    .option(
      '--no-witnesses',
      'do not ask the configured witnesses (the cosignatures kept in .integrity/ are still compared)',
    )
    .addHelpText(
      'after',
      '\nExit status: 0 intact, 1 damage found, 2 usage or configuration error.',
    )
    .action(async (opts: VerifyCmdOptions, cmd: Command) => {
      const config = configFor(cmd, { postgres: true });
      const progress = new Progress(io, 'verify', opts.progress !== false);
      const publicKey = opts.publicKey ?? config.integrity.publicKey;
      if (config.store.kind === 'postgres') {
        // The database is the log: its rows, its signed logs (no witnesses on it yet).
        const report = await verifyDatabase({
          url: config.store.url,
          schema: config.store.schema,
          ...(opts.channel === undefined ? {} : { channels: opts.channel }),
          ...(publicKey === undefined ? {} : { publicKey }),
          deep: opts.deep === true,
        });
        io.out(opts.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
        process.exitCode = report.ok ? 0 : 1;
        return;
      }
      const layout = new LogLayout(config.dir);
      const committed = committedLeaves(layout);
      const witnessed = await witnessedForVerify({
        layout,
        publicKey,
        logName: config.integrity.logName,
        witnesses: config.integrity.witnesses,
        online: opts.witnesses !== false,
      });
      let report: VerifyReport;
      try {
        report = await verifyLogs({
          ...witnessed,
          dir: config.dir,
          ...(opts.channel === undefined ? {} : { channels: opts.channel }),
          ...(publicKey === undefined ? {} : { publicKey }),
          deep: opts.deep === true,
          ...(committed === undefined ? {} : { committedLeaves: committed.leaves }),
          onProgress: (p) =>
            progress.update(p.bytes, p.totalBytes, `${p.records.toLocaleString('en-US')} records`),
        });
      } finally {
        committed?.close();
      }
      progress.done();
      io.out(opts.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatReport(report));
      process.exitCode = report.ok ? 0 : 1;
    });
}

/** The report for a person: a verdict, one line per channel, the damage and the warnings. */
export function formatReport(r: VerifyReport): string {
  const lines: string[] = [];
  const verdict = r.ok ? 'INTACT' : 'DAMAGED';
  lines.push(
    `${verdict}: ${r.dir} (log ${r.logId ?? '?'}, ${r.records.toLocaleString('en-US')} records, ${(r.durationMs / 1000).toFixed(2)} s)`,
  );
  for (const c of r.channels) {
    const state = c.ok ? 'ok' : 'DAMAGED';
    lines.push(
      `  ${c.channel.padEnd(10)} ${String(c.records).padStart(10)} records  ${String(c.checkpoints).padStart(5)} checkpoints  ${state}`,
    );
  }
  lines.push(
    `  ${'checkpoints'.padEnd(10)} ${String(r.checkpoints.count).padStart(10)} signed      ${r.checkpoints.ok ? 'ok' : 'DAMAGED'}`,
  );
  for (const d of r.damage) {
    lines.push(`DAMAGE ${d.kind} at ${damagePlace(d)}: ${d.detail}`);
    lines.push(`       (${DAMAGE_KINDS[d.kind]})`);
  }
  for (const w of r.warnings)
    lines.push(`warning ${w.kind}${w.file === undefined ? '' : ` (${w.file})`}: ${w.detail}`);
  return `${lines.map(escapeTerminal).join('\n')}\n`;
}

/** The index's leaves, to name a rewritten record; none when log.json is unreadable (damage). */
function committedLeaves(
  layout: LogLayout,
): ReturnType<typeof committedLeavesFromIndex> | undefined {
  try {
    return existsSync(layout.metaFile)
      ? committedLeavesFromIndex(layout, readMeta(layout).log_id)
      : undefined;
  } catch {
    return undefined;
  }
}
