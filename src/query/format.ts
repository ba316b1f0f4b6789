import { escapeTerminal, escapeTerminalLines } from '../util/escape.js';
import { Document, visit } from 'yaml';
import type { QueryRecord, QueryResult } from './query.js';

export const FORMATS = ['table', 'json', 'ndjson', 'yaml', 'csv'] as const;
export type Format = (typeof FORMATS)[number];

/** The columns of the table and CSV forms, in order. */
export const COLUMNS = [
  'ts',
  'channel',
  'seq',
  'level',
  'event',
  'outcome',
  'actor',
  'subject',
  'target',
  'request_id',
  'msg',
  'data',
  'status',
] as const;

/** The machine-readable result: records, the next cursor, and what failed its check. */
export function resultObject(result: QueryResult): {
  records: Array<Record<string, unknown>>;
  next: string | null;
  damaged: Array<{ channel: string; seq: number; status: string; file: string }>;
} {
  return {
    records: result.records.flatMap((r) => (r.record === undefined ? [] : [r.record])),
    next: result.next ?? null,
    damaged: result.damaged.map((r) => ({
      channel: r.channel,
      seq: r.seq,
      status: r.status,
      file: r.file,
    })),
  };
}

/**
 * Render a query result in a format. Record content is attacker-controlled: the forms for
 * people (table, YAML) and CSV never hold a raw control character, bidi control or U+2028/9,
 * wherever they are written. JSON and NDJSON are data: JSON.stringify escapes C0, the rest is
 * the caller's to escape on a terminal (escapeTerminalLines; the same JSON value).
 */
export function render(result: QueryResult, format: Format): string {
  switch (format) {
    case 'json':
      return `${JSON.stringify(resultObject(result), null, 2)}\n`;
    case 'yaml':
      return safeYaml(resultObject(result));
    case 'ndjson':
      return result.records
        .flatMap((r) => (r.record === undefined ? [] : [`${JSON.stringify(r.record)}\n`]))
        .join('');
    case 'csv':
      return renderCsv(result.records);
    case 'table':
      return renderTable(result.records);
  }
}

/** A record's value for a column, as one line of text. */
export function cell(r: QueryRecord, column: (typeof COLUMNS)[number]): string {
  if (column === 'status') return r.status;
  if (column === 'channel') return r.channel;
  if (column === 'seq') return String(r.seq);
  const rec = r.record ?? {};
  if (column === 'actor') return partyText(rec.actor);
  if (column === 'target') return partyText(rec.target);
  if (column === 'subject') return asText(rec.subject ?? rec.sub);
  return asText(rec[column]);
}

/**
 * YAML with every string that holds an unsafe character or a line break double-quoted, its
 * characters then written as `\uXXXX` escapes: what a YAML parser reads back is the record,
 * what a terminal gets is inert. (The yaml package writes ESC as `\e` but C1, bidi controls
 * and U+2028 raw.)
 */
export function safeYaml(value: unknown): string {
  const doc = new Document(value);
  visit(doc, {
    Scalar(_key, node) {
      if (typeof node.value === 'string' && escapeTerminal(node.value) !== node.value)
        node.type = 'QUOTE_DOUBLE';
    },
  });
  // JSON-style double quotes: the package's folded ones do not always read back the same
  // (a line of spaces between two line breaks); these keep a string on one line.
  return escapeTerminalLines(doc.toString({ doubleQuotedAsJSON: true }));
}

function partyText(v: unknown): string {
  if (typeof v !== 'object' || v === null) return asText(v);
  const { id, type } = v as { id?: unknown; type?: unknown };
  if (id === undefined) return JSON.stringify(v);
  return type === undefined ? asText(id) : `${asText(type)}:${asText(id)}`;
}

function asText(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

/**
 * CSV (RFC 4180, CRLF line ends), every cell quoted. A cell a spreadsheet would run as a formula
 * (starting with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a leading `'`, as OWASP
 * recommends against CSV injection: what was logged is shown, never executed. CSV is read in
 * spreadsheets and terminals (`cat`, `less`): control characters, bidi controls and line breaks
 * in a cell are written as visible escapes (`\u001b`, `\n`), so a record is one line.
 */
export function renderCsv(records: readonly QueryRecord[]): string {
  const lines = [COLUMNS.map(csvCell).join(',')];
  for (const r of records) lines.push(COLUMNS.map((c) => csvCell(cell(r, c))).join(','));
  return `${lines.join('\r\n')}\r\n`;
}

/** One CSV cell: quoted, escaped, a formula made text. */
export function csvCell(value: string): string {
  const shown = escapeTerminal(value);
  const safe = /^[=+\-@\t\r]/.test(shown) ? `'${shown}` : shown;
  return `"${safe.replace(/"/g, '""')}"`;
}

// Columns of the table, with the widest a column gets before its text is cut.
const TABLE: ReadonlyArray<readonly [(typeof COLUMNS)[number] | 'where', number]> = [
  ['ts', 24],
  ['where', 16],
  ['level', 8],
  ['event', 28],
  ['outcome', 8],
  ['actor', 34],
  ['msg', 200],
];

/**
 * A table for people: time, channel#seq, level, event, outcome, actor, message. Records that
 * failed their check are marked with `!` and their status. Every cell is escaped: record
 * content never reaches the terminal as control characters.
 */
export function renderTable(records: readonly QueryRecord[]): string {
  const rows = records.map((r) =>
    TABLE.map(([c, max]) => {
      let text =
        c === 'where'
          ? `${r.channel}#${r.seq}`
          : c === 'msg' && r.status !== 'ok' && r.status !== 'unverified'
            ? `! ${r.status.toUpperCase()} (${r.file}) ${cell(r, c)}`
            : cell(r, c);
      text = escapeTerminal(text);
      return text.length > max ? `${text.slice(0, max - 1)}…` : text;
    }),
  );
  const header = TABLE.map(([c]) => (c === 'where' ? 'RECORD' : c.toUpperCase()));
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}
