/**
 * The summary of an export: summary.json (counts, first and last record, the retention of each
 * channel found) and summary.txt, the same for the person to read.
 */
import type { ChannelConfig } from '../config/resolve.js';
import type { Consultation } from './consultations.js';

/** What consulted.json counts, said plainly in summary.json and summary.txt. */
export const CONSULTATIONS_COUNTED =
  'Counted: every read through dihya-logs that returned your records or searched for you: ' +
  'queries and single records through the service API and the admin page (Explore), live tails, ' +
  'the dashboard naming you among the top sources of security events, downloads of an export, ' +
  'GDPR requests. A read that returned more people than its audit ' +
  'record could list is marked as one that may have included your data. Not counted: ' +
  'reads with the command line on the server (dihya-logs query, dihya-logs tail), which write ' +
  'no audit record, and reads of the raw log files by someone with shell access.';

const CONSULTATIONS_COUNTED_FR =
  'Comptées : toute lecture par dihya-logs qui a renvoyé vos enregistrements ou vous a recherché·e : ' +
  "recherches et enregistrements lus par l'API du service et la page d'administration (Explorer), " +
  "suivis en direct, tableau de bord vous nommant parmi les principales sources d'événements de " +
  "sécurité, téléchargements d'un export, demandes RGPD. Une lecture qui a renvoyé plus de " +
  "personnes que son enregistrement d'audit ne pouvait en lister est signalée comme ayant pu inclure " +
  'vos données. Non comptées : les lectures en ligne de commande sur le serveur (dihya-logs query, ' +
  "dihya-logs tail), qui n'écrivent aucun enregistrement d'audit, et les lectures des fichiers " +
  'bruts par une personne ayant un accès shell.';

/** What the records found add up to. */
export interface ExportCounts {
  readonly records: number;
  /** Records that failed their hash check (exported as stored). */
  readonly damaged: number;
  /** The `ts` of the first and last record found. */
  readonly first: string | undefined;
  readonly last: string | undefined;
  readonly perChannel: Record<string, number>;
  readonly perEvent: Record<string, number>;
  /** consulted.json, in time order. */
  readonly consulted: readonly Consultation[];
}

/** summary.json. */
export interface ExportSummary {
  readonly request_id: string;
  readonly created: string;
  readonly subjects: string[];
  readonly records: number;
  readonly damaged: number;
  readonly first_record: string | null;
  readonly last_record: string | null;
  readonly per_channel: Record<string, number>;
  readonly per_event: Record<string, number>;
  readonly retention: Record<string, { min_days: number; max_days: number }>;
  readonly consultations: {
    /** Lines of consulted.json. */
    readonly listed: number;
    /** Of them, reads that returned more people than they could list: maybe yours. */
    readonly may_have_included_your_data: number;
    /** What is counted and what is not, in plain words. */
    readonly counted: string;
  };
}

/** summary.json of an export of `subjects` (the ids the keystore knows), created now. */
export function exportSummary(
  requestId: string,
  subjects: string[],
  counts: ExportCounts,
  channels: Readonly<Record<string, ChannelConfig>>,
): ExportSummary {
  const { perChannel } = counts;
  return {
    request_id: requestId,
    created: new Date().toISOString(),
    subjects,
    records: counts.records,
    damaged: counts.damaged,
    first_record: counts.first ?? null,
    last_record: counts.last ?? null,
    per_channel: perChannel,
    per_event: counts.perEvent,
    retention: Object.fromEntries(
      Object.entries(channels)
        .filter(([c]) => (perChannel[c] ?? 0) > 0)
        .map(([c, cfg]) => [
          c,
          { min_days: cfg.retention.minDays, max_days: cfg.retention.maxDays },
        ]),
    ),
    consultations: {
      listed: counts.consulted.length,
      may_have_included_your_data: counts.consulted.filter(
        (c) => c.may_have_included_your_data === true,
      ).length,
      counted: CONSULTATIONS_COUNTED,
    },
  };
}

/** summary.txt: the summary for the person to read, in English and French. */
export function summaryText(s: ExportSummary): string {
  const { listed, may_have_included_your_data: maybe } = s.consultations;
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
    `Consultations of your data listed in consulted.json / Consultations de vos données : ${listed}`,
    ...(maybe > 0
      ? [
          `  of which ${maybe} may have included your data / dont ${maybe} ont pu inclure vos données`,
        ]
      : []),
    s.consultations.counted,
    CONSULTATIONS_COUNTED_FR,
    `records.json holds the records; values of other people stay hidden as [type#n].`,
    `records.json contient les enregistrements ; les valeurs d'autres personnes restent masquées ([type#n]).`,
    `receipts/ proves, with the log's public key alone, that each record is in the log (receipts.json lists those without a receipt, and why).`,
    `receipts/ prouve, avec la seule clé publique du journal, que chaque enregistrement y figure (receipts.json liste ceux sans preuve, et pourquoi).`,
    `manifest.json lists each file's SHA-256, signed with the log's public key.`,
    ``,
  ];
  return lines.join('\n');
}
