import { spawn } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import type { AlertsConfig } from '../config/detection.js';
import { LogsError } from '../errors.js';
import { readJsonFile, readOwnerOnlyFile, writeFileDurable } from '../util/fs.js';
import type { RecordRef } from './window.js';

/** What a webhook receives and a command reads on its standard input. */
export interface AlertPayload {
  /** Unique per alert: a receiver that gets one twice (a lost answer) can tell. */
  readonly id: string;
  /** `alert.<type>`: the event type of its record in `security`. */
  readonly type: string;
  readonly detector: string;
  readonly message: string;
  /** When it was raised (ISO 8601). */
  readonly time: string;
  readonly log_id: string;
  readonly group?: { readonly by: string; readonly value: string };
  readonly count?: number;
  readonly window_ms?: number;
  readonly evidence: readonly RecordRef[];
  readonly details?: Readonly<Record<string, string | number | boolean>>;
  /** The alert's own record, or null when it could not be written (the disk failing). */
  readonly record: RecordRef | null;
}

/** A failed delivery, for the log (the service writes it to `app`). */
export interface DeliveryFailure {
  readonly alertId: string;
  readonly via: 'webhook' | 'command';
  readonly attempts: number;
  /** HTTP status, exit code, or an error code (ETIMEDOUT, ECONNREFUSED...). */
  readonly reason: string;
  /** Whether it is given up (no more attempts). */
  readonly final: boolean;
}

export interface NotifierOptions {
  readonly config: AlertsConfig;
  /** Where undelivered alerts wait across a restart (`.integrity/state/alert.outbox.json`). */
  readonly outboxFile: string;
  readonly onFailure: (f: DeliveryFailure) => void;
  /** For tests: the time to wait before attempt n+1 is backoffMs × 2^(n-1), capped at 1 h. */
  readonly sleep?: (ms: number) => Promise<void>;
}

/** Header carrying `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`. */
export const SIGNATURE_HEADER = 'x-dihya-signature';
export const ALERT_ID_HEADER = 'x-dihya-alert-id';

const MAX_QUEUE = 10_000;
const MAX_IN_FLIGHT = 4;
const MAX_BACKOFF_MS = 60 * 60_000;

interface Delivery {
  readonly payload: AlertPayload;
  attempt: number;
}

/**
 * Sign a webhook body: the receiver recomputes the HMAC over `<t>.<body>` with the shared
 * secret, compares in constant time, and refuses a `t` too far from its clock (replays).
 */
