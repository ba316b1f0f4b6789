import { test } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Command, CommanderError } from 'commander';
import { reportFailure } from '../../src/cli/context.js';
import { registerProof } from '../../src/cli/proof.js';
import { parsePublicKey } from '../../src/crypto/sign.js';
import { parseCheckpoint, type Checkpoint } from '../../src/integrity/checkpoint.js';
import { checkpointNote, logVerifierKey } from '../../src/integrity/checkpoint-note.js';
import { cosigner, formatVerifierKey, type Cosigner } from '../../src/integrity/note/index.js';
import { parseReceipt, verifyReceipt } from '../../src/integrity/receipt.js';
import { appendCosignatures } from '../../src/store/file/cosignatures.js';
import { LogLayout } from '../../src/store/file/layout.js';
import { buildWitnessApp, resolveWitnessConfig } from '../../src/witness/index.js';
import { memoryIo, newLog, readLines, tempDir, type TestLog } from '../helpers.js';

interface Run {
  readonly code: number;
  readonly out: string;
  readonly err: string;
}

/** Run `dihya-logs <args>` with only the proof commands, in `cwd`, in this process. */
async function run(cwd: string, args: string[]): Promise<Run> {
  const { io, out, err } = memoryIo();
  const program = new Command('dihya-logs')
    .option('--dir <dir>')
    .option('--config <file>')
    .option('--key-file <file>')
    .configureOutput({ writeOut: io.out, writeErr: io.err })
    .exitOverride();
  registerProof(program, io);
  const before = process.cwd();
  process.chdir(cwd);
  process.exitCode = 0;
  try {
    await program.parseAsync(args, { from: 'user' });
    return {
      code: typeof process.exitCode === 'number' ? process.exitCode : 0,
      out: out(),
      err: err(),
    };
  } catch (e) {
    const code = e instanceof CommanderError ? 2 : reportFailure(e, io, false);
    return { code, out: out(), err: err() };
  } finally {
    process.exitCode = 0;
    process.chdir(before);
  }
}

/** `dihya-logs proof --channel app --seq N --with-record` in the setup's directory. */
function proofWithRecord(s: { root: string; config: string }, seq: number): Promise<Run> {
  return run(s.root, [
    '--config',
    s.config,
    'proof',
    '--channel',
    'app',
    '--seq',
    String(seq),
    '--with-record',
  ]);
}

/** The app checkpoints with a note, oldest first. */
function checkpointsOf(t: TestLog): Checkpoint[] {
  return readLines(new LogLayout(t.dir).checkpointsFile)
    .map(parseCheckpoint)
    .filter((cp) => cp.channel === 'app' && cp.origin !== undefined && cp.size > 0);
}

/**
 * Two real witnesses (the tlog-witness app, answering in-process) cosign `cp`; their answers
 * are stored in .integrity/cosignatures.log as a witness client would.
 */
async function witness(t: TestLog, cp: Checkpoint, witnesses: readonly Cosigner[]): Promise<void> {
  const origin = cp.origin as string;
  const layout = new LogLayout(t.dir);
  for (const key of witnesses) {
    const config = resolveWitnessConfig(
      {
        name: key.name,
        key_file: '/nonexistent/witness.key',
        state_dir: path.join(tempDir(), 'state'),
        logs: [{ origin, keys: [logVerifierKey(origin, parsePublicKey(t.publicKey))] }],
      },
      '/',
    );
    const app = await buildWitnessApp(config, { key });
    const res = await app.inject({
      method: 'POST',
      url: '/add-checkpoint',
      payload: `old 0\n\n${checkpointNote(cp) as string}`,
    });
    assert.equal(res.statusCode, 200, res.body);
    await app.close();
    appendCosignatures(layout, [
      {
        channel: cp.channel,
        origin,
        size: cp.size,
        root: cp.root,
        witness: key.name,
        line: res.body.trimEnd(),
        ts: new Date().toISOString(),
      },
    ]);
  }
}

interface Setup {
  readonly t: TestLog;
  readonly root: string;
  readonly config: string;
  readonly witnesses: Cosigner[];
  readonly witnessKeys: string[];
  /** The cosigned checkpoint (5 records) and the newest (9). */
  readonly cosigned: Checkpoint;
  readonly newest: Checkpoint;
}

