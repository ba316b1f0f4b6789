import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { Keystore } from '../crypto/keystore.js';
import { LogsError } from '../errors.js';
import { IndexDb } from '../search/index-db.js';
import { catchUp } from '../search/indexer.js';
import type { Logs } from '../log/logs.js';
import { RecordReader } from '../query/read.js';
import { selectHits, type Hit } from '../query/search.js';
import { reveal } from '../pipeline/reveal.js';
import type { SubjectLookup } from '../crypto/subjects.js';
import { LogLayout } from '../store/file/layout.js';
import { readMeta, readSigningKey } from '../store/file/meta.js';
import { readSegmentBook } from '../store/file/segment-log.js';
import { fsyncDir } from '../util/fs.js';
import { BundleWriter, createBundleDir, signedManifest, type ExportFormat } from './bundle.js';
import { RECEIPTS_INDEX, receiptBuilderFor, writeExportReceipts } from './receipts.js';

export {
  MANIFEST_DOMAIN,
  isBundleFileName,
  verifyBundle,
  type BundleCheck,
  type ExportFormat,
  type ExportManifest,
} from './bundle.js';

export interface ExportOptions {
  /** The open logs: the export is recorded through them as an `audit` event. */
  readonly logs: Logs;
  readonly masterKey: Buffer;
  /** The person's ids (a user id, an e-mail...): one person, known under each of them. */
  readonly ids: readonly string[];
  /** `csv` adds records.csv beside records.json. */
  readonly format?: ExportFormat;
  /** Why (recorded in the audit event; classified like any event). */
  readonly reason?: string;
  /** Who asked for it (the audit event's actor). */
  readonly requestedBy: string;
  readonly onProgress?: (records: number) => void;
}

export interface ExportReport {
  /** Generated, never taken from input. */
  readonly requestId: string;
  /** The bundle's directory, relative to the logs directory. */
  readonly dir: string;
  readonly records: number;
  readonly perChannel: Readonly<Record<string, number>>;
  /** Ids the keystore does not know (never logged, or erased). */
  readonly unknownIds: number;
  /** Records that failed their hash check when read back (exported as stored, listed). */
  readonly damaged: number;
  /**
   * Receipts in receipts/ (docs/gdpr.md): records proven, and records listed in receipts.json
   * as unproven with the reason.
   */
  readonly receipts: { readonly proven: number; readonly unproven: number };
  /** The bundle's files; the receipts are counted, not listed. */
  readonly files: readonly string[];
}

const PAGE = 5000;
const CONSULTATION_EVENTS = /^(?:gdpr\.|log\.read)/;

/**
 * A GDPR access / portability export (Art. 15, 20): every record of one person across every
 * channel, active and archived, found through the index and read back from the segments, with
 * that person's values decrypted and everyone else's left as placeholders, written to
 * `export/<request-id>/` with a summary, the list of who consulted their data, and a signed
 * manifest. The request is an `audit` event (request id, counts; never the personal data).
 */
