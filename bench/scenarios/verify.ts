import { verifyLogs } from '../../src/index.js';
import type { Measured, WorkerTask } from '../result.js';

/**
 * verifyLogs over the directory the buffered dihya-logs scenario wrote, with its public key
 * pinned: every record against the chain, every checkpoint's signature and Merkle root.
 */
export async function verify(task: WorkerTask): Promise<Measured> {
  if (task.logsDir === undefined || task.publicKey === undefined)
    throw new Error('verify needs the logs directory and public key of the buffered scenario');
  const started = performance.now();
  const report = await verifyLogs({ dir: task.logsDir, publicKey: task.publicKey });
  const ms = performance.now() - started;
  return {
    events: report.records,
    ms,
    bytes: report.bytes,
    extra: {
      ok: report.ok,
      damage: report.damage.length,
      warnings: report.warnings.map((w) => w.kind).join(',') || 'none',
      checkpoints: report.checkpoints.count,
    },
  };
}
