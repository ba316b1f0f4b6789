import type { IncomingHttpHeaders } from 'node:http';

/**
 * A request's part ready for the record: its value, or why it was left out (`too_large`,
 * `too_deep`, `unserializable`), or undefined when there is nothing. Parts are left out whole,
 * never cut: a value cut in the middle of a secret or an e-mail would no longer be recognized
 * by the classification, and would be stored in part.
 */
export type Bounded = { readonly value: unknown } | { readonly omitted: string } | undefined;

type Fields = Record<string, string | string[]>;

/** The raw path, decoded so that the classification sees e-mails written `%40`. */
export function pathField(raw: string, limit: number): Bounded {
  if (raw.length > limit) return { omitted: 'too_large' };
  try {
    return { value: decodeURIComponent(raw) };
  } catch {
    return { value: raw }; // malformed escapes: as received
  }
}

/**
 * The request headers, copied into an object without prototype (a header named `__proto__`
 * stays a plain key). `authorization`, `cookie` and the like are removed downstream by the
 * classification, by their names.
 */
export function headersField(headers: IncomingHttpHeaders, limit: number): Bounded {
  const out = Object.create(null) as Fields;
  let size = 0;
  for (const key of Object.keys(headers)) {
    const v = headers[key];
    if (v === undefined) continue;
    size += key.length + (typeof v === 'string' ? v.length : v.join('').length) + 6;
    if (size > limit) return { omitted: 'too_large' };
    out[key] = v;
  }
  return { value: out };
}

/** The query string as an object; a repeated name gives an array. */
export function queryField(search: string, limit: number): Bounded {
  if (search === '') return undefined;
  if (search.length > limit) return { omitted: 'too_large' };
  const out = Object.create(null) as Fields;
  for (const [k, v] of new URLSearchParams(search)) {
    const prev = out[k];
    if (prev === undefined) out[k] = v;
    else if (Array.isArray(prev)) prev.push(v);
    else out[k] = [prev, v];
  }
  return { value: out };
}

/**
 * The parsed body, if its JSON fits in `limit` bytes and `depth` levels. `received` (the
 * request's length) spares serializing a body that is obviously too large.
 */
export function bodyField(body: unknown, received: number, limit: number, depth: number): Bounded {
  if (body === undefined || body === null) return undefined;
  // Raw bytes are stored as `[binary N bytes]` by the serializer: no size concern.
  if (body instanceof Uint8Array || body instanceof ArrayBuffer) return { value: body };
  if (received > limit * 4) return { omitted: 'too_large' };
  let text: string | undefined;
  try {
    text = stringify(body);
  } catch {
    return { omitted: 'unserializable' }; // a cycle, a BigInt, a throwing toJSON
  }
  if (text === undefined) return undefined;
  if (text.length > limit || Buffer.byteLength(text) > limit) return { omitted: 'too_large' };
  if (!within(body, depth)) return { omitted: 'too_deep' };
  return { value: body };
}

// JSON.stringify gives undefined for a function or a symbol: typed string, it is not always one.
const stringify = (v: unknown): string | undefined => JSON.stringify(v);

/** Whether a JSON-serializable value nests at most `levels` objects or arrays deep. */
function within(v: unknown, levels: number): boolean {
  if (typeof v !== 'object' || v === null) return true;
  if (levels <= 0) return false;
  const items: unknown[] = Array.isArray(v) ? v : Object.values(v);
  for (const item of items) if (!within(item, levels - 1)) return false;
  return true;
}
