import { parentPort } from 'node:worker_threads';
import { FileFollower } from '../store/file/follow.js';
import { Tail } from './witness-tail.js';

/**
 * The witness proofs' thread: follows each witnessed channel file and folds the new leaves
 * (one node hash per record) off the service's main thread, which answers HTTP. Messages: see
 * witness-proofs.ts.
 */
export type ToProofs =
  | {
      readonly t: 'follow';
      readonly channel: string;
      readonly file: string;
      readonly size: number;
      readonly offset: number;
      readonly peaks: readonly string[];
    }
  | {
      readonly t: 'proof';
      readonly id: number;
      readonly channel: string;
      readonly from: number;
      readonly to: number;
      readonly root: string;
    }
  | { readonly t: 'drop'; readonly channel: string };

export interface FromProofs {
  readonly id: number;
  /** The proof (hex), or undefined: not possible from what is followed (the index serves). */
  readonly proof?: readonly string[];
  /** The channel's follower met something it cannot use, and was dropped. */
  readonly dropped?: boolean;
}

// How often the channel files are read for new leaves: small steps, never one long stall.
const POLL_MS = 250;
const port = parentPort;
if (port === null) throw new Error('witness-proofs-worker runs as a worker thread');
const tails = new Map<string, Tail>();
setInterval(() => {
  for (const t of tails.values()) t.poll();
}, POLL_MS);

port.on('message', (m: ToProofs) => {
  switch (m.t) {
    case 'follow':
      if (!tails.has(m.channel))
        tails.set(
          m.channel,
          new Tail(new FileFollower(m.file, m.offset, 16 << 20), m.size, m.peaks),
        );
      break;
    case 'drop':
      tails.get(m.channel)?.close();
      tails.delete(m.channel);
      break;
    case 'proof': {
      const tail = tails.get(m.channel);
      let proof: readonly string[] | undefined;
      try {
        proof = tail?.proof(m.from, m.to, m.root);
      } catch {
        proof = undefined;
      }
      const dropped = tail?.broken === true;
      if (dropped) {
        tail.close();
        tails.delete(m.channel);
      }
      const reply: FromProofs = { id: m.id, ...(proof === undefined ? {} : { proof }), dropped };
      port.postMessage(reply);
      break;
    }
  }
});
