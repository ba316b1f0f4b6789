import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { LogsError } from '../errors.js';
import { ensureDir, writeFileDurable } from '../util/fs.js';

/** What the witness keeps per log: the latest checkpoint it cosigned. */
export interface OriginState {
  readonly origin: string;
  readonly size: number;
  /** Root hash, 32 bytes. */
  readonly root: Buffer;
  /** Timestamp of the cosignature given for it (seconds). */
  readonly timestamp: number;
  /** The checkpoint note: the log's verified signatures and the witness's cosignature. */
  readonly checkpoint: string;
}

/** The hex SHA-256 of an origin: the state file's name and the monitoring URL's path. */
export function originHash(origin: string): string {
  return createHash('sha256').update(origin, 'utf8').digest('hex');
}

/**
 * One JSON file per log in the state directory (mode 0700), named by the hash of its origin,
 * each replaced atomically and durably (temporary file 0600, fsync, rename, directory fsync).
 * A file that cannot be read back whole is an error, never "no state": a witness that forgot a
 * log would cosign an older tree than it did before.
 */
export class WitnessStateStore {
  readonly dir: string;
  private readonly cache = new Map<string, OriginState>();

  constructor(dir: string) {
    this.dir = path.resolve(dir);
    ensureDir(this.dir);
  }

  fileOf(origin: string): string {
    return path.join(this.dir, `${originHash(origin)}.json`);
  }

  get(origin: string): OriginState | undefined {
    const cached = this.cache.get(origin);
    if (cached !== undefined) return cached;
    const file = this.fileOf(origin);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new LogsError('WITNESS_STATE_INVALID', `${file} cannot be read`, { cause: err });
    }
    const state = decode(text, origin, file);
    this.cache.set(origin, state);
    return state;
  }

  /** Persist, then remember: when this returns the state survives a crash. */
  put(state: OriginState): void {
    const json = {
      v: 1,
      origin: state.origin,
      size: state.size,
      root: state.root.toString('base64'),
      timestamp: state.timestamp,
      checkpoint: state.checkpoint,
    };
    try {
      writeFileDurable(this.fileOf(state.origin), `${JSON.stringify(json)}\n`);
    } catch (err) {
      // What reached the disk is unknown: read it again next time.
      this.cache.delete(state.origin);
      throw err;
    }
    this.cache.set(state.origin, Object.freeze({ ...state }));
  }
}

function decode(text: string, origin: string, file: string): OriginState {
  const bad = (why: string): LogsError =>
    new LogsError('WITNESS_STATE_INVALID', `${file}: ${why}; the witness refuses this log`);
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw bad(`not JSON (${err instanceof Error ? err.message : 'parse error'})`);
  }
  if (typeof raw !== 'object' || raw === null) throw bad('not an object');
  const r = raw as Record<string, unknown>;
  if (r.v !== 1) throw bad('unknown version');
  if (r.origin !== origin) throw bad('it is the state of another origin');
  if (typeof r.size !== 'number' || !Number.isSafeInteger(r.size) || r.size < 0)
    throw bad('bad size');
  const root = typeof r.root === 'string' ? Buffer.from(r.root, 'base64') : undefined;
  if (root?.length !== 32 || root.toString('base64') !== r.root) throw bad('bad root');
  if (typeof r.timestamp !== 'number' || !Number.isSafeInteger(r.timestamp) || r.timestamp < 0)
    throw bad('bad timestamp');
  if (typeof r.checkpoint !== 'string') throw bad('bad checkpoint');
  return Object.freeze({
    origin,
    size: r.size,
    root,
    timestamp: r.timestamp,
    checkpoint: r.checkpoint,
  });
}
