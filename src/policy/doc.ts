/**
 * The structured document both renderers read: sections of paragraphs, lists, tables and
 * preformatted text, made of inline spans. Text that comes from the configuration is always a
 * span of its own, never parsed as markup, so a pattern holding `<`, `|` or a backtick is shown
 * as written in Markdown and in HTML alike.
 */

/** A piece of inline text. */
export type Span =
  | { readonly text: string }
  | { readonly code: string }
  | { readonly strong: string }
  /** A link to a page of the documentation (`integrity.md#checking-a-proof`) or a section (`#x`). */
  | { readonly link: string; readonly href: string };

export type Inline = readonly Span[];

export type Block =
  | { readonly kind: 'paragraph'; readonly text: Inline }
  | { readonly kind: 'list'; readonly items: readonly Inline[] }
  | {
      readonly kind: 'table';
      readonly head: readonly string[];
      readonly rows: ReadonlyArray<readonly Inline[]>;
    }
  | { readonly kind: 'pre'; readonly text: string };

export interface Section {
  /** The anchor: the GitHub slug of the title, so Markdown links and HTML ids agree. */
  readonly id: string;
  readonly title: string;
  readonly blocks: readonly Block[];
  readonly sections?: readonly Section[];
}

export interface PolicyDocument {
  readonly title: string;
  readonly intro: readonly Block[];
  readonly sections: readonly Section[];
}

type Piece = string | number | Span | Inline;

/**
 * Inline text from a template: in the literal parts (written here, in the code) `` `x` `` is
 * code, `**x**` strong and `[text](href)` a link; interpolated values are literal text (or
 * spans given as such), never parsed.
 */
export function t(strings: TemplateStringsArray, ...values: readonly Piece[]): Inline {
  const out: Span[] = [];
  strings.forEach((s, i) => {
    out.push(...parseLiteral(s));
    if (i < values.length) out.push(...piece(values[i] as Piece));
  });
  return merge(out);
}

/** Inline text from light markup written in the code (never from configuration). */
export function markup(literal: string): Inline {
  return merge(parseLiteral(literal));
}

/** Plain text, never parsed. */
export function text(value: string | number): Inline {
  return [{ text: String(value) }];
}

export function code(value: string | number): Span {
  return { code: String(value) };
}

export function link(label: string, href: string): Span {
  return { link: label, href };
}

/** Items joined by `sep` (text), e.g. a list of code spans. */
export function join(items: ReadonlyArray<Piece>, sep = ', '): Inline {
  const out: Span[] = [];
  items.forEach((item, i) => {
    if (i > 0) out.push({ text: sep });
    out.push(...piece(item));
  });
  return merge(out);
}

/** Code spans joined by commas; `none` when empty. */
export function codes(values: readonly string[], none = 'none'): Inline {
  return values.length === 0 ? text(none) : join(values.map(code));
}

export function paragraph(inline: Inline): Block {
  return { kind: 'paragraph', text: inline };
}

export function list(items: readonly Inline[]): Block {
  return { kind: 'list', items };
}

export function table(head: readonly string[], rows: ReadonlyArray<readonly Inline[]>): Block {
  return { kind: 'table', head, rows };
}

export function pre(value: string): Block {
  return { kind: 'pre', text: value };
}

/** A section whose id is the GitHub slug of its title. */
export function section(
  title: string,
  blocks: readonly Block[],
  sections?: readonly Section[],
): Section {
  return { id: slug(title), title, blocks, ...(sections === undefined ? {} : { sections }) };
}

/** GitHub's heading anchor: lower case, punctuation dropped, spaces to hyphens. */
export function slug(title: string): string {
  return title
    .toLowerCase()
    .replace(/[^\w\s-]/gu, '')
    .trim()
    .replace(/\s/gu, '-');
}

/** The plain text of inline content (for tests and summaries). */
export function plain(inline: Inline): string {
  return inline.map(spanText).join('');
}

export function spanText(s: Span): string {
  if ('text' in s) return s.text;
  if ('code' in s) return s.code;
  if ('strong' in s) return s.strong;
  return s.link;
}

function piece(value: Piece): Span[] {
  if (typeof value === 'string' || typeof value === 'number') return [{ text: String(value) }];
  if (Array.isArray(value)) return [...(value as Inline)];
  return [value as Span];
}

/** Adjacent text spans become one (so renderers see whole words). */
function merge(spans: readonly Span[]): Inline {
  const out: Span[] = [];
  for (const s of spans) {
    const last = out[out.length - 1];
    if ('text' in s && last !== undefined && 'text' in last)
      out[out.length - 1] = { text: last.text + s.text };
    else if (!('text' in s) || s.text !== '') out.push(s);
  }
  return out;
}

/** The light markup of literal parts: `code`, **strong**, [label](href). */
function parseLiteral(s: string): Span[] {
  const out: Span[] = [];
  let plainStart = 0;
  let i = 0;
  const flush = (end: number): void => {
    if (end > plainStart) out.push({ text: s.slice(plainStart, end) });
  };
  while (i < s.length) {
    const c = s[i];
    if (c === '`') {
      const end = s.indexOf('`', i + 1);
      if (end > i) {
        flush(i);
        out.push({ code: s.slice(i + 1, end) });
        i = end + 1;
        plainStart = i;
        continue;
      }
    } else if (c === '*' && s.startsWith('**', i)) {
      const end = s.indexOf('**', i + 2);
      if (end > i) {
        flush(i);
        out.push({ strong: s.slice(i + 2, end) });
        i = end + 2;
        plainStart = i;
        continue;
      }
    } else if (c === '[') {
      const close = s.indexOf('](', i + 1);
      const end = close < 0 ? -1 : s.indexOf(')', close + 2);
      if (close > i && end > close) {
        flush(i);
        out.push({ link: s.slice(i + 1, close), href: s.slice(close + 2, end) });
        i = end + 1;
        plainStart = i;
        continue;
      }
    }
    i++;
  }
  flush(s.length);
  return out;
}
