import type { Command } from 'commander';
import { CHECKS, runDoctor, tally, type CheckOutcome, type DoctorReport } from '../doctor/index.js';
import type { CheckStatus } from '../doctor/types.js';
import { LogsError } from '../errors.js';
import { LogLayout, readMeta } from '../store/file/index.js';
import { databaseChecks } from '../store/postgres/index.js';
import { configFor, globals, type Io } from './context.js';
import { Progress } from './progress.js';
import { escapeTerminal } from './terminal.js';

interface DoctorCmdOptions {
  readonly json?: boolean;
  readonly verify: boolean;
  readonly progress: boolean;
  readonly check?: string[];
  readonly now?: string;
}

const SYMBOLS: Record<CheckStatus, string> = { ok: '✓', warn: '!', fail: '✗' };
const WORDS: Record<CheckStatus, string> = { ok: 'OK  ', warn: 'WARN', fail: 'FAIL' };
const COLORS: Record<CheckStatus, string> = {
  ok: '\u001b[32m',
  warn: '\u001b[33m',
  fail: '\u001b[31m',
};
const RESET = '\u001b[0m';

export function registerDoctor(program: Command, io: Io): void {
  program
    .command('doctor')
    .description(
      'check the deployment as an auditor would (permissions, master key, verify, checkpoints, retention, classification, tokens, service address) and say what to fix',
    )
    .option('--json', 'print the report as JSON')
    .option('--no-verify', "use the service's last recorded verification instead of running one")
    .option('--check <id...>', `only these checks: ${CHECKS.map((c) => c.id).join(', ')}`)
    .option('--no-progress', 'no progress lines on stderr')
    .option('--now <time>', 'judge ages (tokens, checkpoints, archives) as of this ISO time')
    .addHelpText(
      'after',
      `\nChecks:\n${CHECKS.map((c) => `  ${c.id.padEnd(15)}${c.title}`).join('\n')}\n\nExit status: 0 no check failed (warnings do not fail), 1 a check failed, 2 usage or configuration error.`,
    )
    .action(async (opts: DoctorCmdOptions, cmd: Command) => {
      const checks = selectChecks(opts.check);
      const now = opts.now === undefined ? Date.now() : parseNow(opts.now);
      const config = configFor(cmd, { postgres: true });
      if (config.store.kind === 'postgres') {
        // The database's own checks; the directory checks do not apply to it yet.
        const dbChecks = await databaseChecks(config.store.url, config.store.schema, now);
        const report: DoctorReport = {
          ok: dbChecks.every((c) => c.status !== 'fail'),
          checks: dbChecks,
        };
        const style = styleFor(io);
        if (opts.json !== true) for (const c of dbChecks) io.out(formatCheck(c, style));
        io.out(
          opts.json !== true
            ? `${summaryLine(report)}\n`
            : `${JSON.stringify(toJson(report), null, 2)}\n`,
        );
        process.exitCode = report.ok ? 0 : 1;
        return;
      }
      const layout = new LogLayout(config.dir);
      const meta = readMeta(layout); // a clear error (exit 2) when this is not a logs directory
      let progress: Progress | undefined;
      const human = opts.json !== true;
      const style = styleFor(io);
      const report: DoctorReport = await runDoctor(
        {
          config,
          layout,
          meta,
          keyFile: globals(cmd).keyFile,
          now,
          runVerify: opts.verify,
          onProgress: (done, total, detail) => {
            progress ??= new Progress(io, 'doctor: verify', opts.progress);
            progress.update(done, total, detail);
          },
        },
        {
          checks,
          onCheck: (outcome) => {
            progress?.done();
            progress = undefined;
            if (human) io.out(formatCheck(outcome, style));
          },
          onError: (id, err) => {
            if (globals(cmd).debug === true && err instanceof Error && err.stack !== undefined)
              io.err(`doctor: ${id}: ${err.stack}\n`);
          },
        },
      );
      io.out(human ? `${summaryLine(report)}\n` : `${JSON.stringify(toJson(report), null, 2)}\n`);
      process.exitCode = report.ok ? 0 : 1;
    });
}

function selectChecks(ids: readonly string[] | undefined): typeof CHECKS {
  if (ids === undefined) return CHECKS;
  for (const id of ids)
    if (!CHECKS.some((c) => c.id === id))
      throw new LogsError(
        'USAGE',
        `--check: unknown check "${escapeTerminal(id.slice(0, 40))}"; one of ${CHECKS.map((c) => c.id).join(', ')}`,
      );
  return CHECKS.filter((c) => ids.includes(c.id));
}

function parseNow(text: string): number {
  const t = /^\d{4}-\d{2}-\d{2}(?:T[\d:.]+(?:Z|[+-]\d{2}:\d{2}))?$/.test(text)
    ? Date.parse(text)
    : NaN;
  if (!Number.isFinite(t))
    throw new LogsError('USAGE', '--now: expected an ISO date or time, e.g. 2026-06-01T12:00:00Z');
  return t;
}

interface Style {
  readonly mark: (s: CheckStatus) => string;
}

/** ✓ ! ✗ in colour on a terminal; OK WARN FAIL when not a terminal or with NO_COLOR. */
function styleFor(io: Io): Style {
  const plain = !io.isTTY || (process.env.NO_COLOR ?? '') !== '';
  return {
    mark: (s) => (plain ? WORDS[s] : `${COLORS[s]}${SYMBOLS[s]}${RESET}`),
  };
}

/** One line per check; under a check that is not ok, each finding and its fix. */
function formatCheck(c: CheckOutcome, style: Style): string {
  const lines = [`${style.mark(c.status)} ${c.id.padEnd(15)}${escapeTerminal(c.summary)}`];
  if (c.status !== 'ok')
    for (const f of c.findings) {
      lines.push(`     - ${escapeTerminal(f.what)}`);
      lines.push(`       fix: ${escapeTerminal(f.fix)}`);
    }
  return `${lines.join('\n')}\n`;
}

/** `8 checks: 6 ok, 1 warning, 1 failed`. */
function summaryLine(r: DoctorReport): string {
  const n = tally(r.checks);
  const parts = [`${n.ok} ok`];
  if (n.warn > 0) parts.push(`${n.warn} warning${n.warn === 1 ? '' : 's'}`);
  if (n.fail > 0) parts.push(`${n.fail} failed`);
  return `${r.checks.length} check${r.checks.length === 1 ? '' : 's'}: ${parts.join(', ')}`;
}

/** The `--json` form: `{ ok, checks: [{ id, status, summary, findings }] }`. */
function toJson(r: DoctorReport): unknown {
  return {
    ok: r.ok,
    checks: r.checks.map((c) => ({
      id: c.id,
      status: c.status,
      summary: c.summary,
      findings: c.findings.map((f) => ({ what: f.what, fix: f.fix })),
    })),
  };
}
