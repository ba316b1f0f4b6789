/**
 * The file backend under the store conformance suite: each fixture is a fresh logs directory
 * under a temporary root; tampering edits the channel's active file, as someone with a shell on
 * the machine but no key could. Also the module `crash-child.js` imports to open the same
 * directory in another process (`openChildStore`).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveConfig } from '../../src/config/resolve.js';
import type { LogsError } from '../../src/errors.js';
import { initLogs } from '../../src/log/init.js';
import { LogLayout, openFileStore } from '../../src/store/file/index.js';
import type { Store } from '../../src/store/store.js';
import { tempDir } from '../helpers.js';
import type { OpenSettings, StoreBackend, StoreFixture, Tamper } from './backend.js';

function openDir(
  dir: string,
  masterKey: Buffer,
  onError: (err: LogsError) => void,
  settings: OpenSettings = {},
): Promise<Store> {
  return openFileStore({
    config: { ...resolveConfig(settings, dir), dir },
    masterKey,
    onError,
    owner: `pid ${process.pid}: store conformance`,
  });
}

/** For crash-child.js: open the directory named by `spec` (JSON `{ dir }`). */
export function openChildStore(spec: string, masterKey: Buffer): Promise<Store> {
  const { dir } = JSON.parse(spec) as { dir: string };
  return openDir(dir, masterKey, (err) => process.stderr.write(`error ${err.code}\n`));
}

/** Change the active file of a channel in place; the writer's descriptor appends at its end. */
function tamperFile(dir: string, { kind, channel, seq }: Tamper): void {
  const file = new LogLayout(dir).channelFile(channel);
  const lines = readFileSync(file, 'utf8').split('\n'); // the last element: after the last newline
  const at = lines.findIndex((l) => l !== '' && (JSON.parse(l) as { seq: number }).seq === seq);
  const line = lines[at];
  if (line === undefined) throw new Error(`${channel}: seq ${seq} is not in the active file`);
  switch (kind) {
    case 'edit': {
      // One character of the message, the same length: the line is still JSON, still a record.
      const i = line.indexOf('"msg":"') + '"msg":"'.length;
      lines[at] = `${line.slice(0, i)}${line[i] === 'x' ? 'y' : 'x'}${line.slice(i + 1)}`;
      break;
    }
    case 'delete':
      lines.splice(at, 1);
      break;
    case 'truncate':
      lines.splice(at, lines.length - 1 - at);
      break;
  }
  writeFileSync(file, lines.join('\n'));
}

export const fileBackend: StoreBackend = {
  create(): Promise<StoreFixture> {
    const dir = path.join(tempDir('dihya-store-'), 'logs');
    const masterKey = randomBytes(32);
    initLogs({ dir, masterKey });
    const errors: LogsError[] = [];
    const opened: Store[] = [];
    return Promise.resolve({
      masterKey,
      errors,
      async open(settings) {
        const store = await openDir(dir, masterKey, (err) => errors.push(err), settings);
        opened.push(store);
        return store;
      },
      child: {
        module: fileURLToPath(import.meta.url),
        spec: JSON.stringify({ dir }),
        env: {},
      },
      tamper: (t) => Promise.resolve(tamperFile(dir, t)),
      dispose() {
        // Close what a failed test left open (a second close does nothing); the directory goes
        // when the process exits (tempDir).
        for (const s of opened) s.closeSync();
        return Promise.resolve();
      },
    });
  },
};
