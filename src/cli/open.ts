import type { Command } from 'commander';
import { asLogsError } from '../errors.js';
import { openLogCore } from '../log/open.js';
import { refreshPolicyReadme } from '../policy/readme.js';
import type { LogCore } from '../log/core.js';
import { configFor, globals } from './context.js';

/** The commands that open the logs and work on the PostgreSQL store. */
const ON_POSTGRES = [
  'write',
  'serve',
  'export',
  'erase',
  'token create',
  'token list',
  'token revoke',
  'token rotate',
];

/**
 * Open the logs for writing as the CLI (and `serve`): config, --dir and --key-file applied; lock
 * named; README.md brought up to date with the policy.
 */
export async function openForCli(cmd: Command, what: string): Promise<LogCore> {
  const g = globals(cmd);
  // On the PostgreSQL store: writing, GDPR requests and tokens (serve refuses with its own reason).
  const config = configFor(cmd, { postgres: ON_POSTGRES.includes(what) });
  const logs = await openLogCore({
    config,
    ...(g.keyFile === undefined ? {} : { keyFile: g.keyFile }),
    owner: `dihya-logs ${what} (pid ${process.pid})`,
  });
  // README.md in the logs directory says the policy now in force.
  refreshPolicyReadme(config, (err) => logs.reportError(asLogsError(err)));
  return logs;
}
