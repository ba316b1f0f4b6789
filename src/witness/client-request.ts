import { VERSION } from '../version.js';

/** How a request to a witness's add-checkpoint ended, reduced to what the client acts on. */
export type WitnessAnswer =
  /** 200: the body (UTF-8, bounded), cosignature lines still to be checked. */
  | { readonly kind: 'cosigned'; readonly body: string }
  /** 409 text/x.tlog.size: the size the witness last cosigned. */
  | { readonly kind: 'size'; readonly size: number }
  /** 422: the checkpoint does not extend what the witness cosigned. */
  | { readonly kind: 'inconsistent'; readonly why: string }
  /** 403 or 404: the witness does not know our origin or key. */
  | { readonly kind: 'misconfigured'; readonly why: string }
  /** Another 3xx or 4xx: the witness refuses the request as we make it. */
  | { readonly kind: 'refused'; readonly why: string }
  /** An answer that is not one (body too large, not UTF-8, a 409 without a size). */
  | { readonly kind: 'malformed'; readonly why: string }
  /** No answer: network error, timeout, 5xx. */
  | { readonly kind: 'down'; readonly why: string };

/** The fetch the client uses (the global one by default). */
export type WitnessFetch = (url: string, init: RequestInit) => Promise<Response>;

/** Largest response body read from a witness. */
export const MAX_WITNESS_RESPONSE = 64 * 1024;

const SIZE_BODY = /^(0|[1-9]\d{0,15})\n?$/;
const ERROR_CODE = /^([A-Z][A-Z0-9_]{0,63}):/;

/** The add-checkpoint body: `old <size>`, the proof in base64, an empty line, the note. */
export function addCheckpointBody(old: number, proofHex: readonly string[], note: string): string {
  const proof = proofHex.map((h) => `${Buffer.from(h, 'hex').toString('base64')}\n`).join('');
  return `old ${old}\n${proof}\n${note}`;
}

/**
 * POST the body to `<url>/add-checkpoint` and classify the answer. Never throws: the witness is
 * outside input, so its status, headers and body are bounded and parsed defensively.
 */
export async function postAddCheckpoint(
  fetchFn: WitnessFetch,
  url: string,
  body: string,
  timeoutMs: number,
): Promise<WitnessAnswer> {
  let res: Response;
  try {
    res = await fetchFn(url, {
      method: 'POST',
      body,
      headers: {
        'content-type': 'text/plain; charset=utf-8',
        'user-agent': `dihya-logs/${VERSION}`,
      },
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
  } catch (err) {
    return { kind: 'down', why: describeFailure(err, timeoutMs) };
  }
  const status = res.status;
  if (status >= 500) {
    await discard(res);
    return { kind: 'down', why: `HTTP ${status}` };
  }
  let bytes: Buffer | undefined;
  try {
    bytes = await readBounded(res, MAX_WITNESS_RESPONSE);
  } catch (err) {
    return { kind: 'down', why: describeFailure(err, timeoutMs) };
  }
  if (bytes === undefined)
    return { kind: 'malformed', why: `HTTP ${status}, a body over ${MAX_WITNESS_RESPONSE} bytes` };
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    return { kind: 'malformed', why: `HTTP ${status}, a body that is not UTF-8` };
  }
  if (status === 200) return { kind: 'cosigned', body: text };
  const code = ERROR_CODE.exec(text)?.[1];
  const why = `HTTP ${status}${code === undefined ? '' : ` ${code}`}`;
  if (status === 409) {
    const type = res.headers.get('content-type') ?? '';
    const m = SIZE_BODY.exec(text);
    const size = m?.[1] === undefined ? NaN : Number(m[1]);
    if (!type.toLowerCase().startsWith('text/x.tlog.size') || !Number.isSafeInteger(size))
      return { kind: 'malformed', why: 'HTTP 409 without a text/x.tlog.size body' };
    return { kind: 'size', size };
  }
  if (status === 422) return { kind: 'inconsistent', why };
  if (status === 403 || status === 404) return { kind: 'misconfigured', why };
  return { kind: 'refused', why };
}

/** The body, or undefined past `max` bytes (then the rest is not read). */
async function readBounded(res: Response, max: number): Promise<Buffer | undefined> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  if (Number.isFinite(declared) && declared > max) {
    await discard(res);
    return undefined;
  }
  if (res.body === null) return Buffer.alloc(0);
  const reader = (res.body as ReadableStream<Uint8Array>).getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > max) {
      await reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks);
}

async function discard(res: Response): Promise<void> {
  await res.body?.cancel().catch(() => undefined);
}

/** A short reason that repeats nothing the witness sent. */
function describeFailure(err: unknown, timeoutMs: number): string {
  const e = err as { name?: unknown; cause?: { code?: unknown } } | undefined;
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError')
    return `no answer within ${timeoutMs} ms`;
  const code = e?.cause?.code;
  return typeof code === 'string' && /^[A-Z_]{1,40}$/.test(code) ? code : 'network error';
}
