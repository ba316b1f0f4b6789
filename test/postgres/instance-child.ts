/**
 * One writer instance on a PostgreSQL store, in its own process. Usage:
 *   node instance-child.js SPEC NAME PRODUCERS COUNT [RETRY_FILE]
 * SPEC is JSON `{ url, schema, dir }`; the master key comes from DIHYA_LOGS_MASTER_KEY. It opens
 * the logs (the library, as an application would), first sends again every id listed in
 * RETRY_FILE (one per line: ids a killed instance sent without seeing the answer, or with), then
 * runs PRODUCERS concurrent producers writing COUNT durable audit events each (COUNT 0: until
 * killed). Every event carries its id as idempotency key. Prints `send <id>` before a write and
 * `ack <id> <seq> <hash>` once it is acknowledged, then `done` (and closes) when finished.
 */
import { readFileSync } from 'node:fs';
import { openLogs } from '../../src/log/open.js';

const [specText, name, producersText, countText, retryFile] = process.argv.slice(2);
const spec = JSON.parse(specText ?? '{}') as { url: string; schema: string; dir: string };
const out = (line: string): void => {
  process.stdout.write(`${line}\n`); // synchronous for pipes on Linux: printed means sent
};

const logs = await openLogs({
  dir: spec.dir,
  settings: { store: { kind: 'postgres', url: spec.url, schema: spec.schema, pool_size: 6 } },
  handleExit: false,
});
out('ready');

async function write(id: string): Promise<void> {
  out(`send ${id}`);
  const ack = await logs.audit({
    event: 'test.instance',
    msg: `event ${id}`,
    outcome: 'success',
    idempotency_key: id,
    data: { id },
  });
  out(`ack ${id} ${ack.seq} ${ack.hash}`);
}

const retries =
  retryFile === undefined ? [] : readFileSync(retryFile, 'utf8').split('\n').filter(Boolean);
for (const id of retries) await write(id);
const producers = Number(producersText);
const count = Number(countText);
await Promise.all(
  Array.from({ length: producers }, async (_, p) => {
    for (let i = 0; count === 0 || i < count; i++) await write(`${name}-${p}-${i}`);
  }),
);
await logs.close();
out('done');