async function setup(): Promise<Setup> {
  const t = newLog();
  const logs = await t.open();
  for (let i = 0; i < 5; i++) logs.app.info({ event: 'job.run', n: i }, `run ${i}`);
  await logs.flush();
  const cosigned = checkpointsOf(t).at(-1) as Checkpoint;
  assert.equal(cosigned.size, 5);
  for (let i = 5; i < 9; i++) logs.app.info({ event: 'job.run', n: i }, `run ${i}`);
  await logs.close();
  const witnesses = ['witness.example.org/w1', 'witness.example.net/w2'].map((name) =>
    cosigner(name, generateKeyPairSync('ed25519').privateKey),
  );
  await witness(t, cosigned, witnesses);
  const witnessKeys = witnesses.map((w) => formatVerifierKey(w));
  const config = path.join(t.root, 'dihya-logs.json');
  writeFileSync(
    config,
    JSON.stringify({
      dir: t.dir,
      integrity: {
        public_key: t.publicKey,
        witnesses: witnessKeys.map((key, i) => ({ url: `https://w${i}.example/`, key })),
        witness_quorum: 2,
      },
    }),
  );
  return {
    t,
    root: t.root,
    config,
    witnesses,
    witnessKeys,
    cosigned,
    newest: checkpointsOf(t).at(-1) as Checkpoint,
  };
}

