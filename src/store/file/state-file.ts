import { readFileSync } from 'node:fs';
import { isHex64 } from '../../crypto/hash.js';
import type { MerkleState } from '../../integrity/merkle.js';
import { ensureDir, writeFileDurable } from '../../util/fs.js';
import type { ChannelState } from './channel-types.js';
import type { LogLayout } from './layout.js';

/** `.integrity/state/<channel>.json`: Merkle peaks at the last checkpoint. A cache, never trusted blindly. */
export interface SavedState {
  readonly size: number;
  readonly offset: number;
  readonly head: string;
  readonly peaks: readonly string[];
  /** Where the checkpoint of `size` starts in the checkpoint log (finds a quiet channel's). */
  readonly cp_offset?: number;
}

export function saveState(
  layout: LogLayout,
  channel: string,
  state: ChannelState,
  merkle: MerkleState,
  cpOffset?: number,
): void {
  const saved: SavedState = {
    size: state.seq,
    offset: state.offset,
    head: state.head,
    peaks: merkle.peaks,
    ...(cpOffset === undefined ? {} : { cp_offset: cpOffset }),
  };
  // No fsync: a lost or stale cache only costs a rescan on the next open.
  ensureDir(layout.stateDir);
  writeFileDurable(layout.stateFile(channel), JSON.stringify(saved), { sync: false });
}

export function loadState(layout: LogLayout, channel: string): SavedState | undefined {
  try {
    const s = JSON.parse(readFileSync(layout.stateFile(channel), 'utf8')) as SavedState;
    const ok =
      Number.isSafeInteger(s.size) &&
      Number.isSafeInteger(s.offset) &&
      isHex64(s.head) &&
      Array.isArray(s.peaks) &&
      s.peaks.every(isHex64) &&
      (s.cp_offset === undefined || (Number.isSafeInteger(s.cp_offset) && s.cp_offset >= 0));
    return ok ? s : undefined;
  } catch {
    return undefined;
  }
}
