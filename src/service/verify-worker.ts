import { parentPort, workerData } from 'node:worker_threads';
import { LogLayout, readMeta, verifyLogs } from '../store/file/index.js';
import { committedLeavesFromIndex } from '../search/index.js';
import { witnessedForVerify } from '../witness/index.js';
import { verifyDatabase } from '../store/postgres/index.js';
import type { VerifyReport } from '../store/verify-report.js';

/** Runs `verify` off the service's thread, posting progress (see verification.ts). */
const { dir, publicKey, logName, witnesses, database } = workerData as {
  dir: string;
  publicKey: string | undefined;
  logName: string | undefined;
  witnesses: Array<{ url: string; key: string }>;
  database: { url: string; schema: string } | undefined;
};
const port = parentPort;
if (port === null) throw new Error('verify-worker runs as a worker thread');
let last = 0;
const onProgress = (p: { bytes: number; totalBytes: number; records: number }): void => {
  const now = Date.now();
  if (now - last < 200) return;
  last = now;
  port.postMessage({ type: 'progress', ...p });
};
port.postMessage({
  type: 'done',
  report:
    database === undefined
      ? await verifyFiles()
      : await verifyDatabase({
          url: database.url,
          schema: database.schema,
          ...(publicKey === undefined ? {} : { publicKey }),
          onProgress,
        }),
});

/** The file store: its logs directory, with the index's committed leaves and the witnesses. */
async function verifyFiles(): Promise<VerifyReport> {
  const layout = new LogLayout(dir);
  let committed: ReturnType<typeof committedLeavesFromIndex> | undefined;
  try {
    committed = committedLeavesFromIndex(layout, readMeta(layout).log_id);
  } catch {
    committed = undefined; // log.json unreadable: verify reports it
  }
  const witnessed = await witnessedForVerify({
    layout,
    publicKey,
    logName,
    witnesses,
    online: true,
  });
  const report = await verifyLogs({
    ...witnessed,
    dir,
    ...(publicKey === undefined ? {} : { publicKey }),
    ...(committed === undefined ? {} : { committedLeaves: committed.leaves }),
    onProgress,
  });
  committed?.close();
  return report;
}
