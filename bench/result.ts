/** What a worker is asked to do: one scenario, in a directory the parent owns. */
export interface WorkerTask {
  readonly scenario: string;
  readonly events: number;
  /** A fresh, empty directory for this scenario's files. */
  readonly dir: string;
  /** Events per turn of the event loop (buffered scenarios). */
  readonly batch: number;
  /** Concurrent writers (durable scenario). */
  readonly writers: number;
  /** verify: the public key of the log written by `logsDir`'s writer. */
  readonly publicKey?: string;
  /** verify: the logs directory to read. */
  readonly logsDir?: string;
  /** The postgres group: the server, a fresh schema of this run's own, and its sizes. */
  readonly pg?: PgTask;
}

/** What a `11 postgres` scenario gets: `schema` does not exist yet; run.ts drops it at the end. */
export interface PgTask {
  readonly url: string;
  readonly schema: string;
  /** pg-ingest: instance processes. */
  readonly instances?: number;
  /** pg-query: rows loaded into dl_records. */
  readonly rows?: number;
}

/** What a scenario measured; the worker adds the peak RSS. */
export interface Measured {
  readonly events: number;
  /** Wall time from the first event to everything written, synced and closed. */
  readonly ms: number;
  /** Wall time until the producer's last call returned (the rest is draining). */
  readonly produceMs?: number;
  /** Bytes of log written (the files' size). */
  readonly bytes?: number;
  /** Scenario-specific figures (syncs, records per sync, the public key, ...). */
  readonly extra?: Readonly<Record<string, number | string | boolean>>;
}

/** One line of the worker's stdout: a Measured plus where it ran. */
export interface ScenarioResult extends Measured {
  readonly scenario: string;
  readonly eventsPerSec: number;
  /** process.resourceUsage().maxRSS of the worker, in MB (10^6 bytes). */
  readonly peakRssMB: number;
}

/** Events per second, or 0 for a zero-length run. */
export function rate(events: number, ms: number): number {
  return ms > 0 ? (events * 1000) / ms : 0;
}

/** Two decimals, for figures in `extra`. */
export function round2(x: number): number {
  return Math.round(x * 100) / 100;
}
