/**
 * What every torture scenario shares: a logs directory made by the real `init`, the real
 * `serve` as a child process (bin/dihya-logs.js, running dist/), the CLI, and reading the
 * channel files back without the index.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';

/** build/test/torture/serve.js → the repository. */
export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const BIN = path.join(ROOT, 'bin', 'dihya-logs.js');

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export interface Workspace {
  /** Working directory: dihya-logs.yaml, logs/. */
  readonly cwd: string;
  readonly dir: string;
  readonly env: Record<string, string>;
  /** The admin token the first `serve` printed. */
  token?: string;
}

/** `config` (YAML, without `dir`) is written before `init`, which pins the public key into it. */
export function workspace(cwd: string, config: string): Workspace {
  mkdirSync(cwd, { recursive: true });
  writeFileSync(path.join(cwd, 'dihya-logs.yaml'), `dir: ./logs\n${config}`);
  const ws: Workspace = {
    cwd,
    dir: path.join(cwd, 'logs'),
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      DIHYA_LOGS_MASTER_KEY: randomBytes(32).toString('base64'),
      UV_USE_IO_URING: '0', // every write and sync is a plain system call (strace sees it)
    },
  };
  const r = cli(ws, ['init']);
  if (r.code !== 0) throw new Error(`init failed: ${r.stdout}${r.stderr}`);
  return ws;
}

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function cli(ws: Workspace, args: string[], timeoutMs = 300_000): CliResult {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    cwd: ws.cwd,
    env: ws.env,
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 512 * 1024 * 1024,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** `verify --no-progress`: exit code and its first lines. */
export function verify(ws: Workspace): { ok: boolean; summary: string } {
  const r = cli(ws, ['verify', '--no-progress']);
  // The verdict line, then what is damaged (not the per-channel table).
  const lines = (r.stdout + r.stderr).trim().split('\n');
  const summary = [lines[0], ...lines.filter((l) => /^(?:DAMAGE |WARN)/.test(l)).slice(0, 6)].join(
    ' | ',
  );
  return { ok: r.code === 0, summary: `exit ${String(r.code)}: ${summary}` };
}

export interface Server {
  readonly proc: ChildProcess;
  readonly url: string;
  /** The process that serves (not a wrapper's). */
  readonly pid: number;
  output(): string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Start `serve --port 0 --no-scheduler` and wait for "listening on". `wrap` puts a command in
 * front of node (strace); `env` adds variables (a failpoint); `dir` is `--dir` (instances
 * sharing one configuration, each with its own local directory).
 */
export async function startServe(
  ws: Workspace,
  options: { wrap?: string[]; env?: Record<string, string>; timeoutMs?: number; dir?: string } = {},
): Promise<Server> {
  const dir = options.dir === undefined ? [] : ['--dir', options.dir];
  const args = [BIN, ...dir, 'serve', '--port', '0', '--no-scheduler'];
  const wrap = options.wrap ?? [];
  const proc =
    wrap.length === 0
      ? spawn(process.execPath, args, { cwd: ws.cwd, env: { ...ws.env, ...options.env } })
      : spawn(wrap[0]!, [...wrap.slice(1), process.execPath, ...args], {
          cwd: ws.cwd,
          env: { ...ws.env, ...options.env },
        });
  let out = '';
  proc.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  proc.stderr.on('data', (d: Buffer) => (out += d.toString('utf8')));
  const exited = once(proc, 'exit').then(([code, signal]) => ({
    code: code as number | null,
    signal: signal as NodeJS.Signals | null,
  }));
  const state = { gone: false };
  void exited.then(() => (state.gone = true));
  const limit = Date.now() + (options.timeoutMs ?? 60_000);
  while (!/listening on http/.test(out)) {
    if (state.gone || Date.now() > limit) {
      if (!state.gone) proc.kill('SIGKILL');
      const { signal } = await exited;
      throw new Error(`serve did not start (${String(signal)}): ${out.slice(-2000)}`);
    }
    await sleep(25);
  }
  const url = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)?.[1];
  if (url === undefined) throw new Error(`no address in: ${out}`);
  const token = /dl_[\da-f]{12}_[\w-]{43}/.exec(out)?.[0];
  if (token !== undefined) ws.token ??= token;
  if (ws.token === undefined) throw new Error(`no admin token printed: ${out}`);
  const pid = wrap.length === 0 ? proc.pid! : await childPid(proc.pid!);
  return { proc, url, pid, output: () => out, exited };
}

/** The node process under a wrapper (strace forks it). */
async function childPid(pid: number): Promise<number> {
  for (let i = 0; i < 100; i++) {
    try {
      const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/);
      if (kids[0] !== undefined && kids[0] !== '') return Number(kids[0]);
    } catch {
      // not yet
    }
    await sleep(20);
  }
  return pid;
}

