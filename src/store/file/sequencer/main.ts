/** Entry point of the sequencer thread. */
import { parentPort, workerData } from 'node:worker_threads';
import { rebuildIdempotency } from '../idempotency-scan.js';
import { SequencerHost } from './host.js';
import { wire, type FromHost, type SequencerInit, type ToHost } from './protocol.js';

const port = parentPort;
if (port === null) throw new Error('the sequencer runs in a worker thread');
const send = (msg: FromHost): void => port.postMessage(msg);
const init = workerData as SequencerInit;
// Before anything is written: the keys of the records stored within the window.
const keys = await rebuildIdempotency(
  {
    dir: init.dir,
    logId: init.logId,
    segments: init.segments,
    channels: init.channels.map((c) => c.channel),
    windowMs: init.idempotency.windowMs,
    maxKeys: init.idempotency.maxKeys,
    channelKeys: init.channelKeys,
    now: Date.now(),
  },
  (err) => send({ t: 'error', error: wire(err) }),
);
const host = new SequencerHost(init, send, keys);
port.on('message', (msg: ToHost) => host.handle(msg));
send({ t: 'ready' });
