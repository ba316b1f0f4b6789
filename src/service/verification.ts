import { Worker } from 'node:worker_threads';
import { LogsError, asLogsError } from '../errors.js';
import type { Damage, Warning } from '../integrity/damage.js';
import type { LogLayout } from '../store/file/index.js';
import type { VerifyReport } from '../store/verify-report.js';
import { readJsonFile, writeFileDurable } from '../util/fs.js';

/** The last verification's outcome, as the integrity route shows it. */
export interface VerificationResult {
  readonly at: string;
  readonly by: string;
  readonly ok: boolean;
  readonly durationMs: number;
  readonly records: number;
  readonly bytes: number;
  readonly damage: readonly Damage[];
  readonly warnings: readonly Warning[];
}

export interface VerificationProgress {
  readonly startedAt: string;
  readonly by: string;
  readonly bytes: number;
  readonly totalBytes: number;
  readonly records: number;
}

/**
 * Runs `verify` in a worker thread (hashing gigabytes must not stall the service), one run at
 * a time, keeping its progress and the last result (also in `.integrity/state/service.last-verify.json`, so a
 * restart still shows it).
 */
export class Verification {
  private current: Promise<VerificationResult> | undefined;
  private progressNow: VerificationProgress | undefined;
  private lastResult: VerificationResult | undefined;
  private readonly file: string;
  private readonly listeners = new Set<(r: VerificationResult) => void>();

  constructor(
    private readonly layout: LogLayout,
    private readonly publicKey: string | undefined,
    /** Witnesses to compare with (their newest cosigned trees), and the log name of origins. */
    private readonly witnessing: {
      readonly logName: string | undefined;
      readonly witnesses: ReadonlyArray<{ readonly url: string; readonly key: string }>;
    } = { logName: undefined, witnesses: [] },
    /** A PostgreSQL store's database: verified there (no master key needed) instead of files. */
    private readonly database?: { readonly url: string; readonly schema: string },
  ) {
    this.file = layout.serviceStateFile('lastVerify');
    // Missing or unreadable: shown as never run.
    this.lastResult = readJsonFile(this.file) as VerificationResult | undefined;
  }

  get last(): VerificationResult | undefined {
    return this.lastResult;
  }

  /** Called with the result of every run (the detectors raise an alert on damage). */
  onResult(listener: (r: VerificationResult) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  get progress(): VerificationProgress | undefined {
    return this.progressNow;
  }

  /** Start a run (or join the one running); resolves with its result. */
  run(by: string): Promise<VerificationResult> {
    if (this.current !== undefined) return this.current;
    const started = new Date();
    this.progressNow = {
      startedAt: started.toISOString(),
      by,
      bytes: 0,
      totalBytes: 0,
      records: 0,
    };
    const run = new Promise<VerifyReport>((resolve, reject) => {
      const worker = new Worker(new URL('./verify-worker.js', import.meta.url), {
        workerData: {
          dir: this.layout.dir,
          publicKey: this.publicKey,
          logName: this.witnessing.logName,
          witnesses: this.witnessing.witnesses,
          database: this.database,
        },
      });
      worker.on('message', (m: { type: 'progress' | 'done' } & Record<string, unknown>) => {
        if (m.type === 'progress' && this.progressNow !== undefined)
          this.progressNow = {
            ...this.progressNow,
            bytes: Number(m.bytes),
            totalBytes: Number(m.totalBytes),
            records: Number(m.records),
          };
        else if (m.type === 'done') resolve(m.report as VerifyReport);
      });
      worker.once('error', (err) => reject(asLogsError(err)));
      worker.once('exit', (code) => {
        if (code !== 0) reject(new LogsError('INTERNAL', `verification stopped (exit ${code})`));
      });
    });
    this.current = run
      .then((report) => {
        const result: VerificationResult = {
          at: new Date().toISOString(),
          by,
          ok: report.ok,
          durationMs: Math.round(report.durationMs),
          records: report.records,
          bytes: report.bytes,
          damage: report.damage,
          warnings: report.warnings,
        };
        this.lastResult = result;
        writeFileDurable(this.file, `${JSON.stringify(result, null, 2)}\n`);
        for (const l of this.listeners) l(result);
        return result;
      })
      .finally(() => {
        this.current = undefined;
        this.progressNow = undefined;
      });
    return this.current;
  }
}
