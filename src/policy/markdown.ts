import { escapeTerminal } from '../util/escape.js';
import type { Block, Inline, PolicyDocument, Section, Span } from './doc.js';

/**
 * The policy as Markdown (CommonMark with GitHub tables). The output is stable under prettier
 * (tables aligned as it aligns them), so the generated docs/policy.md passes `prettier --check`.
 */
export function renderMarkdown(doc: PolicyDocument): string {
  const out: string[] = [`# ${escapeText(doc.title)}`];
  for (const b of doc.intro) out.push(block(b));
  for (const s of doc.sections) out.push(...sectionLines(s, 2));
  return `${out.join('\n\n')}\n`;
}

function sectionLines(s: Section, depth: number): string[] {
  const out = [`${'#'.repeat(depth)} ${escapeText(s.title)}`];
  for (const b of s.blocks) out.push(block(b));
  for (const sub of s.sections ?? []) out.push(...sectionLines(sub, depth + 1));
  return out;
}

function block(b: Block): string {
  switch (b.kind) {
    case 'paragraph':
      return inline(b.text, false);
    case 'list':
      return b.items.map((item) => `- ${inline(item, false)}`).join('\n');
    case 'pre':
      return `\`\`\`\n${b.text.split('\n').map(escapeTerminal).join('\n')}\n\`\`\``;
    case 'table':
      return tableText(
        b.head.map((h) => escapeText(h)),
        b.rows.map((r) => r.map((c) => inline(c, true))),
      );
  }
}

/** A table as prettier prints it: every column padded to its widest cell (at least 3). */
function tableText(head: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const widths = head.map((h, i) => Math.max(3, width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const line = (cells: readonly string[]): string =>
    `| ${widths.map((w, i) => pad(cells[i] ?? '', w)).join(' | ')} |`;
  return [
    line(head),
    `| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |`,
    ...rows.map(line),
  ].join('\n');
}

function pad(s: string, w: number): string {
  return s + ' '.repeat(Math.max(0, w - width(s)));
}

function inline(spans: Inline, inTable: boolean): string {
  return spans.map((s) => span(s, inTable)).join('');
}

function span(s: Span, inTable: boolean): string {
  if ('text' in s) return escapeText(s.text);
  if ('code' in s) return codeSpan(s.code, inTable);
  if ('strong' in s) return `**${escapeText(s.strong)}**`;
  return `[${escapeText(s.link)}](${s.href})`;
}

/**
 * Literal text: every character that could start markup is escaped with a backslash, control
 * characters (a line break too) are shown as escapes, so a value stays on its line.
 */
function escapeText(value: string): string {
  const escaped = escapeTerminal(value).replace(/[\\`*_[\]<>#|~&!]/gu, (c) => `\\${c}`);
  // A text that starts like a list item, an ordered list or a rule stays text.
  return escaped.replace(/^[-+]/u, '\\$&').replace(/^(\d+)([.)])/u, '$1\\$2');
}

/** A code span whose fence is longer than any run of backticks inside it. */
function codeSpan(value: string, inTable: boolean): string {
  let v = escapeTerminal(value);
  // In a table a pipe ends the cell even inside code: GitHub reads `\|` as a pipe there.
  if (inTable) v = v.replaceAll('|', '\\|');
  const longest = Math.max(0, ...[...v.matchAll(/`+/gu)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const gap =
    v.startsWith('`') || v.endsWith('`') || (v.startsWith(' ') && v.endsWith(' ')) ? ' ' : '';
  return `${fence}${gap}${v}${gap}${fence}`;
}

/** Display width as prettier counts it: wide East Asian characters count two, marks none. */
export function width(s: string): number {
  let w = 0;
  for (const ch of s) {
    const c = ch.codePointAt(0) ?? 0;
    if (c < 0x20 || (c >= 0x7f && c < 0xa0) || (c >= 0x300 && c <= 0x36f)) continue;
    w += isWide(c) ? 2 : 1;
  }
  return w;
}

function isWide(c: number): boolean {
  return (
    (c >= 0x1100 && c <= 0x115f) ||
    (c >= 0x2e80 && c <= 0xa4cf && c !== 0x303f) ||
    (c >= 0xac00 && c <= 0xd7a3) ||
    (c >= 0xf900 && c <= 0xfaff) ||
    (c >= 0xfe30 && c <= 0xfe4f) ||
    (c >= 0xff00 && c <= 0xff60) ||
    (c >= 0xffe0 && c <= 0xffe6) ||
    (c >= 0x1f300 && c <= 0x1f64f) ||
    (c >= 0x1f900 && c <= 0x1f9ff) ||
    (c >= 0x20000 && c <= 0x3fffd)
  );
}
