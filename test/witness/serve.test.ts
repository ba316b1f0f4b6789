import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { cpSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parsePublicKey } from '../../src/crypto/sign.js';
import { channelOrigin, logVerifierKey } from '../../src/integrity/checkpoint-note.js';
import { cosigner } from '../../src/integrity/note/index.js';
import type { LogCore } from '../../src/log/core.js';
import { startService, type RunningService } from '../../src/service/serve.js';
import { LogLayout } from '../../src/store/file/layout.js';
import type { VerifyReport } from '../../src/store/verify-report.js';
import { verifyLogs } from '../../src/store/file/verify.js';
import {
  resolveWitnessConfig,
  serveWitness,
  witnessedForVerify,
  witnessVerifierKey,
  type ServedWitness,
} from '../../src/witness/index.js';
import { newLog, openedRecords, readLines, tempDir, type TestLog } from '../helpers.js';

/**
 * Two installations on loopback, each running a service and a witness of the other's log:
 * the witness of B cosigns A's checkpoints and the witness of A cosigns B's. One goes down,
 * the other keeps writing and keeps asking; when it comes back they converge. A rolled-back
 * copy of A is caught by verify (which asks the witness) and by the service when it restarts.
 */

const CHANNELS = ['app', 'audit', 'security', 'scheduler', 'api'];

interface Site {
  readonly name: string;
  readonly t: TestLog;
  readonly witnessName: string;
  readonly witnessKey: ReturnType<typeof cosigner>;
  readonly stateDir: string;
  witness?: ServedWitness;
  witnessPort?: number;
  service?: RunningService;
  logs?: LogCore;
}

function site(name: string): Site {
  const witnessName = `witness.${name}.example`;
  return {
    name,
    t: newLog(),
    witnessName,
    witnessKey: cosigner(witnessName, generateKeyPairSync('ed25519').privateKey),
    stateDir: path.join(tempDir(), 'witness-state'),
  };
}

/** The origins of a log and its verifier key for each: what a witness of it is told. */
function logsOf(s: Site): Array<{ origin: string; keys: string[] }> {
  const key = parsePublicKey(s.t.publicKey);
  return CHANNELS.map((c) => {
    const origin = channelOrigin(undefined, s.t.logId, c);
    return { origin, keys: [logVerifierKey(origin, key)] };
  });
}

/** Start (or restart, on the same port and state) the witness of `s`, watching `of`'s log. */
async function startWitness(s: Site, of: Site): Promise<void> {
  const config = resolveWitnessConfig(
    {
      name: s.witnessName,
      key_file: '/nonexistent/witness.key',
      state_dir: s.stateDir,
      logs: logsOf(of),
    },
    '/',
  );
  s.witness = await serveWitness(
    config,
    { key: s.witnessKey },
    { host: '127.0.0.1', port: s.witnessPort ?? 0 },
  );
  s.witnessPort = Number(new URL(s.witness.url).port);
}

function witnessSettings(by: Site): {
  integrity: { witnesses: Array<{ url: string; key: string }>; witness_interval_ms: number };
} {
  return {
    integrity: {
      witnesses: [
        { url: `http://127.0.0.1:${by.witnessPort}`, key: witnessVerifierKey(by.witnessKey) },
      ],
      witness_interval_ms: 1000,
    },
  };
}

async function startSite(s: Site, witnessedBy: Site): Promise<void> {
  const settings = { ...witnessSettings(witnessedBy), service: { port: 0 } };
  s.logs = await s.t.open({ settings });
  s.service = await startService({
    logs: s.logs,
    masterKey: s.t.masterKey,
    config: s.logs.config,
    host: '127.0.0.1',
    port: 0,
    detect: false,
    scheduler: false,
    say: () => undefined,
  });
}

async function stopSite(s: Site): Promise<void> {
  await s.service?.stop();
  await s.logs?.close();
  s.service = undefined;
  s.logs = undefined;
}

