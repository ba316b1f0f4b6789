import { damagePlace } from '../integrity/damage.js';
import { LogsError } from '../errors.js';
import type { Config, JobName } from '../config/resolve.js';
import type { LogCore } from '../log/core.js';
import type { JobFn } from '../scheduler/scheduler.js';
import { verifyLogs } from '../store/file/index.js';
import { applyRetention } from './retention.js';
import { eraseDue } from '../gdpr/erase.js';

/** The built-in jobs, bound to the open logs and their configuration. */
export function builtinJobs(logs: LogCore, config: Config): Record<JobName, JobFn> {
  return {
    /** Carry out the GDPR erasures scheduled for when a retention duty ends, once it has. */
    erasure: async () => {
      const done = await eraseDue(logs);
      return { erased: done.length };
    },
    /**
     * Rotate the channels that are due without a record to trigger it: an active file begun on
     * an earlier UTC day (a quiet channel at midnight), or at its size limit.
     */
    rotate: async () => {
      const results = await logs.lifecycle.rotateDue();
      return {
        rotated: results.length,
        sealed: results.filter((r) => r.seal !== undefined).length,
      };
    },
    /** Seal the rotated segments still waiting in staging (a failed or interrupted seal). */
    archive: async () => {
      const sealed = await logs.lifecycle.seal();
      return { sealed: sealed.length, bytes: sealed.reduce((n, s) => n + s.size, 0) };
    },
    /** Delete archives past their retention, with tombstones and audit events. */
    retention: async () => {
      const report = await applyRetention(logs);
      return {
        deleted: report.deleted,
        bytes: report.bytes,
        kept: report.decisions.length - report.deleted,
      };
    },
    /** Write, sync and sign a checkpoint for every channel that changed since the last one. */
    checkpoint: async () => {
      await logs.checkpoint();
      return { channels: logs.channels.length };
    },
    /** Verify the whole directory; damage fails the job (INTEGRITY_STATE) and names the place. */
    verify: async () => {
      await logs.flush(); // what this process wrote is checkpointed, so nothing reads as unsigned
      const publicKey = config.integrity.publicKey;
      const report = await verifyLogs({
        dir: logs.dir,
        ...(publicKey === undefined ? {} : { publicKey }),
      });
      if (!report.ok) {
        const d = report.damage[0];
        const where = d === undefined ? '' : ` at ${damagePlace(d)}`;
        throw new LogsError(
          'INTEGRITY_STATE',
          `verify found ${report.damage.length} damage(s): ${d?.kind ?? 'unknown'}${where}; run \`dihya-logs verify\``,
          { details: { damage: report.damage.length } },
        );
      }
      return {
        records: report.records,
        channels: report.channels.length,
        checkpoints: report.checkpoints.count,
        warnings: report.warnings.length,
      };
    },
  };
}