/** SIGTERM and wait (SIGKILL after `graceMs`). */
export async function stopServe(s: Server, graceMs = 30_000): Promise<void> {
  // The serving process itself: a wrapper (strace) would detach and leave it running.
  signal(s.pid, 'SIGTERM');
  const t = setTimeout(() => {
    signal(s.pid, 'SIGKILL');
    s.proc.kill('SIGKILL');
  }, graceMs);
  await s.exited;
  clearTimeout(t);
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

export async function kill9(s: Server): Promise<void> {
  signal(s.pid, 'SIGKILL');
  if (s.pid !== s.proc.pid) s.proc.kill('SIGKILL');
  await s.exited;
}

/** VmRSS of a process in bytes, or 0 when gone. */
export function rssOf(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m === null ? 0 : Number(m[1]) * 1024;
  } catch {
    return 0;
  }
}

export interface Answer {
  readonly status: number;
  readonly body: unknown;
}

/** A request with the admin token; a network failure is status 0. */
export async function call(
  s: Server,
  ws: Workspace,
  method: string,
  route: string,
  body?: string,
  headers: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<Answer> {
  try {
    const res = await fetch(`${s.url}${route}`, {
      method,
      headers: {
        authorization: `Bearer ${ws.token ?? ''}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      body,
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed };
  } catch {
    return { status: 0, body: undefined };
  }
}

export type StoredRecord = Record<string, unknown> & { seq: number };

/**
 * Every record of a channel, from its files (active, staged, archived), without the index: a
 * segment both staged and archived (a crash between seal steps) is read twice and must agree.
 * Returns records by seq, and seqs whose copies differ.
 */
export function channelRecords(
  dir: string,
  channel: string,
): { bySeq: Map<number, StoredRecord>; conflicts: number[]; unparsable: number } {
  const texts: string[] = [];
  const active = path.join(dir, `${channel}.log`);
  if (existsSync(active)) texts.push(readFileSync(active, 'utf8'));
  const staging = path.join(dir, 'archive', '.staging');
  const prefix = `${channel}-`;
  if (existsSync(staging))
    for (const f of readdirSync(staging))
      if (f.startsWith(prefix) && f.endsWith('.log'))
        texts.push(readFileSync(path.join(staging, f), 'utf8'));
  for (const f of walk(path.join(dir, 'archive')))
    if (path.basename(f).startsWith(prefix) && f.endsWith('.log.gz'))
      texts.push(gunzipSync(readFileSync(f)).toString('utf8'));
  const bySeq = new Map<number, StoredRecord>();
  const raw = new Map<number, string>();
  const conflicts: number[] = [];
  let unparsable = 0;
  for (const text of texts)
    for (const line of text.split('\n')) {
      if (line === '') continue;
      let r: StoredRecord;
      try {
        r = JSON.parse(line) as StoredRecord;
      } catch {
        unparsable += 1; // a torn last line a kill left: verify says whether it matters
        continue;
      }
      const before = raw.get(r.seq);
      if (before === undefined) {
        raw.set(r.seq, line);
        bySeq.set(r.seq, r);
      } else if (before !== line) conflicts.push(r.seq);
    }
  return { bySeq, conflicts, unparsable };
}

function walk(d: string): string[] {
  if (!existsSync(d)) return [];
  const out: string[] = [];
  for (const e of readdirSync(d, { withFileTypes: true })) {
    if (e.name === '.staging') continue;
    const p = path.join(d, e.name);
    if (e.isDirectory()) out.push(...walk(p));
    else out.push(p);
  }
  return out;
}

/** One scenario's outcome: its figures, and why it failed (empty: PASS). */
export interface Outcome {
  readonly figures: Record<string, unknown>;
  readonly failures: string[];
  readonly notes?: string[];
}

export interface ScenarioOptions {
  readonly short: boolean;
  /** A fresh directory for the scenario's files. */
  readonly work: string;
  /** Seeded randomness (reproducible with --seed). */
  readonly random: () => number;
  readonly log: (line: string) => void;
}
