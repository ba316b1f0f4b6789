/**
 * Where the time goes while the instances ingest: every 20 ms, what each of their database
 * connections is doing (pg_stat_activity: running, waiting for the WAL fsync, for the head row
 * lock, for the instance to send its next statement, idle), and the CPU time of the server's
 * processes from /proc (the instances' backends, the server's own background processes, other
 * clients' backends). The server must run on this machine for the CPU figures.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { cpuMs, systemCpuMs } from './proc.js';

const INTERVAL_MS = 20;
// Who holds the checkpoint leader's lock, every LEADER_EVERY samples (pg_locks is not free).
const LEADER_EVERY = 25;
// The leader's session advisory lock (src/store/postgres/checkpointer.ts, 'dlld'): a bigint
// key shows in pg_locks as classid 0, objid = the key, objsubid 1.
const LEADER_LOCK = 0x646c_6c64;

type Kind = 'ours' | 'background' | 'other' | 'sampler';

interface Tracked {
  readonly kind: Kind;
  readonly first: number;
  last: number;
}

interface ActivityRow {
  pid: number;
  application_name: string;
  backend_type: string;
  state: string | null;
  wait_event_type: string | null;
  wait_event: string | null;
}

export interface SamplerSummary {
  readonly samples: number;
  /** Mean number of this run's connections in each state over the samples. */
  readonly states: Readonly<Record<string, number>>;
  /** CPU time over the run (ms); undefined when the server's processes are not visible here. */
  readonly backendCpuMs: number | undefined;
  readonly backgroundCpuMs: number | undefined;
  readonly otherClientCpuMs: number | undefined;
  /** The sampler itself: this process and its connection's backend (ms). */
  readonly samplerCpuMs: number | undefined;
  /** All processes of the machine (ms), from /proc/stat. */
  readonly machineCpuMs: number | undefined;
  /** Leader checks: held by one of this run's connections, by another client, by none. */
  readonly leader: { readonly ours: number; readonly elsewhere: number; readonly none: number };
}

/** A connection state as a short label: `running`, `IO:WALSync`, `waiting for the client`... */
function label(r: ActivityRow): string {
  if (r.state === 'idle') return 'idle';
  if (r.state === 'idle in transaction') return 'in transaction, waiting for the instance';
  if (r.state !== 'active') return r.state ?? 'unknown';
  if (r.wait_event_type === null) return 'running';
  return `${r.wait_event_type}:${r.wait_event ?? ''}`;
}

/** Samples until stop(); connections whose application_name starts with `prefix` are "ours". */
export class PgSampler {
  private readonly tracked = new Map<number, Tracked>();
  private readonly states = new Map<string, number>();
  private readonly leader = { ours: 0, elsewhere: 0, none: 0 };
  private samples = 0;
  private stopped = false;
  private loop: Promise<void> | undefined;
  private machine0: number | undefined;
  private visible = false;
  private cpu0: NodeJS.CpuUsage | undefined;

  private constructor(
    private readonly client: pg.Client,
    private readonly prefix: string,
    private readonly selfPid: number,
  ) {}

  static async start(url: string, prefix: string): Promise<PgSampler> {
    const client = new pg.Client({
      connectionString: url,
      connectionTimeoutMillis: 5000,
      application_name: 'dihya-bench-sampler',
    });
    client.on('error', () => undefined);
    await client.connect();
    const { rows } = await client.query<{ pid: number }>('SELECT pg_backend_pid() AS pid');
    const s = new PgSampler(client, prefix, rows[0]?.pid ?? 0);
    await s.sample(); // the baseline of every process there now
    s.machine0 = systemCpuMs();
    s.cpu0 = process.cpuUsage();
    s.samples = 0;
    s.states.clear();
    s.loop = s.run();
    return s;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      await sleep(INTERVAL_MS);
      await this.sample();
    }
  }

  private async sample(): Promise<void> {
    const { rows } = await this.client.query<ActivityRow>(
      `SELECT pid, application_name, backend_type, state, wait_event_type, wait_event
         FROM pg_stat_activity WHERE pid <> pg_backend_pid()`,
    );
    this.samples++;
    this.track(this.selfPid, 'sampler');
    for (const r of rows) {
      const ours = r.application_name.startsWith(this.prefix);
      if (ours) this.states.set(label(r), (this.states.get(label(r)) ?? 0) + 1);
      this.track(
        r.pid,
        ours ? 'ours' : r.backend_type === 'client backend' ? 'other' : 'background',
      );
    }
    // A process gone since the last sample keeps its last reading (one interval at most is lost).
    if (this.samples % LEADER_EVERY === 0) await this.sampleLeader();
  }

  /** Read a process's CPU time now; the first reading of a pid is its baseline. */
  private track(pid: number, kind: Kind): void {
    const now = cpuMs(pid);
    if (now === undefined) return;
    this.visible = true;
    const t = this.tracked.get(pid);
    if (t !== undefined) t.last = now;
    else this.tracked.set(pid, { kind, first: now, last: now });
  }

  private async sampleLeader(): Promise<void> {
    const { rows } = await this.client.query<{ application_name: string }>(
      `SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
        WHERE l.locktype = 'advisory' AND l.classid = 0 AND l.objid = $1 AND l.objsubid = 1
          AND l.granted AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())`,
      [LEADER_LOCK],
    );
    const holder = rows[0]?.application_name;
    if (holder === undefined) this.leader.none++;
    else if (holder.startsWith(this.prefix)) this.leader.ours++;
    else this.leader.elsewhere++;
  }

  async stop(): Promise<SamplerSummary> {
    this.stopped = true;
    await this.loop;
    const machine1 = systemCpuMs();
    await this.client.end().catch(() => undefined);
    const sum = (kind: Kind): number | undefined => {
      if (!this.visible) return undefined;
      let ms = 0;
      for (const t of this.tracked.values()) if (t.kind === kind) ms += t.last - t.first;
      return ms;
    };
    const own = process.cpuUsage(this.cpu0);
    const backend = sum('sampler');
    const n = Math.max(1, this.samples);
    return {
      samples: this.samples,
      states: Object.fromEntries([...this.states].map(([k, v]) => [k, v / n])),
      backendCpuMs: sum('ours'),
      backgroundCpuMs: sum('background'),
      otherClientCpuMs: sum('other'),
      samplerCpuMs: backend === undefined ? undefined : backend + (own.user + own.system) / 1000,
      machineCpuMs:
        this.machine0 === undefined || machine1 === undefined
          ? undefined
          : machine1 - this.machine0,
      leader: { ...this.leader },
    };
  }
}

/** Server-wide WAL figures (pg_stat_wal, PostgreSQL 14+): records, bytes, writes and fsyncs. */
export interface WalStats {
  readonly records: number;
  readonly bytes: number;
  readonly writes: number;
  readonly syncs: number;
}

export async function walStats(client: pg.ClientBase): Promise<WalStats | undefined> {
  try {
    const { rows } = await client.query<Record<string, string>>(
      'SELECT wal_records, wal_bytes, wal_write, wal_sync FROM pg_stat_wal',
    );
    const r = rows[0];
    if (r === undefined) return undefined;
    return {
      records: Number(r.wal_records),
      bytes: Number(r.wal_bytes),
      writes: Number(r.wal_write),
      syncs: Number(r.wal_sync),
    };
  } catch {
    return undefined; // before PostgreSQL 14
  }
}
