import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the stand-in service received. */
export interface Received {
  readonly authorization: string | undefined;
  readonly contentType: string | undefined;
  readonly idempotencyKey: string | undefined;
  readonly lines: Array<Record<string, unknown>>;
}

export interface Answer {
  readonly status: number;
  readonly body?: unknown;
  /** Store the batch (when 200), then drop the connection: the answer is lost on the way. */
  readonly lose?: boolean;
}

/**
 * A real HTTP server standing in for `dihya-logs serve`'s `POST /v1/events`: it records each
 * NDJSON batch, answers as `answer` says (default: 200 with the service's body), and keeps
 * the events of the batches it answered 200 to, in order (the service stores all or nothing).
 * A batch whose Idempotency-Key it stored before is answered as the first time, not stored.
 */
export class FakeService {
  readonly requests: Received[] = [];
  readonly stored: Array<Record<string, unknown>> = [];
  url = '';
  private readonly server: http.Server;
  private readonly answered = new Map<string, string>();

  constructor(
    private readonly answer: (r: Received, n: number) => Answer | undefined = () => undefined,
  ) {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        const received: Received = {
          authorization: req.headers.authorization,
          contentType: req.headers['content-type'],
          idempotencyKey: req.headers['idempotency-key'] as string | undefined,
          lines: text
            .split('\n')
            .filter((l) => l !== '')
            .map((l) => JSON.parse(l) as Record<string, unknown>),
        };
        this.requests.push(received);
        if (req.method !== 'POST' || req.url !== '/v1/events') {
          res.writeHead(404).end();
          return;
        }
        const key = received.idempotencyKey;
        const before = key === undefined ? undefined : this.answered.get(key);
        if (before !== undefined) {
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(before);
          return;
        }
        const a = this.answer(received, this.requests.length) ?? { status: 200 };
        if (a.status === 200) {
          const first = this.stored.length + 1;
          this.stored.push(...received.lines);
          const events = received.lines.map((_, i) => ({ channel: 'app', seq: first + i }));
          const body = JSON.stringify(a.body ?? { stored: events.length, events });
          if (key !== undefined) this.answered.set(key, body);
          if (a.lose === true) {
            req.socket.destroy();
            return;
          }
          res.writeHead(200, { 'content-type': 'application/json' });
          res.end(body);
        } else {
          res.writeHead(a.status, { 'content-type': 'application/json' });
          res.end(
            JSON.stringify(
              a.body ?? { error: { code: 'INTERNAL', message: 'unavailable', id: 'r-1' } },
            ),
          );
        }
      });
    });
  }

  async start(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    this.server.close();
    await once(this.server, 'close');
  }
}
