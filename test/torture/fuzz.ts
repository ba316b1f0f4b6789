/**
 * Fuzzed ingest and queries against `serve`: every answer must be 2xx or 4xx (never 5xx, never
 * a dropped connection for a well-formed HTTP request), the server must stay up, and its
 * resident memory must stay bounded. Raw-socket cases cover what fetch cannot send: a
 * Content-Length that lies, huge headers, broken chunked encoding.
 */
import fc from 'fast-check';
import { connect } from 'node:net';
import path from 'node:path';
import { fuzzRequest, type FuzzRequest } from './fuzz-bodies.js';
import {
  call,
  rssOf,
  startServe,
  stopServe,
  verify,
  workspace,
  type Outcome,
  type ScenarioOptions,
  type Server,
  type Workspace,
} from './serve.js';

const CONFIG = `service: { min_free_bytes: 0, request_timeout_ms: 3000 }\n`;
const CONCURRENCY = 4;
const RSS_LIMIT = 1024 * 1024 * 1024; // 1 GiB: far above a healthy serve (~150-300 MB)

export async function fuzzScenario(o: ScenarioOptions): Promise<Outcome> {
  const seconds = o.short ? 30 : 240;
  const ws = workspace(path.join(o.work, 'fuzz'), CONFIG);
  const server = await startServe(ws);
  const failures: string[] = [];
  const statuses: Record<string, Record<string, number>> = {};
  const count = (family: string, status: string) => {
    const row = (statuses[family] ??= {});
    row[status] = (row[status] ?? 0) + 1;
  };
  let peak = 0;
  const rss: number[] = [];
  const sampler = setInterval(() => {
    const r = rssOf(server.pid);
    peak = Math.max(peak, r);
    rss.push(r);
  }, 250);
  const startRss = rssOf(server.pid);
  const seed = Math.floor(o.random() * 2 ** 31);
  const deadline = Date.now() + seconds * 1000;
  let sent = 0;
  const examples: string[] = [];

  const worker = async (w: number) => {
    let batch = 0;
    while (Date.now() < deadline && server.proc.exitCode === null) {
      const reqs = fc.sample(fuzzRequest, { numRuns: 50, seed: seed + w * 100_003 + batch++ });
      for (const req of reqs) {
        if (Date.now() >= deadline) break;
        const status = await send(server, ws, req);
        sent += 1;
        count(req.family, String(status));
        if (status >= 500 || status === 0) {
          failures.push(
            `${req.family} ${req.method} ${req.route.slice(0, 80)}: ${status === 0 ? 'no answer' : status}`,
          );
          if (examples.length < 5) examples.push(describe(req, status));
        }
      }
      // Raw HTTP every third batch: what fetch will not send.
      if (batch % 3 === 1)
        for (const [name, raw] of rawCases(ws)) {
          const status = await rawRequest(server, raw);
          count(`raw:${name}`, status);
          if (/^5/.test(status)) failures.push(`raw ${name}: ${status}`);
        }
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)));
  clearInterval(sampler);
  const alive = (await call(server, ws, 'GET', '/healthz')).status === 200;
  if (!alive) failures.push(`serve is not alive after fuzzing: ${server.output().slice(-500)}`);
  const endRss = rssOf(server.pid);
  if (peak > RSS_LIMIT) failures.push(`peak RSS ${mib(peak)} MiB over ${mib(RSS_LIMIT)} MiB`);
  // Growth check: the last quarter of the run must not sit far above the second quarter.
  const q = Math.floor(rss.length / 4);
  const mid = Math.max(...rss.slice(q, 2 * q).filter((x) => x > 0), 0);
  const late = Math.max(...rss.slice(3 * q).filter((x) => x > 0), 0);
  if (mid > 0 && late > mid * 2 && late - mid > 200 * 1024 * 1024)
    failures.push(`RSS keeps growing: ${mib(mid)} MiB then ${mib(late)} MiB`);
  await stopServe(server);
  const v = verify(ws);
  if (!v.ok) failures.push(`verify: ${v.summary}`);
  return {
    figures: {
      seconds,
      requests: sent,
      seed,
      statuses,
      rssMiB: {
        start: mib(startRss),
        peak: mib(peak),
        secondQuarterMax: mib(mid),
        lastQuarterMax: mib(late),
        end: mib(endRss),
      },
      verify: v.summary,
    },
    failures: [...new Set(failures)].slice(0, 20),
    notes: examples,
  };
}

