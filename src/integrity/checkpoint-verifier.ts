import type { KeyObject } from 'node:crypto';
import { sha256Hex } from '../crypto/hash.js';
import {
  checkpointGenesis,
  checkpointSignatureValid,
  parseCheckpoint,
  type Checkpoint,
} from './checkpoint.js';
import type { Damage } from './damage.js';

export interface CheckpointChainResult {
  /** Trusted checkpoints per channel, in order: those before the first damage. */
  readonly byChannel: ReadonlyMap<string, Checkpoint[]>;
  readonly count: number;
  readonly damage: Damage | undefined;
}

/**
 * Checks the checkpoint log line by line: each line must parse, belong to this log, link to
 * the previous line's hash, carry the trusted key id and a valid signature, and never shrink a
 * channel. Everything from the first bad line on is untrusted.
 */
export class CheckpointChainVerifier {
  private prev: string;
  private readonly byChannel = new Map<string, Checkpoint[]>();
  private count = 0;
  private damage: Damage | undefined;

  constructor(
    private readonly logId: string,
    private readonly kid: string,
    private readonly publicKey: KeyObject,
    private readonly file: string,
  ) {
    this.prev = checkpointGenesis(logId);
  }

  /** Feed the next line (without its newline). Returns false once damage is found. */
  line(bytes: Buffer, lineNo: number): boolean {
    if (this.damage !== undefined) return false;
    const text = bytes.toString('utf8');
    let cp: Checkpoint;
    try {
      cp = parseCheckpoint(text);
    } catch (err) {
      return this.fail('checkpoint_malformed', lineNo, (err as Error).message);
    }
    if (cp.log_id !== this.logId)
      return this.fail(
        'checkpoint_malformed',
        lineNo,
        `the checkpoint belongs to log ${cp.log_id}`,
      );
    if (cp.prev !== this.prev) {
      return this.fail(
        'checkpoint_chain',
        lineNo,
        'the checkpoint does not link to the one before it: a checkpoint was removed, inserted, reordered or altered',
        cp,
      );
    }
    if (cp.kid !== this.kid) {
      return this.fail(
        'wrong_key',
        lineNo,
        `the checkpoint is signed by key ${cp.kid}, not by this log's key ${this.kid}`,
        cp,
      );
    }
    if (!checkpointSignatureValid(cp, this.publicKey)) {
      return this.fail(
        'checkpoint_signature',
        lineNo,
        "the signature does not match the checkpoint: it was altered, or forged without the log's private key",
        cp,
      );
    }
    const list = this.byChannel.get(cp.channel) ?? [];
    const last = list[list.length - 1];
    if (last !== undefined && cp.size < last.size) {
      return this.fail(
        'checkpoint_regressed',
        lineNo,
        `channel ${cp.channel} went from ${last.size} to ${cp.size} records`,
        cp,
      );
    }
    list.push(cp);
    this.byChannel.set(cp.channel, list);
    this.count += 1;
    this.prev = sha256Hex(bytes);
    return true;
  }

  result(): CheckpointChainResult {
    return { byChannel: this.byChannel, count: this.count, damage: this.damage };
  }

  private fail(kind: Damage['kind'], line: number, detail: string, cp?: Checkpoint): false {
    this.damage = {
      kind,
      file: this.file,
      line,
      detail,
      ...(cp === undefined ? {} : { channel: cp.channel, seq: cp.size }),
    };
    return false;
  }
}