export function signBody(secret: Buffer, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`).digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/**
 * The webhook's secret: from its environment variable, else from its file (kept outside the
 * logs, not readable by others). A webhook without a secret is refused at start.
 */
export function webhookSecret(
  config: NonNullable<AlertsConfig['webhook']>,
  env: NodeJS.ProcessEnv = process.env,
): Buffer {
  const fromEnv = env[config.secretEnv];
  if (fromEnv !== undefined && fromEnv.length > 0) {
    if (fromEnv.length < 16)
      throw new LogsError(
        'CONFIG_INVALID',
        `alerts.webhook: the secret in ${config.secretEnv} is shorter than 16 characters`,
      );
    return Buffer.from(fromEnv, 'utf8');
  }
  if (config.secretFile === undefined)
    throw new LogsError(
      'CONFIG_INVALID',
      `alerts.webhook: no secret to sign alerts with: set ${config.secretEnv} or alerts.webhook.secret_file`,
    );
  const label = `alerts.webhook.secret_file: ${config.secretFile}`;
  const text = readOwnerOnlyFile(config.secretFile, label, 'CONFIG_INVALID').trim();
  if (text.length < 16)
    throw new LogsError('CONFIG_INVALID', `${label} holds fewer than 16 characters`);
  return Buffer.from(text, 'utf8');
}

/**
 * Sends alerts to the webhook (signed, retried with exponential backoff until it answers 2xx,
 * or given up after `attempts`) and to the command (the alert as JSON on its standard input).
 * `send` never waits: nothing of this is on the ingest path. Alerts still undelivered when the
 * service stops are kept in `.integrity/state/alert.outbox.json` and sent at the next start.
 */
export class Notifier {
  private readonly queue: Delivery[] = [];
  /** Deliveries under way: sending, or waiting for their next attempt. */
  private readonly active = new Set<Delivery>();
  private closed = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly idle = new Set<() => void>();
  private readonly secret: Buffer | undefined;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: NotifierOptions) {
    const webhook = options.config.webhook;
    this.secret = webhook === undefined ? undefined : webhookSecret(webhook);
    this.sleep =
      options.sleep ??
      ((ms) =>
        new Promise((resolve) => {
          const t = setTimeout(() => {
            this.timers.delete(t);
            resolve();
          }, ms);
          this.timers.add(t);
        }));
    this.loadOutbox();
  }

  /** Whether anything is configured to be notified. */
  get enabled(): boolean {
    return this.options.config.webhook !== undefined || this.options.config.command !== undefined;
  }

  send(payload: AlertPayload): void {
    if (this.closed) return;
    if (this.options.config.command !== undefined) this.runCommand(payload);
    if (this.options.config.webhook === undefined) return;
    if (this.queue.length >= MAX_QUEUE) {
      const dropped = this.queue.shift();
      if (dropped !== undefined)
        this.options.onFailure({
          alertId: dropped.payload.id,
          via: 'webhook',
          attempts: dropped.attempt,
          reason: 'queue full',
          final: true,
        });
    }
    this.queue.push({ payload, attempt: 0 });
    this.pump();
  }

  /** Resolves when nothing is queued, sending or waiting to be retried. */
  settled(): Promise<void> {
    if (this.pending() === 0) return Promise.resolve();
    return new Promise((resolve) => this.idle.add(resolve));
  }

  /** Stop: what is not delivered yet is kept for the next start. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    // A delivery still sending may yet succeed: the receiver then gets it twice and tells by
    // its id (at least once, never lost).
    const left = [...this.active, ...this.queue];
    this.queue.length = 0;
    this.active.clear();
    const file = this.options.outboxFile;
    if (left.length > 0 && this.options.config.webhook !== undefined)
      writeFileDurable(file, `${JSON.stringify(left.map((d) => d.payload))}\n`);
    for (const resolve of this.idle) resolve();
    this.idle.clear();
  }

  private isClosed(): boolean {
    return this.closed;
  }

  private pending(): number {
    return this.queue.length + this.active.size;
  }

  private pump(): void {
    while (!this.closed && this.active.size < MAX_IN_FLIGHT && this.queue.length > 0) {
      const d = this.queue.shift();
      if (d === undefined) break;
      this.active.add(d);
      void this.deliver(d).finally(() => {
        this.active.delete(d);
        this.pump();
        if (this.pending() === 0) {
          for (const resolve of this.idle) resolve();
          this.idle.clear();
        }
      });
    }
  }

  private async deliver(d: Delivery): Promise<void> {
    const webhook = this.options.config.webhook;
    const secret = this.secret;
    if (webhook === undefined || secret === undefined) return;
    for (;;) {
      d.attempt++;
      const reason = await this.post(webhook, secret, d.payload);
      if (reason === undefined || this.closed) return;
      const final = d.attempt >= webhook.attempts || reason.startsWith('refused');
      this.options.onFailure({
        alertId: d.payload.id,
        via: 'webhook',
        attempts: d.attempt,
        reason,
        final,
      });
      if (final) return;
      await this.sleep(Math.min(MAX_BACKOFF_MS, webhook.backoffMs * 2 ** (d.attempt - 1)));
      // close() may have run while we slept: it kept this delivery for the next start.
      if (this.isClosed()) return;
    }
  }

  /** One attempt: undefined when delivered, else why not ('refused ...' is not retried). */
  private async post(
    webhook: NonNullable<AlertsConfig['webhook']>,
    secret: Buffer,
    payload: AlertPayload,
  ): Promise<string | undefined> {
    const body = JSON.stringify(payload);
    try {
      const res = await fetch(webhook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'dihya-logs',
          [ALERT_ID_HEADER]: payload.id,
          [SIGNATURE_HEADER]: signBody(secret, body, Math.floor(Date.now() / 1000)),
        },
        body,
        redirect: 'manual',
        signal: AbortSignal.timeout(webhook.timeoutMs),
      });
      await res.body?.cancel();
      if (res.status >= 200 && res.status < 300) return undefined;
      // A receiver that refuses the request itself will refuse it again; a busy or failing
      // one may not.
      const retry = res.status >= 500 || res.status === 408 || res.status === 429;
      return retry ? `HTTP ${res.status}` : `refused: HTTP ${res.status}`;
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      if (e.name === 'TimeoutError') return 'timeout';
      return e.cause?.code ?? e.name;
    }
  }

  private runCommand(payload: AlertPayload): void {
    const command = this.options.config.command;
    if (command === undefined) return;
    const [file, ...args] = command.argv;
    if (file === undefined) return;
    const fail = (reason: string): void =>
      this.options.onFailure({
        alertId: payload.id,
        via: 'command',
        attempts: 1,
        reason,
        final: true,
      });
    try {
      const child = spawn(file, args, {
        stdio: ['pipe', 'ignore', 'ignore'],
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          DIHYA_ALERT_ID: payload.id,
          DIHYA_ALERT_TYPE: payload.type,
        },
        timeout: command.timeoutMs,
        killSignal: 'SIGKILL',
      });
      child.once('error', (err: NodeJS.ErrnoException) => fail(err.code ?? err.name));
      child.once('exit', (code, signal) => {
        if (signal !== null) fail(`signal ${signal}`);
        else if (code !== 0) fail(`exit ${code}`);
      });
      child.stdin.on('error', () => undefined); // a command that does not read its input
      child.stdin.end(`${JSON.stringify(payload)}\n`);
    } catch (err) {
      fail((err as NodeJS.ErrnoException).code ?? 'spawn failed');
    }
  }

  private loadOutbox(): void {
    const file = this.options.outboxFile;
    if (!existsSync(file)) return;
    const saved = readJsonFile(file);
    rmSync(file, { force: true });
    if (!Array.isArray(saved) || this.options.config.webhook === undefined) return;
    for (const p of saved.slice(-MAX_QUEUE))
      if (typeof p === 'object' && p !== null && typeof (p as AlertPayload).id === 'string')
        this.queue.push({ payload: p as AlertPayload, attempt: 0 });
    this.pump();
  }
}
