// Characters JSON must escape, and surrogates (which may be lone): anything else is copied as is.
// eslint-disable-next-line no-control-regex
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

/**
 * A string as canonical JSON text. Most strings need no escaping, and quoting them directly is
 * several times faster than JSON.stringify. Lone surrogates become U+FFFD (I-JSON).
 */
export function quote(s: string): string {
  if (!NEEDS_ESCAPE.test(s)) return `"${s}"`;
  return JSON.stringify(s.isWellFormed() ? s : s.toWellFormed());
}