export async function exportSubject(options: ExportOptions): Promise<ExportReport> {
  const { logs, masterKey } = options;
  if (options.ids.length === 0) throw new LogsError('USAGE', 'export: give at least one --subject');
  const layout = new LogLayout(logs.dir);
  const meta = readMeta(layout);
  const requestId = `exp-${new Date().toISOString().slice(0, 10).replaceAll('-', '')}-${randomBytes(8).toString('hex')}`;
  const keystore = Keystore.openReadOnly(layout.subjectsFile, masterKey, meta.log_id);
  const db = IndexDb.open(layout, meta.log_id);
  const bundle = createBundleDir(layout, requestId);
  try {
    // The person's pseudonyms and keys; nothing else is decryptable in this export.
    const mine = new Map<string, { id: string; key: Buffer }>();
    let unknownIds = 0;
    for (const id of options.ids) {
      const entry = keystore.find(id);
      if (entry === undefined) unknownIds += 1;
      else mine.set(entry.pseudonym, { id, key: entry.key });
    }
    const only: SubjectLookup = {
      keyOf: (p) => mine.get(p)?.key,
      idOf: (p) => mine.get(p)?.id,
    };
    // Encrypted channels are opened (and indexed) with their keys: their records are the
    // person's too. The flush signs a checkpoint of what is written, so every record found
    // can have its receipt.
    const channelKeys = keystore.channelKeyring();
    await logs.flush();
    await catchUp(layout, meta.log_id, db, { channelKeys });
    const reader = new RecordReader(
      layout,
      meta.log_id,
      readSegmentBook(layout, meta.log_id),
      channelKeys,
    );
    const where = personWhere(db, [...mine.keys()], logs.config.classification.personTypes);
    const out = new BundleWriter(bundle.dir, options.format ?? 'json');
    const perChannel: Record<string, number> = {};
    const perEvent: Record<string, number> = {};
    const consulted: Array<Record<string, unknown>> = [];
    const exported: Array<{ channel: string; seq: number }> = [];
    let records = 0;
    let damaged = 0;
    let first: string | undefined;
    let last: string | undefined;
    let after: Hit | undefined;
    while (where !== undefined) {
      const hits = selectHits(db, where.sql, where.params, 'asc', PAGE, after);
      if (hits.length === 0) break;
      after = hits[hits.length - 1];
      for (const r of await reader.read(hits)) {
        if (r.record === undefined) {
          damaged += 1;
          continue;
        }
        const ok = r.status === 'ok' || r.status === 'unverified';
        if (!ok) damaged += 1;
        const record = ok ? reveal(r.record, only, meta.log_id).record : r.record;
        out.add({ channel: r.hit.channel, seq: r.hit.seq, status: r.status, record, file: r.file });
        exported.push({ channel: r.hit.channel, seq: r.hit.seq });
        records += 1;
        perChannel[r.hit.channel] = (perChannel[r.hit.channel] ?? 0) + 1;
        const event = typeof record.event === 'string' ? record.event : '?';
        perEvent[event] = (perEvent[event] ?? 0) + 1;
        const ts = typeof record.ts === 'string' ? record.ts : undefined;
        first ??= ts;
        last = ts ?? last;
        if (r.hit.channel === 'audit' && CONSULTATION_EVENTS.test(event))
          consulted.push(consultation(record, keystore));
      }
      options.onProgress?.(records);
    }
    out.close();
    const summary = {
      request_id: requestId,
      created: new Date().toISOString(),
      subjects: options.ids.filter((id) => keystore.find(id) !== undefined),
      records,
      damaged,
      first_record: first ?? null,
      last_record: last ?? null,
      per_channel: perChannel,
      per_event: perEvent,
      retention: Object.fromEntries(
        Object.entries(logs.config.channels)
          .filter(([c]) => (perChannel[c] ?? 0) > 0)
          .map(([c, cfg]) => [
            c,
            { min_days: cfg.retention.minDays, max_days: cfg.retention.maxDays },
          ]),
      ),
    };
    bundle.write('summary.json', `${JSON.stringify(summary, null, 2)}\n`);
    bundle.write('summary.txt', summaryText(summary, consulted.length));
    bundle.write('consulted.json', `${JSON.stringify(consulted, null, 2)}\n`);
    const receipts = await writeExportReceipts(
      receiptBuilderFor(logs, layout, db, channelKeys),
      bundle.dir,
      exported,
    );
    const files = [...out.files, 'summary.json', 'summary.txt', 'consulted.json'];
    const manifest = signedManifest(
      bundle.dir,
      [...files, ...receipts.files],
      requestId,
      meta.log_id,
      meta.public_key,
      readSigningKey(layout, meta, masterKey),
    );
    bundle.write('manifest.json', `${JSON.stringify(manifest, null, 2)}\n`);
    fsyncDir(bundle.dir);
    const report: ExportReport = {
      requestId,
      dir: path.relative(layout.dir, bundle.dir),
      records,
      perChannel,
      unknownIds,
      damaged,
      receipts: { proven: receipts.proven, unproven: receipts.unproven },
      files: [...files, RECEIPTS_INDEX, 'manifest.json'],
    };
    await logs.recordRequest({
      event: 'gdpr.export',
      actor: options.requestedBy,
      ...(options.ids[0] === undefined ? {} : { subject: options.ids[0] }),
      outcome: 'success',
      msg: `GDPR export ${requestId}: ${records} record(s)`,
      data: {
        request_id: requestId,
        kind: 'export',
        records,
        channels: perChannel,
        format: options.format ?? 'json',
        ...(options.reason === undefined ? {} : { reason: options.reason }),
      },
    });
    return report;
  } finally {
    db.close();
    keystore.close();
  }
}

