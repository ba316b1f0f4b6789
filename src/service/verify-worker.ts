import { parentPort, workerData } from 'node:worker_threads';
import { verifyLogs } from '../store/file/verify.js';

/** Runs `verify` off the service's thread, posting progress (see verification.ts). */
const { dir, publicKey } = workerData as { dir: string; publicKey: string | undefined };
const port = parentPort;
if (port === null) throw new Error('verify-worker runs as a worker thread');
let last = 0;
const report = await verifyLogs({
  dir,
  ...(publicKey === undefined ? {} : { publicKey }),
  onProgress: (p) => {
    const now = Date.now();
    if (now - last < 200) return;
    last = now;
    port.postMessage({ type: 'progress', ...p });
  },
});
port.postMessage({ type: 'done', report });
