/**
 * An application on the PostgreSQL store that logs and exits at once. Usage:
 *   node exit-child.js SPEC COUNT
 * Opens the logs (exit handling on, as by default), sends COUNT fire-and-forget `app` events
 * carrying an e-mail (a new person each: their keys must be stored with the records) and
 * one durable audit event, then calls process.exit(0) in the same turn as the last sends.
 */
import { openLogs } from '../../src/log/open.js';

const [specText, countText] = process.argv.slice(2);
const spec = JSON.parse(specText ?? '{}') as { url: string; schema: string; dir: string };
const logs = await openLogs({
  dir: spec.dir,
  settings: { store: { kind: 'postgres', url: spec.url, schema: spec.schema } },
});
await logs.audit({ event: 'test.start', msg: 'started' });
for (let i = 0; i < Number(countText); i++)
  logs.app.info({ event: 'test.exit', data: { i } }, `last words ${i} from user${i}@example.org`);
process.exit(0);
