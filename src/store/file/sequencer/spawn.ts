/** Starting the sequencer thread: spawn it and wait until it has opened every channel. */
import { Worker } from 'node:worker_threads';
import { LogsError } from '../../../errors.js';
import { unwire, type FromHost, type LifecycleNote, type SequencerInit } from './protocol.js';

/**
 * Spawn the sequencer thread (main.ts) with `init`; resolves with it once it says it is ready,
 * with the notes it sent while starting (what open found to finish: seals). Errors it reports
 * meanwhile go to `onError` (not fatal); if it fails to start, it is terminated and the promise
 * rejects.
 */
export function spawnSequencer(
  init: SequencerInit,
  onError: (err: LogsError) => void,
): Promise<{ worker: Worker; notes: LifecycleNote[] }> {
  const worker = new Worker(new URL('./main.js', import.meta.url), { workerData: init });
  const notes: LifecycleNote[] = [];
  return new Promise((resolve, reject) => {
    const onMessage = (msg: FromHost): void => {
      if (msg.t === 'ready') done(undefined);
      else if (msg.t === 'error')
        onError(unwire(msg.error)); // reported, not fatal
      else if (msg.t === 'note') notes.push(msg.note);
    };
    const done = (err: LogsError | undefined): void => {
      worker.off('message', onMessage);
      worker.off('error', onFail);
      if (err === undefined) resolve({ worker, notes });
      else {
        void worker.terminate();
        reject(err);
      }
    };
    const onFail = (err: Error): void =>
      done(
        new LogsError('CHANNEL_FAILED', `the sequencer thread did not start: ${err.message}`, {
          cause: err,
        }),
      );
    worker.on('message', onMessage);
    worker.on('error', onFail);
  });
}
