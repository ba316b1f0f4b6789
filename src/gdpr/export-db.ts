/**
 * The export of a person from a database store (PostgreSQL): the same bundle as the file
 * store's (export.ts), found without an index. The person's pseudonyms are every row of the
 * keyed lookup of each id given (instances that first saw them at once each made one); their
 * records are those whose `people` name any of them, each checked against its chain hash.
 */
import { openIfSealed, type ChannelKeyring } from '../crypto/body-cipher.js';
import type { SubjectLookup } from '../crypto/subjects.js';
import { LogsError } from '../errors.js';
import { ChainHasher, rawLineHash } from '../integrity/chain.js';
import type { LogCore } from '../log/core.js';
import type { ReceiptBuilder } from '../query/receipt-builder.js';
import type { ReadStatus } from '../query/read.js';
import { LogLayout } from '../store/file/index.js';
import type { PersonRecord, StorePeople } from '../store/store.js';
import { BundleWriter, createBundleDir } from './bundle.js';
import { Consultations, READ_EVENT } from './consultations.js';
import {
  completeExport,
  ExportTally,
  newExportId,
  type ExportOptions,
  type ExportReport,
  type ReadBack,
} from './export-finish.js';

const PROGRESS_EVERY = 5000;
/** Where a database record is said to have been read from (as `verify` names it). */
const TABLE = 'dl_records';

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
    tally.add(readBack(r, ring, hasher));
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
 * A stored record read back: parsed, checked against its chain hash (`unverified` when the
 * hash before it is gone), an encrypted channel's body opened.
 */
function readBack(r: PersonRecord, ring: ChannelKeyring, hasher: ChainHasher): ReadBack {
  const record = parse(r.line);
  const at = { channel: r.channel, seq: r.seq, file: TABLE };
  if (record === undefined || record.seq !== r.seq || record.channel !== r.channel)
    return { ...at, status: 'hash_mismatch', record };
  const line = Buffer.from(r.line, 'utf8');
  let status: ReadStatus;
  if (rawLineHash(line) !== r.hash) status = 'hash_mismatch';
  else if (r.prev === undefined) status = 'unverified';
  else status = hasher.nextFromLine(r.prev, line) === r.hash ? 'ok' : 'hash_mismatch';
  const opened = openIfSealed(record, ring);
  // A ciphertext that does not open under its key while its chain hash holds: forged.
  return { ...at, status: opened.damaged ? 'hash_mismatch' : status, record: opened.record };
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
    const record = parse(line);
    if (record !== undefined) consultations.addRead(seq, openIfSealed(record, ring).record, mine);
  }
}

/** A stored line as a record; undefined when it is not a JSON object. */
function parse(line: string): Record<string, unknown> | undefined {
  try {
    const v: unknown = JSON.parse(line);
    return typeof v === 'object' && v !== null && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