/** Records of a person: their `sub`, their `actor.id`, or a target of a person type with their pseudonym. */
export function personWhere(
  db: IndexDb,
  pseudonyms: readonly string[],
  personTypes: readonly string[],
): { sql: string[]; params: unknown[] } | undefined {
  const ref = db.connection.prepare<[string], { id: number }>('SELECT id FROM refs WHERE text = ?');
  const ids = (texts: string[]): number[] => texts.flatMap((t) => ref.all(t).map((r) => r.id));
  const people = ids([...pseudonyms]);
  const targets = ids(pseudonyms.flatMap((p) => [p, ...personTypes.map((t) => `${t}:${p}`)]));
  if (people.length === 0 && targets.length === 0) return undefined;
  const list = (xs: number[]): string => (xs.length === 0 ? 'NULL' : xs.join(', '));
  return {
    sql: [
      `(r.sub IN (${list(people)}) OR r.actor_ref IN (${list(people)}) OR r.target_ref IN (${list(targets)}))`,
    ],
    params: [],
  };
}

/** A consultation of the person's data, for consulted.json: when, what, by whom, why. */
function consultation(
  record: Record<string, unknown>,
  keystore: Keystore,
): Record<string, unknown> {
  const data = (record.data ?? {}) as Record<string, unknown>;
  const actor = (record.actor ?? {}) as { id?: unknown };
  const by =
    typeof actor.id === 'string' ? (keystore.idOf(actor.id) ?? actor.id) : (actor.id ?? null);
  return {
    ts: record.ts ?? null,
    event: record.event ?? null,
    by,
    request_id: data.request_id ?? null,
    purpose: data.reason ?? null,
    records: data.records ?? null,
  };
}

function summaryText(
  s: {
    request_id: string;
    created: string;
    records: number;
    first_record: string | null;
    last_record: string | null;
    per_channel: Record<string, number>;
    per_event: Record<string, number>;
    retention: Record<string, { min_days: number; max_days: number }>;
  },
  consultations: number,
): string {
  const lines = [
    `Export of your log data / Export de vos données de journalisation`,
    ``,
    `Request / Demande: ${s.request_id}`,
    `Created / Créé le: ${s.created}`,
    `Records / Enregistrements: ${s.records}`,
    `From / Du: ${s.first_record ?? '-'}  To / Au: ${s.last_record ?? '-'}`,
    ``,
    `Per channel / Par canal:`,
    ...Object.entries(s.per_channel).map(
      ([c, n]) =>
        `  ${c}: ${n} (kept ${s.retention[c]?.min_days ?? '?'}-${s.retention[c]?.max_days ?? '?'} days / conservés ${s.retention[c]?.min_days ?? '?'} à ${s.retention[c]?.max_days ?? '?'} jours)`,
    ),
    ``,
    `Per event type / Par type d'événement:`,
    ...Object.entries(s.per_event)
      .sort((a, b) => b[1] - a[1])
      .map(([e, n]) => `  ${e}: ${n}`),
    ``,
    `Consultations of your data listed in consulted.json / Consultations de vos données : ${consultations}`,
    `records.json holds the records; values of other people stay hidden as [type#n].`,
    `records.json contient les enregistrements ; les valeurs d'autres personnes restent masquées ([type#n]).`,
    `receipts/ proves, with the log's public key alone, that each record is in the log (receipts.json lists those without a receipt, and why).`,
    `receipts/ prouve, avec la seule clé publique du journal, que chaque enregistrement y figure (receipts.json liste ceux sans preuve, et pourquoi).`,
    `manifest.json lists each file's SHA-256, signed with the log's public key.`,
    ``,
  ];
  return lines.join('\n');
}
