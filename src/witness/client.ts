import { LogsError } from '../errors.js';
import type { Checkpoint } from '../integrity/checkpoint.js';
import { checkpointNote, checkpointNoteText } from '../integrity/checkpoint-note.js';
import type { Cosignature } from '../store/file/index.js';
import { WitnessReporter, type UnreachableReason } from './client-events.js';
import {
  backOff,
  isProof,
  laneOf,
  loadLanes,
  peerOf,
  pickCosignature,
  type Backoff,
  type Lane,
  type Peer,
} from './client-peer.js';
import { QuorumTracker } from './client-quorum.js';
import { addCheckpointBody, postAddCheckpoint, type WitnessFetch } from './client-request.js';
import type { WitnessChannelStatus, WitnessClientDeps } from './client-types.js';

export type { CosignatureStore, WitnessChannelStatus, WitnessClientDeps } from './client-types.js';

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_MAX_BACKOFF_MS = 300_000;

/**
 * Sends the log's newest checkpoints to its witnesses (c2sp.org/tlog-witness), off the write
 * path, keeps the cosignatures they return, and reports what only a witness can see: a log
 * rolled back or forked behind its back. Never throws into its caller once constructed.
 */
export class WitnessClient {
  private readonly deps: WitnessClientDeps;
  private readonly peers: Peer[];
  private readonly fetchFn: WitnessFetch;
  private readonly clock: () => number;
  private readonly random: () => number;
  private readonly timeoutMs: number;
  private readonly maxBackoffMs: number;
  private readonly report: WitnessReporter;
  private readonly quorum: QuorumTracker;
  private loaded = false;
  private started = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private queued: Promise<void> | undefined;

  /** Throws CONFIG_INVALID for a witness URL or key that is not one (checked once, here). */
  constructor(deps: WitnessClientDeps) {
    this.deps = deps;
    this.fetchFn = deps.fetch ?? ((url, init) => fetch(url, init));
    this.clock = deps.clock ?? Date.now;
    this.random = deps.random ?? Math.random;
    this.timeoutMs = deps.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxBackoffMs = deps.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
    this.report = new WitnessReporter(deps.onEvent, this.clock);
    this.quorum = new QuorumTracker(Math.max(1, deps.quorum));
    this.peers = deps.witnesses.map((w) => peerOf(w.url, w.key));
    const names = new Set(this.peers.map((p) => p.witness));
    if (names.size !== this.peers.length)
      throw new LogsError('CONFIG_INVALID', 'two witnesses have the same key name');
  }

  /** Run a round now, then one every intervalMs (the timer does not keep the process alive). */
  start(): void {
    if (this.started || this.closed || this.peers.length === 0) return;
    this.started = true;
    this.schedule(0);
  }

