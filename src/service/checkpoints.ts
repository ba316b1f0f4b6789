import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { parseCheckpoint, type Checkpoint } from '../integrity/checkpoint.js';
import type { LogLayout } from '../store/file/index.js';

const TAIL_BYTES = 256 * 1024;
// How far back a checkpoint of a given size is looked for (a few hours of a busy log).
const SEARCH_BYTES = 8 * 1024 * 1024;

/**
 * The signed checkpoints in the last `bytes` of the checkpoint log, oldest first. Read-only
 * (the writer may be appending: an unfinished last line is skipped, never moved aside).
 */
function recentCheckpoints(layout: LogLayout, logId: string, bytes: number): Checkpoint[] {
  const fd = openSync(layout.checkpointsFile, 'r');
  let text: string;
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(0, size - bytes);
    const buf = Buffer.alloc(size - start);
    readSync(fd, buf, 0, buf.length, start);
    text = buf.toString('utf8');
  } finally {
    closeSync(fd);
  }
  const lines = text.split('\n');
  lines.pop(); // after the last newline: empty, or a line being written
  const out: Checkpoint[] = [];
  for (const line of lines) {
    try {
      const cp = parseCheckpoint(line);
      if (cp.log_id === logId) out.push(cp);
    } catch {
      // the first line may be cut by the window; an unreadable one is verify's business
    }
  }
  return out;
}

/** The latest signed checkpoint of each channel. */
export function latestCheckpoints(layout: LogLayout, logId: string): Checkpoint[] {
  const latest = new Map<string, Checkpoint>();
  for (const cp of recentCheckpoints(layout, logId, TAIL_BYTES)) latest.set(cp.channel, cp);
  return [...latest.values()].sort((a, b) => a.channel.localeCompare(b.channel));
}

/** A signed checkpoint of a channel at exactly this size, if a recent one has it. */
export function checkpointAt(
  layout: LogLayout,
  logId: string,
  channel: string,
  size: number,
): Checkpoint | undefined {
  return recentCheckpoints(layout, logId, SEARCH_BYTES).find(
    (cp) => cp.channel === channel && cp.size === size,
  );
}
