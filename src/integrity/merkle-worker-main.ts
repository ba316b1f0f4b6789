/** The Merkle worker thread: folds batches of leaves into tree states, off the write path. */
import { parentPort } from 'node:worker_threads';
import { fold, type FoldReply, type FoldRequest } from './merkle-fold.js';

parentPort?.on('message', (req: FoldRequest) => {
  const reply: FoldReply = { id: req.id, state: fold(req.base, req.leaves) };
  parentPort?.postMessage(reply);
});
