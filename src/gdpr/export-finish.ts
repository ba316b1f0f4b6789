/**
 * What every export does whatever store it reads from (export.ts: the file store through its
 * index; export-db.ts: a database store): each record found is revealed for the person alone,
 * written and counted; then the summary, the consultations, the receipts and the signed
 * manifest complete the bundle, and the request is recorded in `audit`.
 */
import { randomBytes, type KeyObject } from 'node:crypto';
import path from 'node:path';
import type { SubjectLookup } from '../crypto/subjects.js';
import type { LogCore } from '../log/core.js';
import type { Logs } from '../log/logs.js';
import { reveal } from '../pipeline/reveal.js';
import type { ReceiptBuilder } from '../query/receipt-builder.js';
import type { ReadStatus } from '../query/read.js';
import { fsyncDir } from '../util/fs.js';
import { signedManifest, type BundleWriter, type ExportFormat } from './bundle.js';
import type { Consultations } from './consultations.js';
import { RECEIPTS_INDEX, writeExportReceipts } from './receipts.js';
import { exportSummary, summaryText, type ExportCounts } from './summary.js';

export interface ExportOptions {
  /** The open logs: the export is recorded through them as an `audit` event. */
  readonly logs: Logs | LogCore;
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

/** The records exported and counted (consultations are gathered beside them). */
export interface Found extends Omit<ExportCounts, 'consulted'> {
  readonly exported: Array<{ channel: string; seq: number }>;
}

/** A record read back for the bundle: as stored (parsed), with what reading it showed. */
export interface ReadBack {
  readonly channel: string;
  readonly seq: number;
  readonly status: ReadStatus;
  readonly record: Record<string, unknown> | undefined;
  readonly file: string;
}

const CONSULTATION_EVENTS = /^(?:gdpr\.|log\.read)/;

/** A new export's request id: `exp-YYYYMMDD-<16 hex>`, never taken from input. */
export function newExportId(): string {
  return `exp-${new Date().toISOString().slice(0, 10).replaceAll('-', '')}-${randomBytes(8).toString('hex')}`;
}

/**
 * The records of an export as they are written: the person's values revealed when a record
 * checks out (as stored, counted as damaged, when it does not), counted per channel and event
 * type, and the person's own requests and reads noted as consultations.
 */
export class ExportTally {
  private readonly perChannel: Record<string, number> = {};
  private readonly perEvent: Record<string, number> = {};
  private readonly exported: Array<{ channel: string; seq: number }> = [];
  private records = 0;
  private damaged = 0;
  private first: string | undefined;
  private last: string | undefined;

  constructor(
    private readonly out: BundleWriter,
    private readonly only: SubjectLookup,
    private readonly logId: string,
    private readonly consultations: Consultations,
  ) {}

  add(r: ReadBack): void {
    if (r.record === undefined) {
      this.damaged += 1;
      return;
    }
    const ok = r.status === 'ok' || r.status === 'unverified';
    if (!ok) this.damaged += 1;
    const record = ok ? reveal(r.record, this.only, this.logId).record : r.record;
    this.out.add({ channel: r.channel, seq: r.seq, status: r.status, record, file: r.file });
    this.exported.push({ channel: r.channel, seq: r.seq });
    this.records += 1;
    this.perChannel[r.channel] = (this.perChannel[r.channel] ?? 0) + 1;
    const event = typeof record.event === 'string' ? record.event : '?';
    this.perEvent[event] = (this.perEvent[event] ?? 0) + 1;
    const ts = typeof record.ts === 'string' ? record.ts : undefined;
    this.first ??= ts;
    this.last = ts ?? this.last;
    if (r.channel === 'audit' && CONSULTATION_EVENTS.test(event))
      this.consultations.addOwn(r.seq, record);
  }

  get count(): number {
    return this.records;
  }

  found(): Found {
    const { records, damaged, first, last, perChannel, perEvent, exported } = this;
    return { records, damaged, first, last, perChannel, perEvent, exported };
  }
}

/** What completing a bundle needs: the records found, and how the log signs. */
export interface Completion {
  readonly logs: LogCore;
  readonly options: ExportOptions;
  readonly requestId: string;
  /** The logs directory (the report names the bundle relative to it). */
  readonly root: string;
  readonly bundle: { dir: string; write: (name: string, text: string) => void };
  readonly out: BundleWriter;
  readonly found: Found;
  readonly consultations: Consultations;
  /** The ids given that the keystore knows. */
  readonly knownIds: string[];
  readonly unknownIds: number;
  readonly receipts: Pick<ReceiptBuilder, 'build'>;
  readonly publicKey: string;
  readonly privateKey: KeyObject;
}

/**
 * The rest of the bundle once its records are written: summary.json and .txt, consulted.json,
 * the receipts, the signed manifest; then the request is recorded. Returns the report.
 */
export async function completeExport(c: Completion): Promise<ExportReport> {
  const { logs, options, requestId, bundle, found } = c;
  const consulted = c.consultations.list();
  const summary = exportSummary(
    requestId,
    c.knownIds,
    { ...found, consulted },
    logs.config.channels,
  );
  bundle.write('summary.json', `${JSON.stringify(summary, null, 2)}\n`);
  bundle.write('summary.txt', summaryText(summary));
  bundle.write('consulted.json', `${JSON.stringify(consulted, null, 2)}\n`);
  const receipts = await writeExportReceipts(c.receipts, bundle.dir, found.exported);
  const files = [...c.out.files, 'summary.json', 'summary.txt', 'consulted.json'];
  const manifest = signedManifest(
    bundle.dir,
    [...files, ...receipts.files],
    requestId,
    logs.logId,
    c.publicKey,
    c.privateKey,
  );
  bundle.write('manifest.json', `${JSON.stringify(manifest, null, 2)}\n`);
  fsyncDir(bundle.dir);
  const report: ExportReport = {
    requestId,
    dir: path.relative(c.root, bundle.dir),
    records: found.records,
    perChannel: found.perChannel,
    unknownIds: c.unknownIds,
    damaged: found.damaged,
    receipts: { proven: receipts.proven, unproven: receipts.unproven },
    files: [...files, RECEIPTS_INDEX, 'manifest.json'],
  };
  await recordExport(logs, options, requestId, found);
  return report;
}

/** The request, as an `audit` event: its id and counts, never the personal data. */
async function recordExport(
  logs: LogCore,
  options: ExportOptions,
  requestId: string,
  found: Found,
): Promise<void> {
  await logs.recorders.recordRequest({
    event: 'gdpr.export',
    actor: options.requestedBy,
    ...(options.ids[0] === undefined ? {} : { subject: options.ids[0] }),
    outcome: 'success',
    msg: `GDPR export ${requestId}: ${found.records} record(s)`,
    data: {
      request_id: requestId,
      kind: 'export',
      records: found.records,
      channels: found.perChannel,
      format: options.format ?? 'json',
      ...(options.reason === undefined ? {} : { reason: options.reason }),
    },
  });
}
