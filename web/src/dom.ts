/**
 * Building the DOM. Everything from the service (record content above all) is set as TEXT:
 * this module never parses markup, so a stored `<img onerror>` stays characters on screen.
 */
type Attrs = Record<string, string | number | boolean | undefined | ((e: Event) => void)>;
export type Child = Node | string | number | null | undefined | false;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, ''), value);
    else if (name === 'class') el.className = String(value);
    else if (value === true) el.setAttribute(name, '');
    else el.setAttribute(name, String(value));
  }
  append(el, ...children);
  return el;
}

export function append(el: Node, ...children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === 'object' ? c : document.createTextNode(safeText(c)));
  }
}

/** Replace an element's content. */
export function replace(el: Node, ...children: Child[]): void {
  while (el.firstChild) el.removeChild(el.firstChild);
  append(el, ...children);
}

/**
 * Text as shown: control characters (an ANSI escape, a bell) become their visible Unicode
 * pictures, so nothing in a record can move the cursor or hide text.
 */
export function safeText(v: string | number): string {
  // eslint-disable-next-line no-control-regex -- control characters are what this replaces
  return String(v).replace(/[\u0000-\u0008\u000b-\u001f\u007f]/g, (c) =>
    String.fromCharCode(c === '\u007f' ? 0x2421 : 0x2400 + c.charCodeAt(0)),
  );
}

/** A value of a record as one line of text. */
export function display(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (typeof v === 'object' && 'id' in v && typeof v.id === 'string')
    return (v as { id: string }).id;
  return JSON.stringify(v);
}

// The fields of an actor shown first, in this order; any others follow.
const ACTOR_FIELDS = ['id', 'email', 'name', 'ip'];

/** An actor's fields as [name, text] pairs: scalars as they are, anything nested as JSON. */
function actorFields(v: unknown): Array<[string, string]> {
  if (v === undefined || v === null) return [];
  if (typeof v !== 'object' || Array.isArray(v)) return [['', display(v)]];
  const entries = Object.entries(v as Record<string, unknown>).filter(
    ([, x]) => x !== undefined && x !== null && x !== '',
  );
  const rank = (k: string): number => {
    const i = ACTOR_FIELDS.indexOf(k);
    return i === -1 ? ACTOR_FIELDS.length : i;
  };
  entries.sort(([a], [b]) => rank(a) - rank(b));
  return entries.map(([k, x]) => [k, display(x)]);
}

/** An actor as compact text: its values joined by ` · ` (`u-42 · ana@example.org · [ip#1]`). */
export function actorText(v: unknown): string {
  return actorFields(v)
    .map(([, x]) => x)
    .join(' · ');
}

/** An actor in full, one `field: value` per line (a tooltip). */
export function actorTitle(v: unknown): string {
  return actorFields(v)
    .map(([k, x]) => (k === '' ? x : `${k}: ${x}`))
    .join('\n');
}

/**
 * Record content (a message, an event type, a name): marked translate="no", so a browser's
 * translation leaves it as stored, and the page's own words are told apart from it.
 */
export function content(
  tag: 'span' | 'td' | 'code' | 'strong',
  text: string | number,
  attrs: Attrs = {},
): HTMLElement {
  return h(tag, { ...attrs, translate: 'no' }, text);
}

/** A labelled input (every input has its label). */
export function field(
  label: string,
  input: HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement,
): HTMLElement {
  const id = input.id || `f-${Math.random().toString(36).slice(2, 10)}`;
  input.id = id;
  return h('div', { class: 'field' }, h('label', { for: id }, label), input);
}

export function select(
  name: string,
  options: Array<[string, string]>,
  value = '',
): HTMLSelectElement {
  const s = h('select', { name });
  for (const [v, label] of options) s.append(h('option', { value: v }, label));
  s.value = value;
  return s;
}

/** A table in its own scrolling box: a narrow screen scrolls the table, not the page. */
export function table(headers: string[], rows: Node[], caption?: string): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      {},
      caption === undefined ? null : h('caption', {}, caption),
      h('thead', {}, h('tr', {}, ...headers.map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, ...rows),
    ),
  );
}

export function message(kind: 'error' | 'ok' | 'info', text: string): HTMLElement {
  return h('p', { class: `msg msg-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}
