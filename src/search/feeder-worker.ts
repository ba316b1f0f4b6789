import { parentPort, workerData } from 'node:worker_threads';
import { asLogsError } from '../errors.js';
import { LogLayout } from '../store/file/index.js';
import type { FeederMessage } from './feeder.js';
import { IndexDb } from './index-db.js';
import { catchUp } from './indexer.js';
import { keyringOf, type ChannelKeyList } from '../crypto/body-cipher.js';

/** The index feeder's thread (see feeder.ts). */
const { dir, logId, intervalMs, keys } = workerData as {
  dir: string;
  logId: string;
  intervalMs: number;
  keys: ChannelKeyList;
};
const channelKeys = { list: [...keys] };
const port = parentPort;
if (port === null) throw new Error('feeder-worker runs as a worker thread');

// An object, not a variable: the message handler changes it between awaits.
const control = { stopping: false };
let wake: (() => void) | undefined;
port.on('message', (m: 'stop' | { channel: string; id: number; key: Uint8Array }) => {
  if (m !== 'stop') {
    channelKeys.list.push([m.channel, m.id, m.key]);
  } else {
    control.stopping = true;
    wake?.();
  }
});

/** A function, so that the checker does not take the flag for constant between awaits. */
function stopRequested(): boolean {
  return control.stopping;
}

const post = (m: FeederMessage): void => port.postMessage(m);
const layout = new LogLayout(dir);
let db: IndexDb | undefined;
let failing = false;
while (!control.stopping) {
  try {
    db ??= IndexDb.open(layout, logId);
    const report = await catchUp(layout, logId, db, {
      shouldStop: stopRequested,
      channelKeys: keyringOf(logId, channelKeys.list),
    });
    if (failing) post({ type: 'recovered' });
    failing = false;
    if (report.records > 0 || report.rebuilt !== undefined)
      post({ type: 'indexed', records: report.records, rebuilt: report.rebuilt });
  } catch (err) {
    // Say it once; try again at the next turn (a full disk frees up, a lock is released).
    if (!failing) {
      const e = asLogsError(err);
      post({ type: 'error', code: e.code, message: e.message });
    }
    failing = true;
    db?.close();
    db = undefined;
  }
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, stopRequested() ? 0 : intervalMs);
    wake = () => {
      clearTimeout(timer);
      resolve();
    };
  });
  wake = undefined;
}
db?.close();
port.close();