  /** Stop the timer and wait for the round under way. */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    await (this.queued ?? this.running);
  }

  /** One round (after the one under way, if any); resolves when it is done, never rejects. */
  syncNow(): Promise<void> {
    if (this.closed) return this.queued ?? this.running ?? Promise.resolve();
    if (this.queued !== undefined) return this.queued;
    if (this.running === undefined) return this.startRound();
    this.queued = this.running.then(() => {
      this.queued = undefined;
      return this.closed ? undefined : this.startRound();
    });
    return this.queued;
  }

  /** Per channel with a signed note: its size, the newest tree at quorum, each witness's size. */
  status(): WitnessChannelStatus[] {
    this.load();
    return this.newest().map((cp) => {
      const origin = cp.origin as string;
      return {
        channel: cp.channel,
        origin,
        size: cp.size,
        witnessed: this.quorum.newest(origin) ?? { size: 0, root: '' },
        witnesses: this.peers.map((p) => ({
          name: p.witness,
          url: p.url,
          size: p.lanes.get(origin)?.held ?? 0,
          reachable: !p.unreachable,
          ...(p.error === undefined ? {} : { error: p.error }),
        })),
      };
    });
  }

  private schedule(delay: number): void {
    if (this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.syncNow().then(() => this.schedule(this.deps.intervalMs));
    }, delay);
    this.timer.unref();
  }

  private startRound(): Promise<void> {
    const round = this.round()
      .catch(() => undefined) // a bug must not reach the caller: the next round tries again
      .finally(() => {
        if (this.running === round) this.running = undefined;
      });
    this.running = round;
    return round;
  }

  private async round(): Promise<void> {
    this.load();
    const cps = this.newest();
    if (cps.length === 0) return;
    await Promise.all(this.peers.map((p) => this.sendTo(p, cps)));
  }

  /** The newest checkpoint of each channel that has a signed note and records. */
  private newest(): Checkpoint[] {
    let all: readonly Checkpoint[];
    try {
      all = this.deps.latest();
    } catch {
      return [];
    }
    const by = new Map<string, Checkpoint>();
    for (const cp of all) {
      if (cp.origin === undefined || cp.note_sig === undefined || cp.size === 0) continue;
      const seen = by.get(cp.channel);
      if (seen === undefined || cp.size >= seen.size) by.set(cp.channel, cp);
    }
    return [...by.values()];
  }

  /** What the store says each witness accepted; once, on first use. */
  private load(): void {
    if (this.loaded) return;
    this.loaded = true;
    let kept: readonly Cosignature[] = [];
    try {
      kept = this.deps.store.read();
    } catch {
      // Unknown sizes start at 0: the witnesses' 409 answers tell the real ones.
    }
    loadLanes(this.peers, kept, this.quorum);
  }

  /** One witness: its channels one after the other (one request at a time per origin). */
  private async sendTo(p: Peer, cps: readonly Checkpoint[]): Promise<void> {
    if (p.retryAt > this.clock()) return;
    for (const cp of cps) {
      if (this.closed) return;
      if ((await this.sendLane(p, cp)) === 'down') return;
    }
  }

  private async sendLane(p: Peer, cp: Checkpoint): Promise<'done' | 'down'> {
    const origin = cp.origin as string;
    const lane = laneOf(p, origin);
    if (lane.size > cp.size) {
      await this.reportRollback(p, cp, lane.size);
      return 'done';
    }
    if ((lane.confirmed && lane.size === cp.size) || lane.retryAt > this.clock()) return 'done';
    const note = checkpointNote(cp) as string;
    // A 409 names the witness's size: send again from it, at most twice per round.
    for (let attempt = 0; attempt < 3; attempt++) {
      const old = lane.size;
      let proof: readonly string[] = [];
      try {
        if (old !== 0 && old !== cp.size)
          proof = await this.deps.consistency(cp.channel, old, cp.size);
        if (!isProof(proof)) throw new LogsError('INTERNAL', 'a consistency proof that is not one');
      } catch {
        // The index is behind (or cannot prove): next round. Not the witness's fault.
        p.error = `no consistency proof of ${cp.channel} from ${old} to ${cp.size} yet`;
        return 'done';
      }
      const answer = await postAddCheckpoint(
        this.fetchFn,
        p.endpoint,
        addCheckpointBody(old, proof, note),
        this.timeoutMs,
      );
      if (answer.kind === 'down') {
        await this.markDown(p, answer.why);
        return 'down';
      }
      await this.markUp(p);
      switch (answer.kind) {
        case 'cosigned':
          await this.accept(p, lane, cp, answer.body);
          return 'done';
        case 'size':
          if (answer.size > cp.size) {
            lane.size = answer.size;
            lane.root = undefined;
            lane.confirmed = false;
            await this.reportRollback(p, cp, answer.size);
            return 'done';
          }
          if (answer.size === old) {
            await this.laneFailed(p, lane, 'bad_answer', 'HTTP 409 with the size it was sent');
            return 'done';
          }
          lane.size = answer.size;
          lane.root = undefined;
          lane.confirmed = false;
          continue;
        case 'inconsistent':
          this.backoff(lane);
          p.error = answer.why;
          await this.report.fork(p, cp.channel, origin, cp.size, old, answer.why);
          return 'done';
        case 'misconfigured':
          await this.laneFailed(p, lane, 'misconfigured', answer.why, origin);
          return 'done';
        case 'refused':
          await this.laneFailed(p, lane, 'refused', answer.why);
          return 'done';
        case 'malformed':
          await this.laneFailed(p, lane, 'bad_answer', answer.why);
          return 'done';
      }
    }
    return 'done';
  }

  /** A 200: keep the first cosignature line that verifies with the witness's key. */
  private async accept(p: Peer, lane: Lane, cp: Checkpoint, body: string): Promise<void> {
    const origin = cp.origin as string;
    const text = checkpointNoteText(origin, cp.size, cp.root);
    const line = pickCosignature(p.verifier, text, body);
    if (line === undefined) {
      await this.laneFailed(p, lane, 'bad_answer', 'no valid cosignature from its key');
      return;
    }
    // A new process confirms what the store already holds: no second copy of it.
    const held = lane.held === cp.size && lane.root === cp.root;
    // The witness accepted this size whatever happens to the store.
    lane.size = cp.size;
    lane.root = cp.root;
    lane.failures = 0;
    lane.retryAt = 0;
    p.error = undefined;
    const c: Cosignature = {
      channel: cp.channel,
      origin,
      size: cp.size,
      root: cp.root,
      witness: p.witness,
      line,
      ts: new Date(this.clock()).toISOString(),
    };
    try {
      if (!held) this.deps.store.append([c]);
    } catch {
      p.error = 'the cosignature could not be stored';
      return; // not confirmed: sent again next round
    }
    lane.confirmed = true;
    lane.held = Math.max(lane.held, cp.size);
    this.quorum.add(origin, { size: cp.size, root: cp.root }, p.witness);
  }

  private async reportRollback(p: Peer, cp: Checkpoint, witnessed: number): Promise<void> {
    const origin = cp.origin as string;
    p.error = `cosigned size ${witnessed}, the log is at ${cp.size}`;
    await this.report.rollback(p, cp.channel, origin, witnessed, cp.size);
  }

  private async laneFailed(
    p: Peer,
    lane: Lane,
    reason: UnreachableReason,
    why: string,
    origin?: string,
  ): Promise<void> {
    lane.confirmed = false;
    this.backoff(lane);
    p.error = why;
    await this.report.warn(p, reason, why, origin);
  }

  private async markDown(p: Peer, why: string): Promise<void> {
    this.backoff(p);
    p.error = why;
    if (p.unreachable) return;
    p.unreachable = true;
    await this.report.down(p, why);
  }

  private async markUp(p: Peer): Promise<void> {
    p.failures = 0;
    p.retryAt = 0;
    if (!p.unreachable) return;
    p.unreachable = false;
    p.error = undefined;
    await this.report.up(p);
  }

  private backoff(b: Backoff): void {
    backOff(b, this.clock(), this.deps.intervalMs, this.maxBackoffMs, this.random);
  }
}
