import type { Command } from 'commander';
import { openLogs } from '../log/open.js';
import type { Logs } from '../log/logs.js';
import { configFor, globals } from './context.js';

/** Open the logs for writing as the CLI: config, --dir and --key-file applied; lock named. */
export async function openForCli(cmd: Command, what: string): Promise<Logs> {
  const g = globals(cmd);
  return openLogs({
    config: configFor(cmd),
    ...(g.keyFile === undefined ? {} : { keyFile: g.keyFile }),
    owner: `dihya-logs ${what} (pid ${process.pid})`,
  });
}
