import { generateKeyPairSync, randomBytes } from 'node:crypto';
import path from 'node:path';
import { consistencyProof, leafHash, rootOf } from '../../src/integrity/merkle.js';
import {
  cosigner,
  ed25519Signer,
  formatCheckpoint,
  formatVerifierKey,
  parseVerifierKey,
  signNote,
  type Cosigner,
  type NoteSigner,
  type NoteVerifier,
} from '../../src/integrity/note/index.js';
import {
  buildWitnessApp,
  resolveWitnessConfig,
  type WitnessApp,
  type WitnessConfig,
} from '../../src/witness/index.js';
import { tempDir } from '../helpers.js';

/** A log made with the project's Merkle code, signing tlog-checkpoints with a note key. */
export class TestLog {
  readonly signer: NoteSigner;
  readonly vkey: string;
  readonly leaves: string[] = [];

  constructor(
    readonly origin: string,
    signer?: NoteSigner,
  ) {
    this.signer = signer ?? ed25519Signer(origin, generateKeyPairSync('ed25519').privateKey);
    this.vkey = formatVerifierKey(this.signer);
  }

  append(n: number): this {
    for (let i = 0; i < n; i++) this.leaves.push(leafHash(randomBytes(16)));
    return this;
  }

  root(size = this.leaves.length): Buffer {
    return Buffer.from(rootOf(this.leaves.slice(0, size)), 'hex');
  }

  text(size = this.leaves.length, root = this.root(size)): string {
    return formatCheckpoint({ origin: this.origin, size, rootHash: root });
  }

  checkpoint(
    size = this.leaves.length,
    root?: Buffer,
    signers: NoteSigner[] = [this.signer],
  ): string {
    return signNote(this.text(size, root), signers);
  }

  proof(from: number, to = this.leaves.length): string[] {
    return consistencyProof(this.leaves.slice(0, to), from).map((h) =>
      Buffer.from(h, 'hex').toString('base64'),
    );
  }

  /** The add-checkpoint body from `old` to `size`. */
  body(old: number, size = this.leaves.length): string {
    return addBody(old, old === 0 ? [] : this.proof(old, size), this.checkpoint(size));
  }
}

export function addBody(old: number, proof: readonly string[], note: string): string {
  return `old ${old}\n${proof.map((p) => `${p}\n`).join('')}\n${note}`;
}

export interface TestWitness {
  readonly app: WitnessApp;
  readonly config: WitnessConfig;
  readonly key: Cosigner;
  readonly verifier: NoteVerifier;
  readonly stateDir: string;
  add(body: string | Buffer): Promise<{ status: number; body: string; type: string }>;
}

export const WITNESS_NAME = 'witness.example.org/w1';

export async function startWitness(
  logs: readonly TestLog[],
  options: { stateDir?: string; key?: Cosigner; clock?: () => number; bodyLimit?: number } = {},
): Promise<TestWitness> {
  const stateDir = options.stateDir ?? path.join(tempDir(), 'state');
  const key = options.key ?? cosigner(WITNESS_NAME, generateKeyPairSync('ed25519').privateKey);
  const config = resolveWitnessConfig(
    {
      name: WITNESS_NAME,
      key_file: '/nonexistent/witness.key',
      state_dir: stateDir,
      ...(options.bodyLimit === undefined ? {} : { body_limit: options.bodyLimit }),
      logs: logs.map((l) => ({ origin: l.origin, keys: [l.vkey] })),
    },
    '/',
  );
  const app = await buildWitnessApp(config, {
    key,
    ...(options.clock === undefined ? {} : { clock: options.clock }),
  });
  return {
    app,
    config,
    key,
    verifier: parseVerifierKey(formatVerifierKey(key)),
    stateDir,
    add: async (body) => {
      const r = await app.inject({
        method: 'POST',
        url: '/add-checkpoint',
        payload: body,
        headers: { 'content-type': 'text/plain' },
      });
      return { status: r.statusCode, body: r.body, type: String(r.headers['content-type']) };
    },
  };
}
