/** Entry point of the sequencer thread. */
import { parentPort, workerData } from 'node:worker_threads';
import { SequencerHost } from './host.js';
import type { FromHost, SequencerInit, ToHost } from './protocol.js';

const port = parentPort;
if (port === null) throw new Error('the sequencer runs in a worker thread');
const send = (msg: FromHost): void => port.postMessage(msg);
const host = new SequencerHost(workerData as SequencerInit, send);
port.on('message', (msg: ToHost) => host.handle(msg));
send({ t: 'ready' });
