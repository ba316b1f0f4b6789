import { existsSync, readFileSync } from 'node:fs';
import { writeFileDurable } from '../util/fs.js';
import type { PrivilegeMemory } from './detectors.js';
import { setRecent } from './window.js';

const MAX_ENTRIES = 100_000;

/**
 * Which account did which privileged action, in `.integrity/state/detect.privileges.json` (0600): the first-use
 * detector must remember across restarts. Accounts are stored as the pseudonyms the records
 * carry: after a person's erasure nothing here links back to them.
 */
export class FilePrivilegeMemory implements PrivilegeMemory {
  private readonly seen = new Map<string, number>();
  private readonly file: string;

  constructor(file: string) {
    this.file = file;
    if (!existsSync(this.file)) return;
    try {
      const saved = JSON.parse(readFileSync(this.file, 'utf8')) as { privileged?: unknown };
      const entries = saved.privileged;
      if (typeof entries === 'object' && entries !== null)
        for (const [k, v] of Object.entries(entries))
          if (typeof v === 'number') this.seen.set(k, v);
    } catch {
      // Unreadable: start again (a few first-use alerts too many, none missed).
    }
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
