import type { FollowPosition } from '../store/file/index.js';
import { readJsonFile, writeFileDurable } from '../util/fs.js';

/**
 * Where the detectors stopped reading each channel file, in
 * `.integrity/state/detect.positions.json` (0600): a restarted service reads what was written while it was down instead of starting at
 * the end of the files. Positions only: no record content.
 */
export class PositionStore {
  private readonly file: string;

  constructor(file: string) {
    this.file = file;
  }

  /** The saved positions by channel; none when there is no file or it cannot be read. */
  load(): Map<string, FollowPosition> {
    // Missing or unreadable: start at the end of the files, as on a first start.
    const out = new Map<string, FollowPosition>();
    const channels = (readJsonFile(this.file) as { channels?: unknown } | undefined)?.channels;
    if (typeof channels !== 'object' || channels === null) return out;
    for (const [channel, p] of Object.entries(channels as Record<string, unknown>)) {
      const { ino, offset } = (p ?? {}) as { ino?: unknown; offset?: unknown };
      if (Number.isSafeInteger(ino) && Number.isSafeInteger(offset) && (offset as number) >= 0)
        out.set(channel, { ino: ino as number, offset: offset as number });
    }
    return out;
  }

  /**
   * Replace the saved positions; `durable` waits for the directory too (on close). The contents
   * are synced before they replace the old file either way: after a power loss the detectors
   * find the old or the new positions, never an empty file that would make them start at the
   * end of the files and miss what came in between.
   */
  save(positions: ReadonlyMap<string, FollowPosition>, durable: boolean): void {
    writeFileDurable(
      this.file,
      `${JSON.stringify({ version: 1, channels: Object.fromEntries(positions) })}\n`,
      { sync: durable ? true : 'contents' },
    );
  }
}
