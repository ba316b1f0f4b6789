import { parentPort, workerData } from 'node:worker_threads';
import { LogLayout, readMeta, verifyLogs } from '../store/file/index.js';
import { committedLeavesFromIndex } from '../search/index.js';
import { witnessedForVerify } from '../witness/index.js';

/** Runs `verify` off the service's thread, posting progress (see verification.ts). */
const { dir, publicKey, logName, witnesses } = workerData as {
  dir: string;
  publicKey: string | undefined;
  logName: string | undefined;
  witnesses: Array<{ url: string; key: string }>;
};
const port = parentPort;
if (port === null) throw new Error('verify-worker runs as a worker thread');
let last = 0;
const layout = new LogLayout(dir);
let committed: ReturnType<typeof committedLeavesFromIndex> | undefined;
try {
  committed = committedLeavesFromIndex(layout, readMeta(layout).log_id);
} catch {
  committed = undefined; // log.json unreadable: verify reports it
}
const witnessed = await witnessedForVerify({ layout, publicKey, logName, witnesses, online: true });
const report = await verifyLogs({
  ...witnessed,
  dir,
  ...(publicKey === undefined ? {} : { publicKey }),
  ...(committed === undefined ? {} : { committedLeaves: committed.leaves }),
  onProgress: (p) => {
    const now = Date.now();
    if (now - last < 200) return;
    last = now;
    port.postMessage({ type: 'progress', ...p });
  },
});
committed?.close();
port.postMessage({ type: 'done', report });
