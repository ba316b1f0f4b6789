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
  if (typeof v === 'object' && 'id' in v && typeof v.id === 'string')
    return (v as { id: string }).id;
  return JSON.stringify(v);
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

export function table(headers: string[], rows: Node[], caption?: string): HTMLTableElement {
  return h(
    'table',
    {},
    caption === undefined ? null : h('caption', {}, caption),
    h('thead', {}, h('tr', {}, ...headers.map((x) => h('th', { scope: 'col' }, x)))),
    h('tbody', {}, ...rows),
  );
}

export function message(kind: 'error' | 'ok' | 'info', text: string): HTMLElement {
  return h('p', { class: `msg msg-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, text);
}
