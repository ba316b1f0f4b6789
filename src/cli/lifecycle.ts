import type { Command } from 'commander';
import { LogsError } from '../errors.js';
import { applyRetention, type RetentionDecision } from '../lifecycle/retention.js';
import type { Io } from './context.js';
import { openForCli } from './open.js';
import { escapeTerminal } from './terminal.js';

function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(2)} MiB`;
}

/** `dihya-logs rotate`, `retention` and `hold`: the life of segments, from the command line. */
export function registerLifecycle(program: Command, io: Io): void {
  program
    .command('rotate')
    .description(
      'rotate now: close the active file of a channel (or all) as a sealed, compressed archive',
    )
    .option('--channel <name>', 'only this channel')
    .option('--json', 'print the result as JSON')
    .action(async (opts: { channel?: string; json?: boolean }, cmd: Command) => {
      const logs = await openForCli(cmd, 'rotate');
      try {
        const results = await logs.lifecycle.rotate(opts.channel);
        if (opts.json === true) {
          io.out(`${JSON.stringify(results, null, 2)}\n`);
        } else {
          for (const r of results) {
            if (!r.rotated) io.out(`${r.channel}: empty, nothing to rotate\n`);
            else if (r.seal === undefined)
              io.out(
                `${r.channel}: records ${r.first} to ${r.last} rotated; sealing failed and will be retried (see the scheduler channel)\n`,
              );
            else
              io.out(
                escapeTerminal(
                  `${r.channel}: records ${r.first} to ${r.last} sealed into ${r.seal.file} (${mib(r.seal.bytes)} -> ${mib(r.seal.size)}, ${Math.round(r.seal.durationMs)} ms)`,
                ) + '\n',
              );
          }
        }
        process.exitCode = results.some((r) => r.rotated && r.seal === undefined) ? 1 : 0;
      } finally {
        await logs.close();
      }
    });

  program
    .command('retention')
    .description(
      'delete archives past their maximum retention (never before their minimum, never under a legal hold), leaving signed tombstones',
    )
    .option('--dry-run', 'only say what would be deleted and why')
    .option('--json', 'print the decisions as JSON')
    .action(async (opts: { dryRun?: boolean; json?: boolean }, cmd: Command) => {
      const logs = await openForCli(cmd, 'retention');
      try {
        const report = await applyRetention(logs, {
          dryRun: opts.dryRun === true,
          onDecision: (d) => {
            if (opts.json !== true)
              io.out(`${escapeTerminal(formatDecision(d, opts.dryRun === true))}\n`);
          },
        });
        if (opts.json === true) io.out(`${JSON.stringify(report, null, 2)}\n`);
        else if (report.dryRun) {
          const n = report.decisions.filter((d) => d.action === 'delete').length;
          io.out(`dry run: ${n} archive(s) would be deleted; nothing was changed\n`);
        } else io.out(`${report.deleted} archive(s) deleted, ${mib(report.bytes)} freed\n`);
      } finally {
        await logs.close();
      }
    });

  const hold = program
    .command('hold')
    .description('legal holds: while a channel is held, retention deletes none of its archives');
  for (const action of ['set', 'clear'] as const) {
    hold
      .command(action)
      .description(action === 'set' ? 'suspend deletion in a channel' : 'lift a legal hold')
      .requiredOption('--channel <name>', 'the channel')
      .requiredOption('--reason <text>', 'why (a case, a request, a decision): recorded and signed')
      .action(async (opts: { channel: string; reason: string }, cmd: Command) => {
        if (opts.reason.trim().length < 3)
          throw new LogsError('USAGE', '--reason must say why (at least 3 characters)');
        const logs = await openForCli(cmd, `hold ${action}`);
        try {
          await logs.lifecycle.hold(opts.channel, action === 'set', opts.reason.trim());
          io.out(
            escapeTerminal(
              action === 'set'
                ? `legal hold set on ${opts.channel}: retention deletes nothing there until it is cleared`
                : `legal hold on ${opts.channel} cleared: retention applies again`,
            ) + '\n',
          );
        } finally {
          await logs.close();
        }
      });
  }
}

function formatDecision(d: RetentionDecision, dryRun: boolean): string {
  const verb = d.action === 'delete' ? (dryRun ? 'would delete' : 'delete') : 'keep';
  return `${verb.padEnd(12)} ${d.file}  (${d.ageDays} days old: ${d.why})`;
}
