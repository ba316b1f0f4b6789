import { escapeTerminal } from '../util/escape.js';
import type { Block, Inline, PolicyDocument, Section, Span } from './doc.js';

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
table{border-collapse:collapse;margin:1rem 0}th,td{border:1px solid #ccc;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f3f3f3}code,pre{font-family:ui-monospace,monospace;font-size:.9em;background:#f6f6f6}
code{padding:0 .2em;overflow-wrap:anywhere}pre{padding:.6rem;overflow-x:auto}`;

/**
 * The policy as one standalone HTML page: every text escaped, no script, a small inline style.
 * Documentation pages are linked as their Markdown files.
 */
export function renderHtml(doc: PolicyDocument): string {
  const body: string[] = [`<h1>${esc(doc.title)}</h1>`];
  for (const b of doc.intro) body.push(block(b));
  for (const s of doc.sections) body.push(...sectionHtml(s, 2));
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    // No script, no remote resource: the page can be opened from disk or mailed as it is.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    `<title>${esc(doc.title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    ...body,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}

function sectionHtml(s: Section, depth: number): string[] {
  const h = `h${Math.min(depth, 6)}`;
  const out = [`<${h} id="${esc(s.id)}">${esc(s.title)}</${h}>`];
  for (const b of s.blocks) out.push(block(b));
  for (const sub of s.sections ?? []) out.push(...sectionHtml(sub, depth + 1));
  return out;
}

function block(b: Block): string {
  switch (b.kind) {
    case 'paragraph':
      return `<p>${inline(b.text)}</p>`;
    case 'list':
      return `<ul>\n${b.items.map((i) => `<li>${inline(i)}</li>`).join('\n')}\n</ul>`;
    case 'pre':
      return `<pre>${esc(b.text, true)}</pre>`;
    case 'table': {
      const head = `<tr>${b.head.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>`;
      const rows = b.rows.map((r) => `<tr>${r.map((c) => `<td>${inline(c)}</td>`).join('')}</tr>`);
      return `<table>\n<thead>${head}</thead>\n<tbody>\n${rows.join('\n')}\n</tbody>\n</table>`;
    }
  }
}

function inline(spans: Inline): string {
  return spans.map(span).join('');
}

function span(s: Span): string {
  if ('text' in s) return esc(s.text);
  if ('code' in s) return `<code>${esc(s.code)}</code>`;
  if ('strong' in s) return `<strong>${esc(s.strong)}</strong>`;
  // Links are written in the code (a section, a documentation page), never configured.
  return `<a href="${esc(s.href)}">${esc(s.link)}</a>`;
}

/** Escape for element content and attribute values; control characters made visible. */
export function esc(value: string, keepNewlines = false): string {
  const visible = keepNewlines
    ? value.split('\n').map(escapeTerminal).join('\n')
    : escapeTerminal(value);
  return visible.replace(/[&<>"']/gu, (c) => ENTITIES[c] ?? c);
}

const ENTITIES: Readonly<Record<string, string>> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};
