import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

const INSTALL = 'apt-get install -y postgresql-15 (or set PG_BIN to the directory of initdb)';

/**
 * The directory of PostgreSQL's server binaries: $PG_BIN, else Debian's newest
 * /usr/lib/postgresql/<major>/bin. Throws, never skips: a test that needs a server fails
 * without one.
 */
export function pgBin(): string {
  const fromEnv = process.env.PG_BIN;
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!existsSync(path.join(fromEnv, 'initdb')))
      throw new Error(`PG_BIN=${fromEnv} has no initdb: ${INSTALL}`);
    return fromEnv;
  }
  const base = '/usr/lib/postgresql';
  const majors = existsSync(base)
    ? readdirSync(base)
        .filter((d) => existsSync(path.join(base, d, 'bin', 'initdb')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (majors[0] === undefined)
    throw new Error(`PostgreSQL server binaries not found under ${base}/*/bin: ${INSTALL}`);
  return path.join(base, majors[0], 'bin');
}

// PostgreSQL refuses to run as root; tests run as root in CI, so its programs run as `postgres`.
const AS_ROOT = process.getuid?.() === 0;
const RUNUSER = existsSync('/usr/sbin/runuser') ? '/usr/sbin/runuser' : 'runuser';

// No PGPORT, PGHOST or PGDATA of the caller's (the shared cluster's, say) may steer these programs.
const ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('PG')));

function command(program: string, args: readonly string[]): [string, string[]] {
  const file = path.join(pgBin(), program);
  return AS_ROOT ? [RUNUSER, ['-u', 'postgres', '--', file, ...args]] : [file, [...args]];
}

/** Run a PostgreSQL program to completion; a failure carries its output. */
export async function runPg(program: string, args: readonly string[]): Promise<string> {
  const [file, argv] = command(program, args);
  try {
    const { stdout } = await execFileAsync(file, argv, { env: ENV, timeout: 120_000 });
    return stdout;
  } catch (e) {
    const {
      code,
      stdout = '',
      stderr = '',
    } = e as { code?: unknown; stdout?: string; stderr?: string };
    const how = `${program} ${args.join(' ')} failed (${String(code)})`;
    throw new Error(`${how}:\n${stderr}${stdout}`, { cause: e });
  }
}

/** A free TCP port on loopback, as the kernel hands one out (a race remains; start() retries). */
export async function freePort(): Promise<number> {
  const srv = createServer();
  await new Promise<void>((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', resolve);
  });
  const { port } = srv.address() as { port: number };
  await new Promise((resolve) => srv.close(resolve));
  return port;
}

/** A process's parent and state from /proc, or undefined once it is gone. */
function procStat(pid: number): { ppid: number; state: string } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
  const [state = '', ppid = '0'] = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(ppid), state };
}

function childrenOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number)
    .filter((p) => procStat(p)?.ppid === pid);
}

/** One postmaster in its own data directory, on 127.0.0.1:port. */
export class PgServer {
  /** True between a start and a stop or kill this object made. */
  running = false;

  constructor(
    readonly dataDir: string,
    readonly logFile: string,
    public port: number,
  ) {}

  /** Trust auth, as the superuser, over TCP: the only way in (no Unix socket). */
  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** The last lines of the server log, for error messages. */
  logTail(lines = 25): string {
    const text = existsSync(this.logFile) ? readFileSync(this.logFile, 'utf8') : '(no log)';
    return text.split('\n').slice(-lines).join('\n');
  }

  /**
   * Start and wait until it accepts connections. The port is given on the command line, not in
   * postgresql.conf, so that a port taken since freePort() chose it is retried with another.
   */
  async start(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      const before = existsSync(this.logFile) ? statSync(this.logFile).size : 0;
      try {
        await runPg('pg_ctl', [
          ...['start', '-w', '-t', '60', '-D', this.dataDir, '-l', this.logFile],
          ...['-o', `-p ${this.port}`],
        ]);
        this.running = true;
        return;
      } catch (e) {
        const log = existsSync(this.logFile) ? readFileSync(this.logFile).subarray(before) : '';
        if (attempt < 3 && log.includes('Address already in use')) {
          this.port = await freePort();
          continue;
        }
        throw new Error(`${(e as Error).message}\n--- ${this.logFile} ---\n${this.logTail()}`, {
          cause: e,
        });
      }
    }
  }

  /** pg_ctl stop: `fast` rolls back sessions and checkpoints, `immediate` does neither. */
  async stop(mode: 'fast' | 'immediate'): Promise<void> {
    await runPg('pg_ctl', ['stop', '-w', '-t', '60', '-m', mode, '-D', this.dataDir]);
    this.running = false;
  }

  /** The postmaster's pid, from postmaster.pid's first line. */
  private pid(): number | undefined {
    try {
      const first = readFileSync(path.join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n')[0];
      return Number(first) > 0 ? Number(first) : undefined;
    } catch {
      return undefined;
    }
  }

  /**
   * SIGKILL the postmaster and every process it started, at once, as a machine crash would:
   * no shutdown checkpoint, no backend left finishing its work. Resolves once all are dead.
   */
  async kill(): Promise<void> {
    // Only a server this object started: a stale pid may have been reused by another process.
    if (!this.running) return;
    this.running = false;
    const pm = this.pid();
    if (pm === undefined || procStat(pm) === undefined) return;
    // Stopped first, the postmaster forks no child between the listing and the kill. Its
    // children are each their own session leader, so a process-group kill would miss them.
    process.kill(pm, 'SIGSTOP');
    const all = [pm, ...childrenOf(pm)];
    for (const p of all) process.kill(p, 'SIGKILL');
    // Orphans go to an init that may never reap them: a zombie counts as dead.
    for (let i = 0; all.some((p) => (procStat(p)?.state ?? 'Z') !== 'Z'); i++) {
      if (i > 500) throw new Error(`postgres processes ${all.join(' ')} survived SIGKILL`);
      await sleep(10);
    }
    this.removeSharedMemory();
  }

  /**
   * A killed postmaster leaves its System V segment behind (a restart in the same directory
   * would remove it; the directory is about to go), so it is removed here, by its id in
   * postmaster.pid's seventh line.
   */
  private removeSharedMemory(): void {
    try {
      const line = readFileSync(path.join(this.dataDir, 'postmaster.pid'), 'utf8').split('\n')[6];
      const shmid = line?.trim().split(/\s+/)[1];
      if (shmid !== undefined && /^\d+$/.test(shmid))
        execFileSync('ipcrm', ['-m', shmid], { stdio: 'ignore' });
    } catch {
      // Already gone, or ipcrm missing: a few bytes of shared memory until reboot.
    }
  }

  /** Immediate stop, synchronously: for a process 'exit' handler, where nothing async runs. */
  stopSync(): void {
    if (!this.running) return;
    this.running = false;
    const stop = ['stop', '-w', '-t', '20', '-m', 'immediate', '-D', this.dataDir];
    const [file, argv] = command('pg_ctl', stop);
    try {
      execFileSync(file, argv, { env: ENV, stdio: 'ignore' });
    } catch {
      const pm = this.pid();
      if (pm !== undefined && procStat(pm) !== undefined) process.kill(pm, 'SIGKILL');
    }
  }
}
