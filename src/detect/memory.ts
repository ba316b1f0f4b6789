import { readJsonFile, writeFileDurable } from '../util/fs.js';
import type { PrivilegeMemory } from './detectors.js';
import { setRecent } from './window.js';

const MAX_ENTRIES = 100_000;

/**
 * Which account did which privileged action, in `.integrity/state/detect.privileges.json`
 * (0600): the first-use detector must remember across restarts. Accounts are stored as the pseudonyms the records
 * carry: after a person's erasure nothing here links back to them.
 */
export class FilePrivilegeMemory implements PrivilegeMemory {
  private readonly seen = new Map<string, number>();
  private readonly file: string;

  constructor(file: string) {
    this.file = file;
    // Missing or unreadable: start again (a few first-use alerts too many, none missed).
    const entries = (readJsonFile(file) as { privileged?: unknown } | undefined)?.privileged;
    if (typeof entries === 'object' && entries !== null)
      for (const [k, v] of Object.entries(entries)) if (typeof v === 'number') this.seen.set(k, v);
  }

  has(account: string, action: string): boolean {
    return this.seen.has(`${account} ${action}`);
  }

  add(account: string, action: string, ts: number): void {
    setRecent(this.seen, `${account} ${action}`, ts, MAX_ENTRIES);
    writeFileDurable(
      this.file,
      `${JSON.stringify({ version: 1, privileged: Object.fromEntries(this.seen) })}\n`,
    );
  }
}
