import type { IncomingMessage, ServerResponse } from 'node:http';

/** A request and its response, with the byte counters `countBytes` keeps up to date. */
export interface Counted {
  readonly raw: IncomingMessage;
  readonly res: ServerResponse;
  /** The request's Content-Length; when undefined, its body is counted into bytesIn. */
  readonly declaredIn: number | undefined;
  bytesIn: number;
  bytesOut: number;
}

/**
 * Count the bytes of the response body (and of a request body without Content-Length) as they
 * pass: compression or other wrappers installed later sit above these, so what is counted is
 * what goes to the socket.
 */
export function countBytes(t: Counted): void {
  const res = t.res;
  const write = res.write.bind(res) as (...args: unknown[]) => boolean;
  const end = res.end.bind(res) as (...args: unknown[]) => ServerResponse;
  res.write = ((...args: unknown[]) => {
    t.bytesOut += byteLength(args[0], args[1]);
    return write(...args);
  }) as typeof res.write;
  res.end = ((...args: unknown[]) => {
    t.bytesOut += byteLength(args[0], args[1]);
    return end(...args);
  }) as typeof res.end;
  if (t.declaredIn === undefined) {
    const req = t.raw;
    const push = req.push.bind(req);
    req.push = (chunk: unknown, encoding?: BufferEncoding): boolean => {
      t.bytesIn += byteLength(chunk, encoding);
      return push(chunk, encoding);
    };
  }
}

function byteLength(chunk: unknown, encoding: unknown): number {
  if (typeof chunk === 'string') {
    return Buffer.byteLength(
      chunk,
      typeof encoding === 'string' && Buffer.isEncoding(encoding) ? encoding : 'utf8',
    );
  }
  return chunk instanceof Uint8Array ? chunk.byteLength : 0;
}