/** Poll until the witness client says the audit channel is cosigned at the log's size. */
async function converged(s: Site, label: string): Promise<number> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    await s.logs!.flush();
    await s.service!.witnessing!.syncNow();
    const st = s.service!.witnessing!.status().find((c) => c.channel === 'audit');
    if (st !== undefined && st.size > 0 && st.witnessed.size === st.size) return st.size;
    if (Date.now() > deadline) assert.fail(`${label}: not converged: ${JSON.stringify(st)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** verify of `s`'s log, as the CLI runs it with `by`'s witness configured. */
async function verifyWithWitness(s: Site, by: Site): Promise<VerifyReport> {
  const witnessed = await witnessedForVerify({
    layout: new LogLayout(s.t.dir),
    publicKey: s.t.publicKey,
    logName: undefined,
    witnesses: witnessSettings(by).integrity.witnesses,
    online: true,
  });
  return verifyLogs({ dir: s.t.dir, publicKey: s.t.publicKey, ...witnessed });
}

async function write(s: Site, n: number, tag: string): Promise<void> {
  for (let i = 0; i < n; i++) await s.logs!.audit({ event: 'witness.test', msg: `${tag} ${i}` });
}

test('two installations witness each other: one goes down, the other keeps writing, they converge; a rollback is caught', async () => {
  const a = site('a');
  const b = site('b');
  try {
    await startWitness(a, b); // A's witness watches B
    await startWitness(b, a); // B's witness watches A
    await startSite(a, b);
    await startSite(b, a);
    await write(a, 20, 'first');
    await write(b, 20, 'first');
    const first = await converged(a, 'a');
    await converged(b, 'b');

    // B's whole installation goes down (its service and its witness).
    await stopSite(b);
    await b.witness!.close();
    await write(a, 30, 'while b is down'); // A's writes never wait for a witness
    await a.logs!.flush();
    await a.service!.witnessing!.syncNow();
    const down = a.service!.witnessing!.status().find((c) => c.channel === 'audit')!;
    assert.ok(down.size > first, 'A kept signing');
    assert.equal(down.witnessed.size, first, 'nothing newer is witnessed while B is down');

    // B returns: its witness on the same port and state, its service on its log.
    await startWitness(b, a);
    await startSite(b, a);
    const after = await converged(a, 'a after b returned');
    assert.ok(after >= down.size);

    // A copy of A is taken now; A writes more and gets it witnessed; then the copy is restored.
    await stopSite(a);
    const copy = path.join(tempDir(), 'copy');
    cpSync(a.t.dir, copy, { recursive: true });
    await startSite(a, b);
    await write(a, 25, 'later');
    const witnessedSize = await converged(a, 'a before the rollback');
    await stopSite(a);
    rmSync(a.t.dir, { recursive: true });
    cpSync(copy, a.t.dir, { recursive: true });

    // verify asks the witness: the audit channel is shorter than what it cosigned.
    const r = await verifyWithWitness(a, b);
    assert.equal(r.ok, false);
    const d = r.damage.find((x) => x.kind === 'rollback' && x.channel === 'audit');
    assert.ok(d, JSON.stringify(r.damage));
    assert.match(d.detail, new RegExp(`cosigned a tree of ${witnessedSize} records`));
    // Without the witness, the copy is self-consistent: nothing local can tell.
    assert.ok((await verifyLogs({ dir: a.t.dir, publicKey: a.t.publicKey })).ok);

    // The restarted service hears it from the witness: a CRITICAL rollback event.
    await startSite(a, b);
    await a.logs!.flush();
    await a.service!.witnessing!.syncNow();
    await a.logs!.flush();
    const security = openedRecords(a.t, 'security.log');
    const rollback = security.find((e) => e.event === 'log.integrity.rollback');
    assert.ok(rollback, JSON.stringify(security.map((e) => e.event)));
    assert.equal(rollback.level, 'CRITICAL');
  } finally {
    for (const s of [a, b]) {
      await stopSite(s).catch(() => undefined);
      await s.witness?.close().catch(() => undefined);
    }
  }
});

test('every channel and the checkpoint log cut back consistently to an earlier checkpoint: local checks pass, the witness says rollback', async () => {
  const a = site('a');
  const b = site('b');
  try {
    await startWitness(b, a);
    await startSite(a, b);
    await write(a, 20, 'kept');
    const kept = await converged(a, 'first');
    await write(a, 20, 'cut away');
    const witnessedSize = await converged(a, 'second');
    await stopSite(a);

    // The attacker keeps the checkpoint log up to audit's checkpoint at `kept`, every channel up
    // to its last checkpoint in that prefix, the cosignatures of those, and no state files.
    const layout = new LogLayout(a.t.dir);
    const lines = readLines(layout.checkpointsFile);
    const at = lines.findIndex((l) => {
      const cp = JSON.parse(l) as { channel: string; size: number };
      return cp.channel === 'audit' && cp.size === kept;
    });
    assert.ok(at >= 0);
    const prefix = lines.slice(0, at + 1);
    writeFileSync(layout.checkpointsFile, prefix.map((l) => `${l}\n`).join(''));
    const sizes = new Map<string, number>();
    for (const l of prefix) {
      const cp = JSON.parse(l) as { channel: string; size: number };
      sizes.set(cp.channel, cp.size);
    }
    for (const c of CHANNELS) {
      const file = layout.channelFile(c);
      const records = readLines(file).slice(0, sizes.get(c) ?? 0);
      writeFileSync(file, records.map((l) => `${l}\n`).join(''));
    }
    const cosigned = readLines(layout.cosignaturesFile).filter(
      (l) => (JSON.parse(l) as { size: number }).size <= kept,
    );
    writeFileSync(layout.cosignaturesFile, cosigned.map((l) => `${l}\n`).join(''));
    rmSync(layout.stateDir, { recursive: true, force: true });
    rmSync(layout.indexDir, { recursive: true, force: true });

    assert.ok((await verifyLogs({ dir: a.t.dir, publicKey: a.t.publicKey })).ok);
    const r = await verifyWithWitness(a, b);
    const d = r.damage.find((x) => x.kind === 'rollback' && x.channel === 'audit');
    assert.ok(d, JSON.stringify(r.damage));
    assert.equal(d.seq, kept + 1);
    assert.match(
      d.detail,
      new RegExp(`ends at seq ${kept} but witness .* ${witnessedSize} records`),
    );
  } finally {
    await stopSite(a).catch(() => undefined);
    await b.witness?.close().catch(() => undefined);
  }
});
