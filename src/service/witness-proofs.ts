import { Worker } from 'node:worker_threads';
import { consistencyProofFromIndex } from '../index/proofs.js';
import type { LogLayout } from '../store/file/layout.js';
import { loadState } from '../store/file/state-file.js';
import type { IndexAccess } from './index-access.js';
import type { FromProofs, ToProofs } from './witness-proofs-worker.js';

/**
 * Consistency proofs for the witness client without building the index. Every node of a
 * proof from size m to n left of m is a peak of the tree at m, and every node right of it a
 * subtree of the records m+1..n, so a channel's peaks at one size plus the chain hashes of the
 * records after it are enough. A thread of its own follows each channel file across rotations
 * (as the detectors do), from the writer's state file (its peaks at its last checkpoint), and
 * folds the new records once (witness-tail.ts). Each proof is checked against the signed root
 * before it is given; when that fails, or a witness asks from a size no longer kept (it was
 * down for long), the index gives the proof.
 */
export class WitnessProofs {
  private readonly worker: Worker;
  private readonly following = new Set<string>();
  private readonly waiting = new Map<number, (r: FromProofs) => void>();
  private readonly proofs = new Map<string, { key: string; proof: Promise<readonly string[]> }>();
  private nextId = 1;
  private closed = false;

  constructor(
    private readonly layout: LogLayout,
    private readonly index: IndexAccess,
  ) {
    this.worker = new Worker(new URL('./witness-proofs-worker.js', import.meta.url));
    this.worker.unref();
    this.worker.on('message', (r: FromProofs) => {
      const done = this.waiting.get(r.id);
      this.waiting.delete(r.id);
      done?.(r);
    });
    // A dead thread means every proof comes from the index: slower, never wrong.
    this.worker.on('error', () => this.failAll());
    this.worker.on('exit', () => this.failAll());
  }

  /** A checkpoint of the channel is about to be sent: start following it, if not yet. */
  observe(channel: string): void {
    if (this.following.has(channel) || this.closed) return;
    const s = loadState(this.layout, channel);
    if (s === undefined) return;
    this.following.add(channel);
    this.post({
      t: 'follow',
      channel,
      file: this.layout.channelFile(channel),
      size: s.size,
      offset: s.offset,
      peaks: s.peaks,
    });
  }

  /** The proof from `from` to `to`; `rootAtTo` is the signed root it must lead to. */
  consistency(
    channel: string,
    from: number,
    to: number,
    rootAtTo: string | undefined,
  ): Promise<readonly string[]> {
    if (from === 0 || from === to) return Promise.resolve([]); // nothing to prove
    // Witnesses at the same size ask the same, at about the same time: computed once.
    const key = `${from}:${to}:${rootAtTo ?? ''}`;
    const known = this.proofs.get(channel);
    if (known?.key === key) return known.proof;
    const proof = this.compute(channel, from, to, rootAtTo);
    this.proofs.set(channel, { key, proof });
    proof.catch(() => this.proofs.delete(channel));
    return proof;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.failAll();
    await this.worker.terminate();
  }

  private async compute(
    channel: string,
    from: number,
    to: number,
    rootAtTo: string | undefined,
  ): Promise<readonly string[]> {
    if (rootAtTo !== undefined && this.following.has(channel) && !this.closed) {
      const id = this.nextId++;
      const r = await new Promise<FromProofs>((resolve) => {
        this.waiting.set(id, resolve);
        this.post({ t: 'proof', id, channel, from, to, root: rootAtTo });
      });
      if (r.dropped === true) this.following.delete(channel); // followed again next round
      if (r.proof !== undefined) return r.proof;
    }
    await this.index.caughtUp();
    return consistencyProofFromIndex(this.index.db, channel, from, to).hashes;
  }

  private post(m: ToProofs): void {
    try {
      this.worker.postMessage(m);
    } catch {
      this.failAll();
    }
  }

  private failAll(): void {
    this.following.clear();
    for (const [id, done] of this.waiting) {
      this.waiting.delete(id);
      done({ id });
    }
  }
}
