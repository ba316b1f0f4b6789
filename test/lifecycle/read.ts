import { existsSync } from 'node:fs';
import { LogLayout } from '../../src/store/file/layout.js';
import { readSegmentBook } from '../../src/store/file/segment-log.js';
import { channelSources, scanSource } from '../../src/store/file/sources.js';

/** Every record of a channel, archives and active file, oldest first, as a reader sees them. */
export async function readChannel(
  dir: string,
  logId: string,
  channel: string,
): Promise<Array<Record<string, unknown>>> {
  const layout = new LogLayout(dir);
  const out: Array<Record<string, unknown>> = [];
  for (const src of channelSources(layout, readSegmentBook(layout, logId), channel)) {
    if (src.kind === 'deleted' || !existsSync(src.file)) continue;
    await scanSource(src, (bytes) => {
      out.push(JSON.parse(bytes.toString('utf8')) as Record<string, unknown>);
    });
  }
  return out;
}
