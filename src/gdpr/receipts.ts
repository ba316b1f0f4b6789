import path from 'node:path';
import type { ChannelKeyring } from '../crypto/body-cipher.js';
import { parsePublicKey } from '../crypto/sign.js';
import { LogsError } from '../errors.js';
import { catchUp, type IndexDb } from '../search/index.js';
import type { LogCore } from '../log/core.js';
import { ReceiptBuilder, unprovenReason, type UnprovenReason } from '../query/receipt-builder.js';
import type { LogLayout } from '../store/file/index.js';
import { ensureDir, fsyncDir, writeFileDurable } from '../util/fs.js';

/**
 * Receipts of GDPR requests (docs/gdpr.md): the one an erasure returns for its own
 * `gdpr.erasure` record, and those an export bundle carries for the records it holds.
 *
 * None carries the record's line: a stored line holds the person's values encrypted (and in an
 * erasure record, a free-text reason), in an encrypted channel the body is ciphertext under the
 * channel key, and other people's pseudonyms and sealed values may sit beside them. A receipt
 * names the record (channel, seq) and its chain hash, and proves that hash is in a signed tree:
 * public keys check it, and whoever holds the log checks the stored line against it.
 */

/** The folder of an export bundle that holds its receipts, one `<channel>-<seq>.tlog-proof` each. */
export const RECEIPTS_DIR = 'receipts';
/** The bundle's list of proven and unproven records. */
export const RECEIPTS_INDEX = 'receipts.json';

/** A receipt builder over the open logs' directory, with the configured witnesses. */
export function receiptBuilderFor(
  logs: LogCore,
  layout: LogLayout,
  db: IndexDb,
  channelKeys?: ChannelKeyring,
): ReceiptBuilder {
  const witnessKeys = logs.config.integrity.witnesses.map((w) => w.key);
  return new ReceiptBuilder({
    layout,
    db,
    publicKey: parsePublicKey(logs.publicKey),
    witnessKeys,
    quorum: witnessKeys.length === 0 ? 0 : logs.config.integrity.witnessQuorum,
    ...(channelKeys === undefined ? {} : { channelKeys }),
  });
}

/**
 * The receipt of the erasure record `audit` #`seq`, with whatever cosignatures exist now (the
 * witnesses cosign later checkpoints; `dihya-logs proof` makes a better-witnessed one then).
 * The flush makes the writer sign a checkpoint covering the record. Never throws: the erasure
 * is done whatever happens here, so a failure is reported and answered as `error`.
 */
export async function erasureReceipt(
  logs: LogCore,
  layout: LogLayout,
  db: IndexDb,
  seq: number,
): Promise<{ receipt: string } | { error: string }> {
  try {
    await logs.flush();
    await catchUp(layout, logs.logId, db, { channelKeys: logs.keys.channelKeyring() });
    const built = await receiptBuilderFor(logs, layout, db).build('audit', seq);
    return { receipt: built.text };
  } catch (err) {
    const error = new LogsError(
      'PROOF_UNAVAILABLE',
      `erasure: no receipt for its record audit #${seq} (make one later with dihya-logs proof --channel audit --seq ${seq}): ${err instanceof Error ? err.message : String(err)}`,
      { cause: err },
    );
    logs.reportError(error);
    return { error: error.message };
  }
}

/** A record of the bundle without a receipt, and why. */
export interface Unproven {
  readonly channel: string;
  readonly seq: number;
  /** `not-checkpointed`, `no-leaves`, `not-indexed`, or `integrity` (run verify). */
  readonly reason: UnprovenReason | 'integrity';
  readonly detail: string;
}

/** What receipts.json holds. */
export interface ReceiptsIndex {
  readonly v: 1;
  readonly proven: ReadonlyArray<{
    readonly channel: string;
    readonly seq: number;
    readonly file: string;
    readonly tree_size: number;
    readonly cosignatures: number;
  }>;
  readonly unproven: readonly Unproven[];
}

/**
 * Write the receipts of an export's records into `<dir>/receipts/` and the list of them,
 * proven or not, into `<dir>/receipts.json`. Returns the files written, relative to `dir`, for
 * the manifest. Records a receipt cannot be made for are listed, never a reason to fail.
 */
export async function writeExportReceipts(
  builder: Pick<ReceiptBuilder, 'build'>,
  dir: string,
  records: ReadonlyArray<{ readonly channel: string; readonly seq: number }>,
): Promise<{ files: string[]; proven: number; unproven: number }> {
  const proven: Array<ReceiptsIndex['proven'][number]> = [];
  const unproven: Unproven[] = [];
  const files: string[] = [];
  const folder = path.join(dir, RECEIPTS_DIR);
  if (records.length > 0) ensureDir(folder);
  for (const { channel, seq } of records) {
    try {
      const r = await builder.build(channel, seq);
      const file = `${RECEIPTS_DIR}/${channel}-${seq}.tlog-proof`;
      writeFileDurable(path.join(dir, file), r.text, { exclusive: true });
      files.push(file);
      proven.push({ channel, seq, file, tree_size: r.treeSize, cosignatures: r.cosignatures });
    } catch (err) {
      const reason =
        unprovenReason(err) ??
        (err instanceof LogsError && err.code === 'INTEGRITY_STATE' ? 'integrity' : undefined);
      if (reason === undefined) throw err;
      unproven.push({ channel, seq, reason, detail: (err as LogsError).message });
    }
  }
  if (records.length > 0) fsyncDir(folder);
  const index: ReceiptsIndex = { v: 1, proven, unproven };
  writeFileDurable(path.join(dir, RECEIPTS_INDEX), `${JSON.stringify(index, null, 2)}\n`, {
    exclusive: true,
  });
  return { files: [RECEIPTS_INDEX, ...files], proven: proven.length, unproven: unproven.length };
}
