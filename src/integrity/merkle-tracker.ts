import { Worker } from 'node:worker_threads';
import { fold, type FoldReply, type FoldRequest } from './merkle-fold.js';
import type { MerkleState } from './merkle.js';

// Below this many pending leaves, folding on the calling thread is cheaper than a message.
const WORKER_THRESHOLD = 2048;

/**
 * A channel's Merkle tree, kept off the write path: the writer only records each leaf (the
 * chain hash it computed anyway); the node hashes, about one per record, are computed in a
 * worker thread when a checkpoint asks for the tree at some size. On two cores this takes a
 * third of the hashing off the thread that sequences records.
 */
export class MerkleTracker {
  // The tree at `base.size`, and the leaves after it, 32 raw bytes each, in order: a compact
  // form (a second of leaves at 150,000 records/s is under 5 MB).
  private base: MerkleState;
  private pending = new LeafBuffer();
  private queue: Promise<unknown> = Promise.resolve();

  constructor(state: MerkleState) {
    this.base = state;
  }

  /** Leaves recorded so far (the tree's size once everything is folded). */
  get size(): number {
    return this.base.size + this.pending.count;
  }

  /** Record the next leaf (64 hex digits). */
  append(leaf: string): void {
    this.pending.push(leaf);
  }

  /** Forget the leaves after `size` (records that were never stored). */
  truncate(size: number): void {
    if (size < this.base.size) {
      throw new RangeError(`cannot go back below folded size ${this.base.size}`);
    }
    this.pending.truncate(size - this.base.size);
  }

  /** The tree state at `size`, folding in a worker thread. Calls are served in order. */
  stateAt(size: number): Promise<MerkleState> {
    const run = this.queue.then(async () => {
      const n = this.take(size);
      if (n === 0) return this.base;
      const base = this.base;
      const leaves = this.pending.copy(n);
      const state = n < WORKER_THRESHOLD ? fold(base, leaves) : await foldInWorker(base, leaves);
      if (this.base === base) {
        // Unless stateAtSync moved on meanwhile (an exit handler), adopt the result.
        this.base = state;
        this.pending.drop(n);
      }
      return state.size === size ? state : this.stateAtSync(size);
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  /** The tree state at `size`, folded on this thread (exit handlers, where nothing async runs). */
  stateAtSync(size: number): MerkleState {
    const n = this.take(size);
    if (n === 0) return this.base;
    this.base = fold(this.base, this.pending.copy(n));
    this.pending.drop(n);
    return this.base;
  }

  /** How many pending leaves reach `size`; checks the request is within what is known. */
  private take(size: number): number {
    if (size < this.base.size || size > this.size) {
      throw new RangeError(
        `the tree is known from size ${this.base.size} to ${this.size}, not at ${size}`,
      );
    }
    return size - this.base.size;
  }
}

// One worker for the process, started on first need and never keeping the process alive
// unless a request is in flight.
let worker: Worker | undefined;
let nextId = 1;
const inFlight = new Map<
  number,
  { resolve: (s: MerkleState) => void; reject: (e: Error) => void }
>();

function getWorker(): Worker {
  if (worker !== undefined) return worker;
  const w = new Worker(new URL('./merkle-worker-main.js', import.meta.url));
  w.unref();
  w.on('message', (reply: FoldReply) => {
    const pending = inFlight.get(reply.id);
    inFlight.delete(reply.id);
    if (inFlight.size === 0) w.unref();
    pending?.resolve(reply.state);
  });
  w.on('error', (err) => failAll(err));
  w.on('exit', () => failAll(new Error('the Merkle worker stopped')));
  worker = w;
  return w;
}

function failAll(err: Error): void {
  worker = undefined;
  const waiting = [...inFlight.values()];
  inFlight.clear();
  for (const p of waiting) p.reject(err);
}

async function foldInWorker(base: MerkleState, leaves: Uint8Array): Promise<MerkleState> {
  try {
    const w = getWorker();
    const id = nextId++;
    const request: FoldRequest = { id, base, leaves };
    const result = new Promise<MerkleState>((resolve, reject) =>
      inFlight.set(id, { resolve, reject }),
    );
    if (inFlight.size === 1) w.ref();
    w.postMessage(request, [leaves.buffer as ArrayBuffer]);
    return await result;
  } catch {
    return fold(base, leaves); // no worker: fold here rather than fail a checkpoint
  }
}

/** A queue of 32-byte leaves in fixed-size chunks: append at the end, drop from the front. */
class LeafBuffer {
  private static readonly CHUNK = 4096; // leaves per chunk (128 KiB)
  private chunks: Buffer[] = [];
  private head = 0; // leaves already dropped from the first chunk
  private tail = 0; // leaves used in the last chunk
  count = 0;

  push(hex: string): void {
    let last = this.chunks[this.chunks.length - 1];
    if (last === undefined || this.tail === LeafBuffer.CHUNK) {
      last = Buffer.allocUnsafe(LeafBuffer.CHUNK * 32);
      this.chunks.push(last);
      this.tail = 0;
    }
    last.write(hex, this.tail * 32, 32, 'hex');
    this.tail += 1;
    this.count += 1;
  }

  /** A fresh copy of the first n leaves (the caller may transfer it to another thread). */
  copy(n: number): Uint8Array {
    const out = new Uint8Array(n * 32);
    let done = 0;
    let skip = this.head;
    for (const chunk of this.chunks) {
      if (done === n) break;
      const take = Math.min(LeafBuffer.CHUNK - skip, n - done);
      out.set(chunk.subarray(skip * 32, (skip + take) * 32), done * 32);
      done += take;
      skip = 0;
    }
    return out;
  }

  drop(n: number): void {
    this.count -= n;
    let left = this.head + n;
    while (left >= LeafBuffer.CHUNK && this.chunks.length > 1) {
      this.chunks.shift();
      left -= LeafBuffer.CHUNK;
    }
    this.head = left;
    if (this.count === 0) {
      this.chunks = [];
      this.head = 0;
      this.tail = 0;
    }
  }

  truncate(n: number): void {
    if (n >= this.count) return;
    // Rare (a failed write): rebuild from a copy.
    const keep = this.copy(n);
    this.chunks = [];
    this.head = 0;
    this.tail = 0;
    this.count = 0;
    const buf = Buffer.from(keep.buffer, keep.byteOffset, keep.byteLength);
    for (let at = 0; at < buf.length; at += 32) this.push(buf.toString('hex', at, at + 32));
  }
}
