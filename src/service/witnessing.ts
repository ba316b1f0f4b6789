import { asLogsError } from '../errors.js';
import type { LogCore } from '../log/core.js';
import { appendCosignatures, findLatestCheckpoint, readCosignatures } from '../store/file/index.js';
import { WitnessClient, type WitnessChannelStatus } from '../witness/index.js';
import type { IndexAccess } from './index-access.js';
import { WitnessProofs } from './witness-proofs.js';

/**
 * The service's witness client (when `integrity.witnesses` is set): each channel's newest
 * checkpoint, with a consistency proof from the service's index, to every witness; what they
 * answer goes to `.integrity/cosignatures.log` and, when it says the log was rolled back or
 * forked, to the security channel (which the tampering detector watches). Off the write path.
 */
export interface Witnessing {
  /** One round now; resolves when its answers are in. */
  syncNow(): Promise<void>;
  /** What the witnesses have cosigned, per channel. */
  status(): WitnessChannelStatus[];
  close(): Promise<void>;
}

export function startWitnessing(logs: LogCore, index: IndexAccess): Witnessing | undefined {
  const integrity = logs.config.integrity;
  if (integrity.witnesses.length === 0) return undefined;
  const layout = index.layout;
  const meta = { log_id: logs.logId };
  const channels = Object.keys(logs.config.channels);
  const proofs = new WitnessProofs(logs, index);
  const client = new WitnessClient({
    witnesses: integrity.witnesses,
    quorum: integrity.witnessQuorum,
    intervalMs: integrity.witnessIntervalMs,
    latest: () =>
      channels.flatMap((c) => {
        const cp = findLatestCheckpoint(layout, meta, c);
        return cp === undefined ? [] : [cp];
      }),
    consistency: (channel, from, to) => proofs.consistency(channel, from, to),
    store: {
      read: () => readCosignatures(layout),
      append: (list) => appendCosignatures(layout, list),
    },
    onEvent: async (e) => {
      try {
        await logs.recorders.recordIntegrity(e);
      } catch (err) {
        logs.reportError(asLogsError(err));
      }
    },
  });
  client.start();
  return {
    syncNow: () => client.syncNow(),
    status: () => client.status(),
    close: () => client.close(),
  };
}
