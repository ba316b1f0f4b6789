import path from 'node:path';
import type { Command } from 'commander';
import { LogsError } from '../errors.js';
import { loadMasterKey, masterKeySource } from '../crypto/masterkey.js';
import { importFileLog, type ImportProgress, type ImportReport } from '../store/postgres/index.js';
import { configFor, globals, type Io } from './context.js';
import { Progress } from './progress.js';
import { escapeTerminal } from './terminal.js';
import { formatReport } from './verify.js';

interface ImportCmdOptions {
  readonly from: string;
  readonly json?: boolean;
  readonly progress?: boolean;
}

const PHASES: Readonly<Record<ImportProgress['phase'], string>> = {
  'verify-files': 'verifying the logs directory',
  copy: 'copying',
  'verify-database': 'verifying the database',
};

/**
 * `dihya-logs import --from <logs dir>`: move a logs directory (the file store) into the
 * configured PostgreSQL store, keeping its log id, seqs, chains and signed logs, then verify the
 * database. The directory is verified first and locked while the import runs.
 */
export function registerImport(program: Command, io: Io): void {
  program
    .command('import')
    .description(
      'move a logs directory into the configured PostgreSQL store (store.kind: postgres), keeping its seqs, chains and signatures; verified before and after',
    )
    .requiredOption('--from <dir>', 'the logs directory to import (stop its writer first)')
    .option('--json', 'print the report as JSON')
    .option('--no-progress', 'no progress lines on stderr')
    .addHelpText(
      'after',
      '\nRe-run after an interruption: the import resumes from its staging schema (<schema>_import).\nExit status: 0 imported and verified, 1 refused or not verified, 2 usage or configuration error.',
    )
    .action(async (opts: ImportCmdOptions, cmd: Command) => {
      const config = configFor(cmd, { postgres: true });
      if (config.store.kind !== 'postgres')
        throw new LogsError(
          'CONFIG_INVALID',
          'import moves a logs directory into PostgreSQL: configure store.kind: postgres (and store.url, or DIHYA_LOGS_DATABASE_URL) first',
        );
      const from = path.resolve(opts.from);
      const masterKey = loadMasterKey(
        masterKeySource(globals(cmd).keyFile, config.masterKeyFile),
        from,
      );
      const progress = new Progress(io, 'import', opts.progress !== false);
      const report = await importFileLog({
        dir: from,
        masterKey,
        url: config.store.url,
        schema: config.store.schema,
        publicKey: config.integrity.publicKey,
        idempotencyWindowMs: config.idempotency.windowMs,
        onProgress: (p) =>
          progress.update(
            p.bytes,
            p.totalBytes,
            `${PHASES[p.phase]}, ${p.records.toLocaleString('en-US')} records`,
          ),
      });
      progress.done();
      io.out(opts.json === true ? `${JSON.stringify(report, null, 2)}\n` : formatImport(report));
      process.exitCode = report.ok ? 0 : 1;
    });
}

/** The report for a person: what was copied, then both verifications. */
export function formatImport(r: ImportReport): string {
  const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
  const lines = [
    `${r.ok ? 'IMPORTED' : 'IMPORTED, NOT VERIFIED'}: ${r.from} -> postgres:${r.schema} (log ${r.logId}${r.resumed ? ', resumed' : ''})`,
  ];
  for (const c of r.channels)
    lines.push(
      `  ${c.channel.padEnd(10)} ${String(c.records).padStart(10)} records  seq ${c.seq}` +
        (c.deleted > 0 ? `  (${c.deleted} deleted by retention)` : '') +
        (c.archives > 0 ? `  ${c.archives} archive(s)` : '') +
        (c.signed ? '  reopened' : ''),
    );
  lines.push(
    `  ${r.keystore.subjects} subject key(s), ${r.keystore.erased} erased, ${r.keystore.channelKeys} channel key(s), ${r.idempotencyKeys} idempotency key(s)`,
    `  ${r.checkpoints} checkpoint(s), ${r.segmentEntries} segment log entries copied`,
    `  ${r.records.toLocaleString('en-US')} records in ${s(r.durationsMs.copy)} (${r.recordsPerSecond.toLocaleString('en-US')} records/s); verified in ${s(r.durationsMs.verifyFiles)} before, ${s(r.durationsMs.verifyDatabase)} after`,
    '',
    'before (the logs directory):',
  );
  return `${lines.map(escapeTerminal).join('\n')}\n${formatReport(r.fileVerify)}\nafter (the database):\n${formatReport(r.databaseVerify)}`;
}
