// C0 and C1 controls, DEL, and the Unicode bidi overrides that can make text lie about itself.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;
// The same but the newline.
const UNSAFE_BUT_NEWLINE =
  // eslint-disable-next-line no-control-regex
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/** Make text inert on a terminal: every control character becomes a visible escape. */
export function escapeTerminal(text: string): string {
  return text.replace(UNSAFE, visible);
}

/** The same, but line breaks stay: the layout of JSON or YAML, whose strings are escaped. */
export function escapeTerminalLines(text: string): string {
  return text.replace(UNSAFE_BUT_NEWLINE, visible);
}

function visible(c: string): string {
  if (c === '\n') return '\\n';
  if (c === '\r') return '\\r';
  if (c === '\t') return '\\t';
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}