const mib = (b: number) => Math.round(b / 1024 / 1024);

function describe(req: FuzzRequest, status: number): string {
  return `example ${status}: ${req.method} ${req.route} ${JSON.stringify(req.headers)} body(base64)=${req.body?.subarray(0, 300).toString('base64') ?? ''}`;
}

async function send(s: Server, ws: Workspace, req: FuzzRequest): Promise<number> {
  try {
    const res = await fetch(`${s.url}${req.route}`, {
      method: req.method,
      headers: { authorization: `Bearer ${ws.token ?? ''}`, ...req.headers },
      body: req.body,
      signal: AbortSignal.timeout(30_000),
    });
    await res.arrayBuffer();
    return res.status;
  } catch {
    return 0;
  }
}

function rawCases(ws: Workspace): Array<[string, string]> {
  const auth = `Authorization: Bearer ${ws.token ?? ''}\r\n`;
  const head = (extra: string) =>
    `POST /v1/events HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json\r\n${extra}`;
  const ev = '{"event":"a.b","msg":"m"}';
  return [
    ['length-longer-than-body', `${head(`Content-Length: ${ev.length + 50}\r\n`)}\r\n${ev}`],
    ['length-shorter-than-body', `${head('Content-Length: 5\r\n')}\r\n${ev}`],
    ['length-huge', `${head('Content-Length: 99999999999\r\n')}\r\n${ev}`],
    ['length-negative', `${head('Content-Length: -1\r\n')}\r\n${ev}`],
    ['length-twice', `${head(`Content-Length: ${ev.length}\r\nContent-Length: 3\r\n`)}\r\n${ev}`],
    ['chunked-bad-size', `${head('Transfer-Encoding: chunked\r\n')}\r\nzz\r\n${ev}\r\n0\r\n\r\n`],
    [
      'chunked-and-length',
      `${head(`Transfer-Encoding: chunked\r\nContent-Length: ${ev.length}\r\n`)}\r\n${ev.length.toString(16)}\r\n${ev}\r\n0\r\n\r\n`,
    ],
    [
      'header-huge',
      `${head(`X-Big: ${'a'.repeat(64 * 1024)}\r\nContent-Length: ${ev.length}\r\n`)}\r\n${ev}`,
    ],
    [
      'header-many',
      `${head(Array.from({ length: 3000 }, (_, i) => `X-${i}: 1\r\n`).join('') + `Content-Length: ${ev.length}\r\n`)}\r\n${ev}`,
    ],
    [
      'content-type-huge',
      `POST /v1/events HTTP/1.1\r\nHost: x\r\n${auth}Content-Type: application/json; ${'a=b; '.repeat(2000)}\r\nContent-Length: ${ev.length}\r\n\r\n${ev}`,
    ],
    [
      'bad-token',
      `POST /v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer dl_000000000000_${'A'.repeat(43)}\r\nContent-Type: application/json\r\nContent-Length: ${ev.length}\r\n\r\n${ev}`,
    ],
  ];
}

/**
 * Send raw bytes, half-close, and read the status line. "closed" when the server closes without
 * an answer (it may, for a request HTTP cannot parse), "timeout" after 15 s.
 */
function rawRequest(s: Server, raw: string): Promise<string> {
  const { hostname, port } = new URL(s.url);
  return new Promise((resolve) => {
    const sock = connect(Number(port), hostname);
    let data = '';
    const done = (v: string) => {
      clearTimeout(t);
      sock.destroy();
      resolve(v);
    };
    const t = setTimeout(() => done('timeout'), 15_000);
    sock.on('connect', () => {
      sock.write(raw);
    });
    sock.on('data', (d: Buffer) => {
      data += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(data);
      if (m !== null) done(m[1]!);
    });
    sock.on('error', () => done(data === '' ? 'closed' : 'error'));
    sock.on('close', () => done(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 'closed'));
  });
}
