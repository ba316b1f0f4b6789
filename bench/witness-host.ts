/**
 * Witnesses for the `10 witness` bench, in a process of their own, as a deployment has them on
 * another machine: their fsyncs and signatures never stall the service's event loop. Usage:
 *
 *   node build/bench/witness-host.js <state dir> <count> '<JSON [{ origin, keys: [vkey] }]>'
 *
 * Prints one JSON line `[{ url, key }]` (the witnesses' URLs and verifier keys) once listening;
 * ends when its stdin closes (the parent is gone) or on SIGTERM.
 */
import { generateKeyPairSync } from 'node:crypto';
import path from 'node:path';
import { cosigner } from '../src/integrity/note/index.js';
import {
  resolveWitnessConfig,
  serveWitness,
  witnessVerifierKey,
  type ServedWitness,
} from '../src/witness/index.js';

async function main(): Promise<void> {
  const [dir, countText, logsJson] = process.argv.slice(2);
  if (dir === undefined || countText === undefined || logsJson === undefined)
    throw new Error('usage: witness-host.js <state dir> <count> <logs JSON>');
  const logs = JSON.parse(logsJson) as Array<{ origin: string; keys: string[] }>;
  const served: ServedWitness[] = [];
  const out: Array<{ url: string; key: string }> = [];
  for (let i = 0; i < Number(countText); i++) {
    const name = `bench-witness-${i}.example`;
    const signer = cosigner(name, generateKeyPairSync('ed25519').privateKey);
    const config = resolveWitnessConfig(
      { name, key_file: '/nonexistent/witness.key', state_dir: path.join(dir, `w${i}`), logs },
      '/',
    );
    const w = await serveWitness(config, { key: signer }, { host: '127.0.0.1', port: 0 });
    served.push(w);
    out.push({ url: w.url, key: witnessVerifierKey(signer) });
  }
  const stop = (): void => {
    void Promise.all(served.map((w) => w.close())).then(() => process.exit(0));
  };
  process.once('SIGTERM', stop);
  process.stdin.on('end', stop).resume();
  process.stdout.write(`${JSON.stringify(out)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`witness host: ${String(err)}\n`);
  process.exit(1);
});
