/**
 * The export of a person from a database store (PostgreSQL): the same bundle as the file
 * store's (export.ts), found without an index. The person's pseudonyms are every row of the
 * keyed lookup of each id given (instances that first saw them at once each made one); their
 * records are those whose `people` name any of them, each checked against its chain hash.
 */
import { openIfSealed, type ChannelKeyring } from '../crypto/body-cipher.js';
import type { SubjectLookup } from '../crypto/subjects.js';
import { LogsError } from '../errors.js';
import { ChainHasher } from '../integrity/chain.js';
import type { LogCore } from '../log/core.js';
import type { ReceiptBuilder } from '../query/receipt-builder.js';
import { parseLine, readBackStored } from '../query/store-query.js';
import { LogLayout } from '../store/file/index.js';
import type { StorePeople } from '../store/store.js';
import { BundleWriter, createBundleDir } from './bundle.js';
import { Consultations, READ_EVENT } from './consultations.js';
import {
  completeExport,
  ExportTally,
  newExportId,
  type ExportOptions,
  type ExportReport,
} from './export-finish.js';

const PROGRESS_EVERY = 5000;

/**
 * No receipts from a database store yet: its Merkle leaves are not kept where a proof could be
 * built from them. Each record is listed in receipts.json as unproven, with the reason.
 */
const NO_RECEIPTS: Pick<ReceiptBuilder, 'build'> = {
  build: () =>
    Promise.reject(
      new LogsError(
        'PROOF_UNAVAILABLE',
        'the PostgreSQL store makes no receipts yet: the record is in records.json all the same, and dihya-logs verify checks the chain',
        { details: { reason: 'no-leaves' } },
      ),
    ),
};

/** exportSubject() on a database store: see export.ts for what the bundle holds. */
export async function exportFromStore(
  logs: LogCore,
  people: StorePeople,
  options: ExportOptions,
): Promise<ExportReport> {
  // Everything this instance has written is committed first: its records are found too.
  await logs.flush();
  const keys = await people.keysOf(options.ids);
  const mine = new Map(keys.map((k) => [k.pseudonym, k]));
  // Only the person's keys: in a record naming someone else too, the other stays hidden.
  const only: SubjectLookup = {
    keyOf: (p) => mine.get(p)?.key,
    idOf: (p) => mine.get(p)?.id,
  };
  const knownIds = options.ids.filter((id) => keys.some((k) => k.id === id));
  const layout = new LogLayout(logs.dir);
  const requestId = newExportId();
  const bundle = createBundleDir(layout, requestId);
  const out = new BundleWriter(bundle.dir, options.format ?? 'json');
  const consultations = new Consultations(logs.keys.subjectLookup());
  const tally = new ExportTally(out, only, logs.logId, consultations);
  const ring = logs.keys.channelKeyring();
  const hasher = new ChainHasher();
  for await (const r of people.records([...mine.keys()])) {
    tally.add(readBackStored(r, ring, hasher));
    if (tally.count % PROGRESS_EVERY === 0) options.onProgress?.(tally.count);
  }
  out.close();
  options.onProgress?.(tally.count);
  await addReads(people, consultations, new Set(mine.keys()), ring);
  return completeExport({
    logs,
    options,
    requestId,
    root: layout.dir,
    bundle,
    out,
    found: tally.found(),
    consultations,
    knownIds,
    unknownIds: options.ids.length - knownIds.length,
    receipts: NO_RECEIPTS,
    publicKey: logs.publicKey,
    privateKey: people.signingKey(),
  });
}

/**
 * Reads whose audit record names the person among those returned or searched for. Not
 * checked against the chain one by one (they prove nothing about the person's records):
 * `verify` checks the whole audit trail.
 */
async function addReads(
  people: StorePeople,
  consultations: Consultations,
  mine: ReadonlySet<string>,
  ring: ChannelKeyring,
): Promise<void> {
  if (mine.size === 0) return;
  for await (const { seq, line } of people.events('audit', [READ_EVENT])) {
    const record = parseLine(line);
    if (record !== undefined) consultations.addRead(seq, openIfSealed(record, ring).record, mine);
  }
}
