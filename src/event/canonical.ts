import { LogsError } from '../errors.js';

/**
 * RFC 8785 (JCS) canonical JSON of a JSON value: object keys sorted by UTF-16 code units,
 * no white space, strings and numbers as ECMAScript's JSON.stringify writes them.
 * Strict: anything JSON cannot hold (undefined, functions, NaN, lone surrogates) is an error.
 */
export function canonicalize(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return jcsString(value);
    case 'number':
      return jcsNumber(value, '$');
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object':
      if (value === null) return 'null';
      if (Array.isArray(value)) return `[${value.map((item) => canonicalize(item)).join(',')}]`;
      return jcsObject(value as Record<string, unknown>);
    default:
      throw new LogsError('EVENT_INVALID', `JSON cannot hold a value of type ${typeof value}`);
  }
}

function jcsObject(obj: Record<string, unknown>): string {
  const keys = Object.keys(obj).sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i] as string;
    if (i > 0) out += ',';
    out += jcsString(key) + ':' + canonicalize(obj[key]);
  }
  return out + '}';
}

/** A string as JCS writes it. I-JSON forbids lone surrogates, so they are refused. */
export function jcsString(value: string): string {
  if (!value.isWellFormed()) {
    throw new LogsError('EVENT_INVALID', 'string holds a lone UTF-16 surrogate');
  }
  return JSON.stringify(value);
}

/** A number as JCS writes it (ECMAScript Number::toString; -0 becomes 0). */
export function jcsNumber(value: number, path: string): string {
  if (!Number.isFinite(value)) {
    throw new LogsError('EVENT_NON_FINITE', `${path}: ${String(value)} is not a finite number`);
  }
  return JSON.stringify(value);
}
