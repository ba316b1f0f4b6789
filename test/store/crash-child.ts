/**
 * The store conformance suite's crash child. Usage:
 *   node crash-child.js MODULE SPEC [keyed]
 * opens the store with MODULE's `openChildStore(SPEC, masterKey)` (the master key comes from
 * DIHYA_LOGS_MASTER_KEY), prints "ready", then appends durable `audit` records from several
 * producers at full speed (each followed by a fire-and-forget `app` record) until killed,
 * printing "ack <seq> <hash> <id>" once each is acknowledged. With `keyed`, each audit record's
 * idempotency key is its id, and "send <id>" is printed before it is appended.
 */
import { pathToFileURL } from 'node:url';
import type { Store } from '../../src/store/store.js';
import { APP, AUDIT, channelIndex, now, testRecord } from './records.js';

const PRODUCERS = 8;

const [module, spec, keyed] = process.argv.slice(2);
const masterKey = Buffer.from(process.env.DIHYA_LOGS_MASTER_KEY ?? '', 'base64');
const out = (line: string): void => {
  process.stdout.write(`${line}\n`); // synchronous for pipes on Linux: printed means sent
};

const backend = (await import(pathToFileURL(module ?? '').href)) as {
  openChildStore: (spec: string, masterKey: Buffer) => Promise<Store>;
};
const store = await backend.openChildStore(spec ?? '', masterKey);
const audit = channelIndex(store, AUDIT);
const app = channelIndex(store, APP);
out('ready');
let n = 0;
const producer = async (p: number): Promise<void> => {
  for (;;) {
    const id = `${process.pid}-${p}-${n++}`;
    if (keyed === 'keyed') out(`send ${id}`);
    const record = testRecord(AUDIT, id, keyed === 'keyed' ? id : undefined);
    const ack = await store.append(audit, record, now(), 0, 'd');
    if (ack === undefined) throw new Error('a durable append answered nothing');
    out(`ack ${ack.seq} ${ack.hash} ${id}`);
    void store.append(app, testRecord(APP, id), now(), 0, 'f');
  }
};
await Promise.all(Array.from({ length: PRODUCERS }, (_, p) => producer(p)));
