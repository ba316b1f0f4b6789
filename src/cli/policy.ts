import path from 'node:path';
import { Option, type Command } from 'commander';
import { buildPolicy } from '../policy/model.js';
import { renderMarkdown } from '../policy/markdown.js';
import { renderHtml } from '../policy/html.js';
import { sourceLabel } from '../policy/state.js';
import { configFor, type Io } from './context.js';

interface PolicyOptions {
  readonly format: 'md' | 'html';
}

/** `dihya-logs policy`: the effective log policy of the configuration, for people. */
export function registerPolicy(program: Command, io: Io): void {
  program
    .command('policy')
    .description(
      'print the log policy of the configuration: what is logged where, what is never logged or is encrypted, retention, access, integrity, GDPR, detectors',
    )
    .addOption(
      new Option('--format <format>', 'md (Markdown) or html (a standalone page)')
        .choices(['md', 'html'])
        .default('md'),
    )
    .addHelpText(
      'after',
      `
The same policy is kept as README.md in the logs directory, rewritten when the logs are opened
with a configuration that changes it (and the change is an audit event config.policy.changed).
Nothing is opened or written: only the configuration is read.`,
    )
    .action((opts: PolicyOptions, cmd: Command) => {
      const config = configFor(cmd);
      const doc = buildPolicy(config, { dir: shownDir(config.dir), source: sourceLabel(config) });
      io.out(opts.format === 'html' ? renderHtml(doc) : renderMarkdown(doc));
    });
}

/** The logs directory relative to the working directory when it is below it (`./logs`). */
function shownDir(dir: string): string {
  const rel = path.relative(process.cwd(), dir);
  if (rel === '') return '.';
  return rel.startsWith('..') || path.isAbsolute(rel) ? dir : `./${rel}`;
}
