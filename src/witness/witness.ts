import { LogsError, isLogsError } from '../errors.js';
import { EMPTY_ROOT, verifyConsistency } from '../integrity/merkle.js';
import {
  parseCheckpoint,
  signCosignature,
  verifyNote,
  type Cosigner,
} from '../integrity/note/index.js';
import type { WitnessConfig } from './config.js';
import { KeyedSerializer } from './lock.js';
import { parseAddCheckpoint } from './request.js';
import { WitnessStateStore, originHash, type OriginState } from './state.js';

export interface WitnessDeps {
  /** The witness's cosigner (its name must be the configured name). */
  readonly key: Cosigner;
  /** Milliseconds since the epoch. Default Date.now. */
  readonly clock?: () => number;
  /**
   * A checkpoint whose log signature verified was refused (inconsistent, stale): it may be
   * evidence of a misbehaving log, so it is reported (tlog-witness allows logging it).
   */
  readonly onRefused?: (origin: string, err: LogsError) => void;
}

/**
 * The witness, apart from HTTP: add-checkpoint's checks in the order of c2sp.org/tlog-witness,
 * one log at a time, state persisted before the cosignature is given.
 */
export class Witness {
  readonly config: WitnessConfig;
  private readonly key: Cosigner;
  private readonly clock: () => number;
  private readonly onRefused: (origin: string, err: LogsError) => void;
  private readonly store: WitnessStateStore;
  private readonly serial = new KeyedSerializer();
  private readonly origins = new Map<string, string>();

  constructor(config: WitnessConfig, deps: WitnessDeps) {
    if (deps.key.name !== config.name)
      throw new LogsError(
        'CONFIG_INVALID',
        `the witness key is named ${deps.key.name}, the configuration says ${config.name}`,
      );
    this.config = config;
    this.key = deps.key;
    this.clock = deps.clock ?? Date.now;
    this.onRefused = deps.onRefused ?? (() => undefined);
    this.store = new WitnessStateStore(config.stateDir);
    for (const origin of config.logs.keys()) this.origins.set(originHash(origin), origin);
  }

  /** Handle an add-checkpoint body: the cosignature line(s), or a LogsError. */
  async addCheckpoint(body: Buffer): Promise<string> {
    const req = parseAddCheckpoint(body);
    const checkpoint = parseCheckpoint(req.note.text);
    const { origin } = checkpoint;
    const keys = this.config.logs.get(origin);
    if (keys === undefined)
      throw new LogsError('WITNESS_ORIGIN_UNKNOWN', 'this witness does not witness that origin');
    const verified = verifyNote(req.note, keys);
    if (req.oldSize > checkpoint.size)
      throw new LogsError('NOTE_MALFORMED', 'add-checkpoint: the old size is over the new size');
    return this.serial.run(origin, () => {
      try {
        const state = this.store.get(origin);
        const size = state?.size ?? 0;
        if (req.oldSize !== size)
          throw new LogsError('WITNESS_OLD_SIZE', `the latest cosigned size is ${size}`, {
            details: { size },
          });
        const root = checkpoint.rootHash.toString('hex');
        if (checkpoint.size === 0 && root !== EMPTY_ROOT)
          throw inconsistent('an empty tree has the root SHA-256("")');
        if (req.oldSize === 0) {
          if (req.proof.length !== 0) throw inconsistent('old size 0 takes no proof');
        } else {
          const proof = req.proof.map((h) => h.toString('hex'));
          const oldRoot = (state as OriginState).root.toString('hex');
          if (!verifyConsistency(req.oldSize, checkpoint.size, oldRoot, root, proof))
            throw inconsistent(
              req.oldSize === checkpoint.size
                ? 'same size, another root (or a proof where none is due)'
                : 'the consistency proof does not verify',
            );
        }
        // Never before what this witness already stamped for the log, never zero.
        const timestamp = Math.max(Math.floor(this.clock() / 1000), state?.timestamp ?? 0, 1);
        const line = signCosignature(this.key, req.note.text, timestamp);
        const logLines = verified.verified.map((s) => `\u2014 ${s.name} ${s.base64}\n`).join('');
        this.store.put({
          origin,
          size: checkpoint.size,
          root: checkpoint.rootHash,
          timestamp,
          checkpoint: `${req.note.text}\n${logLines}${line}`,
        });
        return line;
      } catch (err) {
        if (isLogsError(err)) this.onRefused(origin, err);
        throw err;
      }
    });
  }

  /** The latest cosigned checkpoint of the log whose origin hashes to `hash`, if any. */
  latest(hash: string): string | undefined {
    const origin = this.origins.get(hash);
    return origin === undefined ? undefined : this.store.get(origin)?.checkpoint;
  }
}

function inconsistent(why: string): LogsError {
  return new LogsError('WITNESS_INCONSISTENT', why);
}
