// What a terminal must never get raw from record content: C0 and C1 controls, DEL, the Unicode
// bidi controls that can make text lie about itself (Trojan Source), and the line and paragraph
// separators (U+2028, U+2029) that some terminals and editors break lines at.
/* eslint-disable no-control-regex -- matching control characters is the point */
const UNSAFE =
  /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// The same but the newline.
const UNSAFE_BUT_NEWLINE =
  /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
// The same but C0: what no output of ours writes on purpose (our colours are ESC sequences).
const UNSAFE_BEYOND_C0 = /[\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/* eslint-enable no-control-regex */

/** Make text inert on a terminal: every control character becomes a visible escape. */
export function escapeTerminal(text: string): string {
  return text.replace(UNSAFE, visible);
}

/** The same, but line breaks stay: the layout of JSON or YAML, whose strings are escaped. */
export function escapeTerminalLines(text: string): string {
  return text.replace(UNSAFE_BUT_NEWLINE, visible);
}

/**
 * The same for DEL, C1, bidi controls and U+2028/U+2029 only, C0 kept: the last guard on
 * whatever the CLI writes to a terminal. JSON.stringify escapes C0 but leaves these raw; in a
 * JSON string their `\uXXXX` form is the same value, so the guard changes no document.
 */
export function escapeBeyondC0(text: string): string {
  return text.replace(UNSAFE_BEYOND_C0, visible);
}

function visible(c: string): string {
  if (c === '\n') return '\\n';
  if (c === '\r') return '\\r';
  if (c === '\t') return '\\t';
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;
}
