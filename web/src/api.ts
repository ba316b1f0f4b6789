/**
 * Calls to the service, same origin, authenticated by the HttpOnly session cookie. The CSRF
 * token lives in this module's memory only (never in storage or a URL) and goes with every
 * POST and DELETE.
 */
export interface Session {
  readonly tokenId: string;
  readonly name: string;
  readonly role: 'ingest' | 'auditor' | 'dpo' | 'admin';
  readonly csrf?: string;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrf: string | undefined;
let onSessionEnded: () => void = () => undefined;

export function whenSessionEnds(f: () => void): void {
  onSessionEnded = f;
}

export async function api<T>(method: string, url: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrf !== undefined) headers['x-csrf-token'] = csrf;
  const res = await fetch(url, {
    method,
    headers,
    credentials: 'same-origin',
    cache: 'no-store',
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (res.status === 204) return undefined as T;
  const json = (await res.json().catch(() => ({}))) as {
    error?: { code?: string; message?: string };
  };
  if (!res.ok) {
    const code = json.error?.code ?? `HTTP_${res.status}`;
    if (res.status === 401 && url !== '/v1/session') {
      csrf = undefined;
      onSessionEnded();
    }
    throw new ApiError(res.status, code, `${code}: ${json.error?.message ?? res.statusText}`);
  }
  return json as T;
}

export async function signIn(token: string): Promise<Session> {
  const s = await api<Session>('POST', '/v1/session', { token });
  csrf = s.csrf;
  return s;
}

/** The session after a reload, if the cookie is still good. */
export async function currentSession(): Promise<Session | undefined> {
  try {
    // Without a cookie the service answers 200 `{ signedIn: false }`, not a 401: asking is no
    // failed sign-in (no security event, no red line in the console).
    const s = await api<Session | { readonly signedIn: false }>('GET', '/v1/session');
    if ('signedIn' in s) return undefined;
    csrf = s.csrf;
    return s;
  } catch {
    return undefined;
  }
}

export async function signOut(): Promise<void> {
  try {
    await api('DELETE', '/v1/session');
  } finally {
    csrf = undefined;
  }
}

/** A query string from filter values (empty ones left out). */
export function queryString(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params))
    if (v !== undefined && v.trim() !== '') q.set(k, v.trim());
  return q.toString();
}