test('proof writes a receipt anchored in the checkpoint the quorum cosigned; verify-proof checks it with public keys only', async () => {
  const s = await setup();
  const out = path.join(s.root, 'app-3.tlog-proof');
  const made = await run(s.root, ['proof', '--channel', 'app', '--seq', '3', '--out', out]);
  assert.equal(made.code, 0, made.err);
  assert.equal(made.out, '');
  assert.match(made.err, /app #3 in the tree of 5 records \(2 cosignature\(s\)\) written to/);
  assert.equal(statSync(out).mode & 0o777, 0o600);
  const receipt = readFileSync(out, 'utf8');
  const parsed = parseReceipt(receipt);
  assert.equal(parsed.seq, 3);
  assert.equal(parsed.line, undefined);
  assert.equal(
    verifyReceipt(receipt, { logKey: s.t.publicKey, witnessKeys: s.witnessKeys, quorum: 2 }).ok,
    true,
  );
  // Not replaced.
  const again = await run(s.root, ['proof', '--channel', 'app', '--seq', '3', '--out', out]);
  assert.equal(again.code, 2);
  assert.match(again.err, /USAGE: .* exists/);

  // An auditor's directory: no logs, no configuration; keys on the command line.
  const auditor = tempDir();
  const copy = path.join(auditor, 'receipt.tlog-proof');
  writeFileSync(copy, receipt);
  const keys = s.witnessKeys.flatMap((k) => ['--witness-key', k]);
  const ok = await run(auditor, [
    'verify-proof',
    copy,
    '--public-key',
    s.t.publicKey,
    ...keys,
    '--quorum',
    '2',
  ]);
  assert.equal(ok.code, 0, ok.out + ok.err);
  assert.match(ok.out, /^OK: app #3 is in the tree of 5 records of dihya-logs\/[^/]+\/app\n/);
  assert.match(ok.out, /checkpoint: signed by the log key/);
  assert.match(ok.out, /audit path: 3 hash\(es\) from leaf [0-9a-f]{64} to the signed root/);
  assert.match(ok.out, /record: no line in the receipt; it proves the leaf hash only/);
  assert.match(
    ok.out,
    /witnesses: cosigned by witness\.example\.org\/w1, witness\.example\.net\/w2 \(2 of 2 trusted key\(s\), quorum 2\)/,
  );
  // The log's verifier key works as well as its public key; without witness keys, no quorum.
  const vkey = logVerifierKey(s.cosigned.origin as string, parsePublicKey(s.t.publicKey));
  const byVkey = await run(auditor, ['verify-proof', copy, '--public-key', vkey]);
  assert.equal(byVkey.code, 0, byVkey.out);
  assert.match(byVkey.out, /witnesses: none trusted, cosignatures not checked/);
  // Quorum 3 with two keys can never be met: usage.
  const q3 = await run(auditor, [
    'verify-proof',
    copy,
    '--public-key',
    s.t.publicKey,
    ...keys,
    '--quorum',
    '3',
  ]);
  assert.equal(q3.code, 2);
  // No key at all: usage.
  const noKey = await run(auditor, ['verify-proof', copy]);
  assert.equal(noKey.code, 2);
  assert.match(noKey.err, /USAGE: no log key/);

  // The defaults from the configuration: public key, witnesses and quorum.
  const fromConfig = await run(s.root, ['--config', s.config, 'verify-proof', copy]);
  assert.equal(fromConfig.code, 0, fromConfig.out + fromConfig.err);
  assert.match(fromConfig.out, /quorum 2\)/);
  // A configured log name pins the origin: a receipt of another log name is refused.
  const named = path.join(s.root, 'named.json');
  const raw = JSON.parse(readFileSync(s.config, 'utf8')) as { integrity: object };
  writeFileSync(
    named,
    JSON.stringify({ ...raw, integrity: { ...raw.integrity, log_name: 'example.com/other' } }),
  );
  const pinned = await run(s.root, ['--config', named, 'verify-proof', copy]);
  assert.equal(pinned.code, 1);
  assert.match(pinned.out, /^INVALID: the checkpoint is of another origin than the key\n$/);
});

test('without a cosigned checkpoint, proof takes the newest and warns; --with-record carries the line', async () => {
  const s = await setup();
  // seq 7 is past the cosigned checkpoint (5): only the newest ones hold it.
  const r = await proofWithRecord(s, 7);
  assert.equal(r.code, 0, r.err);
  assert.match(
    r.err,
    /warning: no checkpoint covering app #7 has the quorum of 2 cosignatures yet; this one has 0/,
  );
  const parsed = parseReceipt(r.out);
  assert.equal(parsed.seq, 7);
  const lines = readLines(path.join(s.t.dir, 'app.log'));
  assert.equal(parsed.line, lines[6]);
  const auditor = tempDir();
  const file = path.join(auditor, 'r.tlog-proof');
  writeFileSync(file, r.out);
  const ok = await run(auditor, ['verify-proof', file, '--public-key', s.t.publicKey]);
  assert.equal(ok.code, 0, ok.out);
  assert.match(ok.out, new RegExp(`in the tree of ${s.newest.size} records`));
  assert.match(ok.out, /record: its stored line gives the leaf/);
  // With the witnesses required, it is not enough.
  const keys = s.witnessKeys.flatMap((k) => ['--witness-key', k]);
  const short = await run(auditor, ['verify-proof', file, '--public-key', s.t.publicKey, ...keys]);
  assert.equal(short.code, 1);
  assert.match(
    short.out,
    /^INVALID: cosigned by 0 trusted witness\(es\), fewer than the quorum of 1\n$/,
  );
  // With --with-record for seq 3, the cosigned checkpoint is still the anchor.
  const three = await proofWithRecord(s, 3);
  assert.equal(three.code, 0, three.err);
  assert.equal(three.err, '');
  const check = verifyReceipt(three.out, {
    logKey: s.t.publicKey,
    witnessKeys: s.witnessKeys,
    quorum: 2,
  });
  assert.equal(check.ok, true, check.reason);
  assert.equal(check.checked?.line, true);
});

test('verify-proof says INVALID, exit 1, for tampered, malformed and oversized receipts', async () => {
  const s = await setup();
  const made = await proofWithRecord(s, 2);
  assert.equal(made.code, 0, made.err);
  const good = made.out;
  const auditor = tempDir();
  const keys = s.witnessKeys.flatMap((k) => ['--witness-key', k]);
  const check = async (text: string | Buffer, extra: string[] = []): Promise<Run> => {
    const file = path.join(auditor, 'r.tlog-proof');
    writeFileSync(file, text);
    return run(auditor, [
      'verify-proof',
      file,
      '--public-key',
      s.t.publicKey,
      ...keys,
      '--quorum',
      '2',
      ...extra,
    ]);
  };
  assert.equal((await check(good)).code, 0);
  const other = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' });
  const otherKey = `ed25519:${other.subarray(12).toString('base64')}`;
  const lines = good.split('\n');
  const w1 = lines.findIndex((l) => l.startsWith('\u2014 witness.example.org/w1 '));
  const cases: Array<[string | Buffer, RegExp]> = [
    [good.replace(/\n5\n/, '\n6\n'), /^INVALID: invalid signature/],
    [
      lines.map((l, k) => (k === w1 ? `${l.slice(0, -8)}AAAAAA==` : l)).join('\n'),
      /^INVALID: invalid signature for key witness\.example\.org\/w1/,
    ],
    [lines.filter((_, k) => k !== w1).join('\n'), /^INVALID: cosigned by 1 trusted/],
    [
      lines.map((l, k) => (k === 3 ? Buffer.alloc(32, 1).toString('base64') : l)).join('\n'),
      /^INVALID: the audit path/,
    ],
    ['{"not":"a receipt"}', /^INVALID: not a receipt/],
    [Buffer.alloc(4 * 1024 * 1024 + 1, 0x41), /^INVALID: not a receipt: it is over/],
    [Buffer.of(0xff, 0xfe, 0x0a), /^INVALID: not a receipt/],
  ];
  for (const [text, reason] of cases) {
    const r = await check(text);
    assert.equal(r.code, 1, r.out + r.err);
    assert.match(r.out, reason);
    assert.equal(r.out.split('\n').length, 2, 'one line');
  }
  writeFileSync(path.join(auditor, 'r.tlog-proof'), good);
  const wrong = await run(auditor, [
    'verify-proof',
    path.join(auditor, 'r.tlog-proof'),
    '--public-key',
    otherKey,
  ]);
  assert.equal(wrong.code, 1);
  assert.match(wrong.out, /^INVALID: the note has no signature from a trusted key/);
  // Usage: a missing file, a bad quorum, a bad key.
  assert.equal(
    (
      await run(auditor, [
        'verify-proof',
        path.join(auditor, 'none'),
        '--public-key',
        s.t.publicKey,
      ])
    ).code,
    2,
  );
  assert.equal((await check(good, ['--quorum', 'two'])).code, 2);
  assert.equal(
    (
      await run(auditor, [
        'verify-proof',
        path.join(auditor, 'r.tlog-proof'),
        '--public-key',
        'ed25519:nope',
      ])
    ).code,
    2,
  );
});

test('proof refuses what it cannot prove', async () => {
  const s = await setup();
  const cases: Array<[string[], RegExp]> = [
    [
      ['--channel', 'app', '--seq', '10'],
      /USAGE: app has 9 indexed record\(s\): seq 10 is past them/,
    ],
    [['--channel', 'app', '--seq', '0'], /USAGE: --seq: expected a whole number from 1/],
    [['--channel', 'app', '--seq', '1e3'], /USAGE: --seq/],
    [['--channel', 'Nope!', '--seq', '1'], /USAGE: --channel/],
    [['--channel', 'billing', '--seq', '1'], /USAGE: the log has no channel "billing"/],
  ];
  for (const [args, reason] of cases) {
    const r = await run(s.root, ['--config', s.config, 'proof', ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.err}`);
    assert.match(r.err, reason);
  }
  // A checkpoint whose note signature was altered is never handed out.
  const layout = new LogLayout(s.t.dir);
  const cpLines = readLines(layout.checkpointsFile);
  const last = cpLines.length - 1;
  const cp = parseCheckpoint(cpLines[last] as string);
  assert.equal(cp.channel, 'app');
  const sig = cp.note_sig as string;
  const forged = `${sig.slice(0, 10)}${sig[10] === 'A' ? 'B' : 'A'}${sig.slice(11)}`;
  cpLines[last] = JSON.stringify({ ...cp, note_sig: forged });
  writeFileSync(layout.checkpointsFile, `${cpLines.join('\n')}\n`);
  const forgedRun = await run(s.root, [
    '--config',
    s.config,
    'proof',
    '--channel',
    'app',
    '--seq',
    '7',
  ]);
  assert.equal(forgedRun.code, 1);
  assert.match(
    forgedRun.err,
    /INTEGRITY_STATE: the note of the checkpoint of app at 9 is not signed/,
  );
  // A pinned key other than the log's: the files contradict the configuration.
  const other = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' });
  writeFileSync(
    s.config,
    JSON.stringify({
      dir: s.t.dir,
      integrity: { public_key: `ed25519:${other.subarray(12).toString('base64')}` },
    }),
  );
  const r = await run(s.root, ['--config', s.config, 'proof', '--channel', 'app', '--seq', '1']);
  assert.equal(r.code, 1);
  assert.match(r.err, /INTEGRITY_STATE/);
});
