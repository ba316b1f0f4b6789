import type { FastifyInstance } from 'fastify';
import sjson from 'secure-json-parse';
import { LogsError } from '../errors.js';

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** The body as text; invalid UTF-8 is refused, never replaced (it would change what is stored). */
export function decodeUtf8(body: Buffer): string {
  try {
    return utf8.decode(body);
  } catch {
    throw new LogsError('USAGE', 'the body is not valid UTF-8');
  }
}

/**
 * Parse JSON text, refusing `__proto__` keys and `constructor.prototype` (in any escaped
 * spelling: secure-json-parse looks at the decoded keys): what later merges an object must not
 * reach its prototype. The scan runs only when the text could spell one (it holds "proto",
 * "constructor" or a \\u escape): a batch of ordinary events is parsed once and not searched.
 */
export function parseJson(text: string, where = 'the body'): unknown {
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trim() === '') throw new LogsError('USAGE', `${where} is empty`);
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new LogsError('USAGE', `${where} is not valid JSON`);
  }
  if (
    typeof value === 'object' &&
    value !== null &&
    (body.includes('proto') || body.includes('constructor') || body.includes('\\u'))
  ) {
    try {
      sjson.scan(value, {
        protoAction: 'error',
        constructorAction: 'error',
      });
    } catch {
      throw new LogsError('USAGE', `${where} holds a __proto__ or constructor.prototype key`);
    }
  }
  return value;
}

/** NDJSON: one JSON value per line; blank lines are skipped; a bad line is named by number. */
export function parseNdjson(text: string): unknown[] {
  const out: unknown[] = [];
  let line = 0;
  let at = 0;
  while (at <= text.length) {
    let end = text.indexOf('\n', at);
    if (end === -1) end = text.length;
    line += 1;
    const raw = text.slice(at, end);
    at = end + 1;
    if (raw.trim() === '') continue;
    try {
      out.push(parseJson(raw, `line ${line}`));
    } catch (err) {
      const e = err as LogsError;
      throw new LogsError(e.code, e.message, { details: { index: out.length } });
    }
  }
  return out;
}

const CHARSET = /;\s*charset\s*=\s*"?([^";\s]*)/i;

/**
 * A JSON or NDJSON body's text: it is UTF-8 (RFC 8259, and OTLP/JSON), so a Content-Type
 * naming another charset is refused (415) rather than decoded as something it says it is not.
 */
function textOf(contentType: string | undefined, body: Buffer): string {
  const charset = CHARSET.exec(contentType ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')
    throw new LogsError(
      'MEDIA_TYPE_UNSUPPORTED',
      'JSON and NDJSON bodies are UTF-8: the Content-Type names another charset (give charset=utf-8, or none)',
    );
  return decodeUtf8(body);
}

/**
 * The body types the service reads. JSON and NDJSON are decoded strictly (UTF-8, no prototype
 * keys); protobuf (OTLP) stays bytes for its route. Any other type is 415.
 */
export function registerBodyParsers(app: FastifyInstance): void {
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body, done) => {
    try {
      done(null, parseJson(textOf(req.headers['content-type'], body as Buffer)));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.addContentTypeParser('application/x-ndjson', { parseAs: 'buffer' }, (req, body, done) => {
    try {
      const text = textOf(req.headers['content-type'], body as Buffer);
      done(null, new NdjsonBody(parseNdjson(text)));
    } catch (err) {
      done(err as Error, undefined);
    }
  });
  app.addContentTypeParser(
    ['application/x-protobuf', 'application/protobuf'],
    { parseAs: 'buffer' },
    (_req, body, done) => {
      done(null, new ProtobufBody(body as Buffer));
    },
  );
}

/** Events given as NDJSON (so a route knows the encoding it got). */
export class NdjsonBody {
  constructor(readonly values: unknown[]) {}
}

/** A protobuf body, as bytes. */
export class ProtobufBody {
  constructor(readonly bytes: Buffer) {}
}
