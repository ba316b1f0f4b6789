/**
 * The values a program logs that are not plain JSON (Date, binary data, RegExp, boxed
 * primitives, toJSON, Map, Error), turned into what JSON holds before they are serialized.
 */

/** What convertSpecial answers for an object that is not one of its kinds. */
export const NOT_SPECIAL = Symbol('not special');

/** Objects that stand for a scalar: Date, binary data, RegExp, boxed primitives, toJSON. */
export function convertSpecial(v: object): unknown {
  if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
  if (ArrayBuffer.isView(v) || v instanceof ArrayBuffer) {
    // Never store raw bytes: they cannot be classified and may hold anything.
    return `[binary ${v.byteLength} bytes]`;
  }
  if (v instanceof RegExp) return String(v);
  if (v instanceof String || v instanceof Number || v instanceof Boolean) return v.valueOf();
  const toJSON = (v as { toJSON?: unknown }).toJSON;
  if (typeof toJSON === 'function' && !(v instanceof Error)) {
    try {
      return toJSON.call(v) as unknown;
    } catch {
      return '[unserializable]';
    }
  }
  return NOT_SPECIAL;
}

/** A Map as an object: its keys as strings (a prototype-less object: any key is data). */
export function mapToRecord(map: Map<unknown, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [key, value] of map) out[String(key)] = value;
  return out;
}

/** An Error keeps its type, message, stack, code and cause chain, plus its own fields. */
export function errorToRecord(err: Error): Record<string, unknown> {
  const out: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const key of Object.keys(err)) out[key] = (err as unknown as Record<string, unknown>)[key];
  out.type = err.name;
  out.message = err.message;
  if (err.stack !== undefined) out.stack = err.stack;
  if (err.cause !== undefined) out.cause = err.cause;
  return out;
}
