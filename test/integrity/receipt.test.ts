import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parsePublicKey } from '../../src/crypto/sign.js';
import { catchUp } from '../../src/search/indexer.js';
import { inclusionProofFromIndex } from '../../src/search/proofs.js';
import { parseCheckpoint, type Checkpoint } from '../../src/integrity/checkpoint.js';
import {
  checkpointNote,
  checkpointNoteText,
  logVerifierKey,
} from '../../src/integrity/checkpoint-note.js';
import {
  cosigner,
  formatVerifierKey,
  signCosignature,
  type Cosigner,
} from '../../src/integrity/note/index.js';
import {
  MAX_RECEIPT_BYTES,
  RECEIPT_HEADER,
  makeReceipt,
  parseReceipt,
  verifyReceipt,
  type VerifyReceiptOptions,
} from '../../src/integrity/receipt.js';
import { LogLayout } from '../../src/store/file/layout.js';
import { expectCode, newLog, readLines, REPO_ROOT, tempDir, type TestLog } from '../helpers.js';
import { forEachStoredLine, openIndex } from '../search/helpers.js';
import type { IndexDb } from '../../src/search/index-db.js';

/** A real log: app records in rounds, a checkpoint after each, the index caught up. */
interface Fixture {
  readonly t: TestLog;
  readonly db: IndexDb;
  /** Checkpoints of app with a signed note, oldest first. */
  readonly checkpoints: Checkpoint[];
  /** Stored lines of app by seq - 1. */
  readonly lines: string[];
  readonly witnesses: Cosigner[];
  readonly witnessKeys: string[];
}

let shared: Promise<Fixture> | undefined;

function fixture(): Promise<Fixture> {
  shared ??= (async () => {
    const t = newLog();
    const logs = await t.open();
    for (const n of [1, 4, 8, 3]) {
      for (let i = 0; i < n; i++)
        logs.app.info({ event: 'job.run', n: i, note: 'café ✓' }, `run ${i}`);
      await logs.flush();
    }
    await logs.close();
    const layout = new LogLayout(t.dir);
    const checkpoints = readLines(layout.checkpointsFile)
      .map(parseCheckpoint)
      .filter((cp) => cp.channel === 'app' && cp.size > 0 && cp.origin !== undefined);
    const lines: string[] = [];
    await forEachStoredLine(t, ['app'], (b) => lines.push(b.toString('utf8')));
    const db = openIndex(t);
    await catchUp(layout, t.logId, db);
    const witnesses = ['witness.example.org/w1', 'witness.example.net/w2'].map((name) =>
      cosigner(name, generateKeyPairSync('ed25519').privateKey),
    );
    return {
      t,
      db,
      checkpoints,
      lines,
      witnesses,
      witnessKeys: witnesses.map((w) => formatVerifierKey(w)),
    };
  })();
  return shared;
}

function newest(f: Fixture): Checkpoint {
  const cp = f.checkpoints.at(-1);
  assert.ok(cp);
  return cp;
}

/** A receipt of `seq` at the newest checkpoint, cosigned by `cosigners`. */
function receiptOf(
  f: Fixture,
  seq: number,
  options: { cosigners?: Cosigner[]; line?: boolean; cp?: Checkpoint } = {},
): string {
  const cp = options.cp ?? newest(f);
  const text = checkpointNoteText(cp.origin as string, cp.size, cp.root);
  return makeReceipt({
    proof: inclusionProofFromIndex(f.db, 'app', seq, cp.size),
    note: checkpointNote(cp) as string,
    cosignatures: (options.cosigners ?? []).map((w) => signCosignature(w, text, 1_700_000_000)),
    logVkey: logVerifierKey(cp.origin as string, parsePublicKey(f.t.publicKey)),
    ...(options.line === true ? { line: f.lines[seq - 1] } : {}),
  });
}

/** The extra data of a receipt, changed by `edit`, put back. */
function editExtra(receipt: string, edit: (x: Record<string, unknown>) => void): string {
  const lines = receipt.split('\n');
  const x = JSON.parse(Buffer.from((lines[1] as string).slice(6), 'base64').toString()) as Record<
    string,
    unknown
  >;
  edit(x);
  lines[1] = `extra ${Buffer.from(JSON.stringify(x)).toString('base64')}`;
  return lines.join('\n');
}

test('receipts of every record at every signed size verify with the log key alone', async () => {
  const f = await fixture();
  assert.ok(f.checkpoints.length >= 4, 'a checkpoint per round');
  assert.equal(f.lines.length, 16);
  const key = f.t.publicKey;
  for (const cp of f.checkpoints) {
    for (let seq = 1; seq <= cp.size; seq++) {
      const r = receiptOf(f, seq, { cp, line: seq % 2 === 0 });
      assert.ok(r.startsWith(`${RECEIPT_HEADER}\nextra `));
      const check = verifyReceipt(r, { logKey: key });
      assert.equal(check.ok, true, `${seq} at ${cp.size}: ${check.reason ?? ''}`);
      assert.deepEqual(check.cosignedBy, []);
      assert.equal(check.checked?.treeSize, cp.size);
      assert.equal(check.checked.root, cp.root);
      assert.equal(check.checked.line, seq % 2 === 0);
      // The line given by the auditor is checked too.
      const given = verifyReceipt(r, { logKey: key, line: `${f.lines[seq - 1] as string}\n` });
      assert.equal(given.ok, true);
      assert.equal(given.checked?.line, true);
    }
  }
  const r = receiptOf(f, 5, { line: true });
  const parsed = parseReceipt(r);
  assert.equal(parsed.seq, 5);
  assert.equal(parsed.index, 4);
  assert.equal(parsed.line, f.lines[4]);
  // The log key in its three forms: public key text, key object (both with any origin of the
  // channel, or a pinned one), and its verifier key for the origin.
  const origin = f.checkpoints.at(-1)?.origin as string;
  const keyObject = parsePublicKey(key);
  for (const logKey of [key, keyObject, logVerifierKey(origin, keyObject)])
    assert.equal(verifyReceipt(r, { logKey }).ok, true);
  assert.equal(verifyReceipt(r, { logKey: key, origin }).ok, true);
  assert.equal(verifyReceipt(Buffer.from(r), { logKey: key }).ok, true);
  assert.equal(verifyReceipt(parsed, { logKey: key }).ok, true);
  assert.match(
    verifyReceipt(r, { logKey: key, origin: 'dihya-logs/another/app' }).reason ?? '',
    /another origin/,
  );
});

test('two cosignatures count against the quorum; one witness counts once', async () => {
  const f = await fixture();
  const [w1, w2] = f.witnesses as [Cosigner, Cosigner];
  const both = receiptOf(f, 7, { cosigners: [w1, w2], line: true });
  const opts: VerifyReceiptOptions = { logKey: f.t.publicKey, witnessKeys: f.witnessKeys };
  const ok = verifyReceipt(both, { ...opts, quorum: 2 });
  assert.equal(ok.ok, true, ok.reason);
  assert.deepEqual([...ok.cosignedBy].sort(), [w1.name, w2.name].sort());
  assert.equal(ok.checked?.quorum, 2);
  // The default quorum is 1 when witness keys are given, 0 without.
  assert.equal(verifyReceipt(both, opts).checked?.quorum, 1);
  assert.equal(verifyReceipt(both, { logKey: f.t.publicKey }).checked?.quorum, 0);
  // Only w1 cosigned: quorum 2 is not met, 1 is.
  const one = receiptOf(f, 7, { cosigners: [w1] });
  const short = verifyReceipt(one, { ...opts, quorum: 2 });
  assert.equal(short.ok, false);
  assert.match(
    short.reason ?? '',
    /cosigned by 1 trusted witness\(es\), fewer than the quorum of 2/,
  );
  assert.deepEqual(short.cosignedBy, [w1.name]);
  assert.equal(verifyReceipt(one, { ...opts, quorum: 1 }).ok, true);
  // No cosignature at all, a quorum asked for.
  assert.equal(verifyReceipt(receiptOf(f, 7), opts).ok, false);
  // The same witness twice (two lines, or its key given twice) is one witness.
  const cp = f.checkpoints.at(-1) as Checkpoint;
  const text = checkpointNoteText(cp.origin as string, cp.size, cp.root);
  const twice = `${one}${signCosignature(w1, text, 1_700_000_555)}`;
  const dup = verifyReceipt(twice, {
    ...opts,
    witnessKeys: [f.witnessKeys[0] as string, f.witnessKeys[0] as string],
    quorum: 1,
  });
  assert.equal(dup.ok, true, dup.reason);
  assert.deepEqual(dup.cosignedBy, [w1.name]);
  // A second key under w1's name is still w1.
  const w1b = cosigner(w1.name, generateKeyPairSync('ed25519').privateKey);
  const again = `${one}${signCosignature(w1b, text, 1_700_000_000)}`;
  const keys = [f.witnessKeys[0] as string, formatVerifierKey(w1b)];
  assert.deepEqual(
    verifyReceipt(again, { logKey: f.t.publicKey, witnessKeys: keys, quorum: 1 }).cosignedBy,
    [w1.name],
  );
  // A quorum over the distinct witnesses given can never be met: the caller's error.
  await expectCode('USAGE', () => verifyReceipt(both, { ...opts, quorum: 3 }));
  await expectCode('USAGE', () => verifyReceipt(both, { ...opts, quorum: -1 }));
  await expectCode('NOTE_KEY_INVALID', () =>
    verifyReceipt(both, { ...opts, witnessKeys: ['nope'] }),
  );
  await expectCode('PUBLIC_KEY_INVALID', () => verifyReceipt(both, { logKey: 'ed25519:AAAA' }));
  // The witness's key is not the log's key.
  await expectCode('NOTE_KEY_INVALID', () =>
    verifyReceipt(both, { logKey: f.witnessKeys[0] as string }),
  );
});

test('tampered receipts are rejected with a reason', async () => {
  const f = await fixture();
  const [w1, w2] = f.witnesses as [Cosigner, Cosigner];
  const good = receiptOf(f, 6, { cosigners: [w1, w2], line: true });
  const opts: VerifyReceiptOptions = {
    logKey: f.t.publicKey,
    witnessKeys: f.witnessKeys,
    quorum: 2,
  };
  assert.equal(verifyReceipt(good, opts).ok, true);
  const lines = good.split('\n');
  const at = (pred: (l: string) => boolean): number => lines.findIndex(pred);
  const replaced = (i: number, line: string): string =>
    lines.map((l, k) => (k === i ? line : l)).join('\n');
  const pathLine = 3;
  const sizeLine = at((l) => /^\d+$/.test(l));
  const rootLine = sizeLine + 1;
  const origin = lines[sizeLine - 1] as string;
  const w2Line = at((l) => l.startsWith(`\u2014 ${w2.name} `));
  const logLine = at((l) => l.startsWith(`\u2014 ${origin} `));
  const flip = (b64: string, i = 10): string => {
    const b = Buffer.from(b64, 'base64');
    b[i] = (b[i] as number) ^ 1;
    return b.toString('base64');
  };
  const other = generateKeyPairSync('ed25519').publicKey;
  const cases: Array<[string, string, RegExp, Partial<VerifyReceiptOptions>?]> = [
    ['a path hash', replaced(pathLine, flip(lines[pathLine] as string)), /audit path/],
    ['a path hash removed', lines.filter((_, k) => k !== pathLine).join('\n'), /audit path/],
    [
      'the leaf',
      editExtra(good, (x) => {
        x.leaf_hash = randomBytes(32).toString('hex');
        delete x.line;
      }),
      /audit path/,
    ],
    ['the size', replaced(sizeLine, String(Number(lines[sizeLine]) + 1)), /invalid signature/],
    ['the root', replaced(rootLine, flip(lines[rootLine] as string, 3)), /invalid signature/],
    ['the origin', replaced(sizeLine - 1, `${origin}x`), /channel|origin|trusted key/],
    [
      'the log signature',
      replaced(
        logLine,
        `\u2014 ${origin} ${flip((lines[logLine] as string).split(' ')[2] as string, 20)}`,
      ),
      /invalid signature/,
    ],
    [
      'the log signature removed',
      lines.filter((_, k) => k !== logLine).join('\n'),
      /not signed by the log key/,
    ],
    [
      'a cosignature',
      replaced(
        w2Line,
        `\u2014 ${w2.name} ${flip((lines[w2Line] as string).split(' ')[2] as string, 30)}`,
      ),
      /invalid signature for key witness\.example\.net\/w2/,
    ],
    ['a cosignature removed', lines.filter((_, k) => k !== w2Line).join('\n'), /quorum of 2/],
    [
      'the record line',
      editExtra(good, (x) => {
        x.line = (x.line as string).replace('run', 'RUN');
      }),
      /record line/,
    ],
    [
      'the previous hash',
      editExtra(good, (x) => {
        x.prev_hash = randomBytes(32).toString('hex');
      }),
      /record line/,
    ],
    [
      'the seq and index',
      editExtra(good, (x) => {
        x.seq = 5;
      }).replace('\nindex 5\n', '\nindex 4\n'),
      /audit path/,
    ],
    ['the index alone', good.replace('\nindex 5\n', '\nindex 4\n'), /index is not seq - 1/],
    [
      'the channel',
      editExtra(good, (x) => {
        x.channel = 'audit';
      }),
      /another channel/,
    ],
    ['the line given', good, /record line/, { line: f.lines[0] as string }],
    ['a wrong log key (public key)', good, /not signed by the log key/, { logKey: other }],
    [
      'a wrong log key (no witness)',
      good,
      /no signature from a trusted key/,
      { logKey: other, witnessKeys: [], quorum: 0 },
    ],
    [
      'a wrong log key (vkey)',
      good,
      /another origin|not signed/,
      { logKey: logVerifierKey(`${origin}x`, parsePublicKey(f.t.publicKey)) },
    ],
    ['the quorum', receiptOf(f, 6, { cosigners: [w1] }), /quorum/],
  ];
  for (const [what, receipt, reason, extra] of cases) {
    const check = verifyReceipt(receipt, { ...opts, ...extra });
    assert.equal(check.ok, false, `${what} is rejected`);
    assert.match(check.reason ?? '', reason, what);
  }
});

test('malformed and hostile receipts are a verdict, never a throw', async () => {
  const f = await fixture();
  const good = receiptOf(f, 3, { cosigners: f.witnesses, line: true });
  const opts = { logKey: f.t.publicKey, witnessKeys: f.witnessKeys, quorum: 2 };
  const bad: Array<string | Uint8Array> = [
    '',
    'not a receipt',
    '{"v":"dihya-logs/receipt/v1"}',
    JSON.stringify({ receipt: good }),
    good.replace(RECEIPT_HEADER, 'c2sp.org/tlog-proof@v2'),
    good.replace(/\nextra [^\n]*\n/, '\n'),
    good.replace(/\nextra [^\n]*\n/, '\nextra %%%\n'),
    good.replace(/\nextra [^\n]*\n/, `\nextra ${Buffer.from('{"v":').toString('base64')}\n`),
    good.replace(/\nindex \d+\n/, '\nindex 05\n'),
    good.replace(/\nindex \d+\n/, '\nindex -1\n'),
    good.replace(/\nindex \d+\n/, '\nindex 99999999999999999\n'),
    good.slice(0, good.indexOf('\n\n') + 2),
    good.replace('\n\n', '\n'),
    `${RECEIPT_HEADER}\nextra e30=\nindex 0\n${'AAAA\n'.repeat(3)}\n`,
    good.replace(
      /\nindex (\d+)\n/,
      `\nindex $1\n${`${Buffer.alloc(32).toString('base64')}\n`.repeat(70)}`,
    ),
    good.replace('\n\n', '\r\n\r\n'),
    Buffer.concat([Buffer.from(good), Buffer.of(0xff, 0xfe)]),
    `${good}\u0000`,
    'x'.repeat(MAX_RECEIPT_BYTES + 1),
    editExtra(good, (x) => (x.seq = '3')),
    editExtra(good, (x) => (x.seq = 2 ** 60)),
    editExtra(good, (x) => (x.leaf_hash = 'ABC')),
    editExtra(good, (x) => (x.line = 42)),
    editExtra(good, (x) => (x.channel = '../etc')),
    editExtra(good, (x) => (x.v = 'dihya-logs/receipt/v9')),
  ];
  for (const [i, r] of bad.entries()) {
    const check = verifyReceipt(r, opts);
    assert.equal(check.ok, false, `case ${i}`);
    assert.equal(typeof check.reason, 'string');
    if (typeof r === 'string' && r.startsWith(RECEIPT_HEADER) && i < 15)
      assert.throws(() => parseReceipt(r), { code: 'RECEIPT_INVALID' });
  }
  // Cut anywhere, or one byte changed anywhere: a verdict each time.
  const bytes = Buffer.from(good);
  for (let i = 0; i < 400; i++) {
    const cut = (i * 7919) % bytes.length;
    assert.equal(verifyReceipt(bytes.subarray(0, cut), opts).ok, false);
    const changed = Buffer.from(bytes);
    changed[cut] = (changed[cut] as number) ^ (1 + (i % 127));
    const check = verifyReceipt(changed, opts);
    assert.equal(typeof check.ok, 'boolean');
  }
});

test('makeReceipt refuses a checkpoint of another tree and a line of another record', async () => {
  const f = await fixture();
  const a = f.checkpoints[0] as Checkpoint;
  const b = f.checkpoints.at(-1) as Checkpoint;
  assert.notEqual(a.size, b.size);
  await expectCode('INTEGRITY_STATE', () =>
    makeReceipt({
      proof: inclusionProofFromIndex(f.db, 'app', 1, b.size),
      note: checkpointNote(a) as string,
    }),
  );
  await expectCode('USAGE', () =>
    makeReceipt({
      proof: inclusionProofFromIndex(f.db, 'app', 2, b.size),
      note: checkpointNote(b) as string,
      line: f.lines[0],
    }),
  );
  await expectCode('NOTE_MALFORMED', () =>
    makeReceipt({
      proof: inclusionProofFromIndex(f.db, 'app', 2, b.size),
      note: checkpointNote(b) as string,
      cosignatures: ['not a line'],
    }),
  );
});

/** The script of docs/receipts.md ("Checking one by hand"), as printed there. */
function docsScript(): string {
  const doc = readFileSync(path.join(REPO_ROOT, 'docs', 'receipts.md'), 'utf8');
  const m = /```js\n(\/\/ Check a dihya-logs receipt[\s\S]*?)```/.exec(doc);
  assert.ok(m?.[1], 'the script is in docs/receipts.md');
  const file = path.join(tempDir(), 'check-receipt.mjs');
  writeFileSync(file, m[1]);
  return file;
}

test('the by-hand recipe of docs/receipts.md (node:crypto only) agrees with verifyReceipt', async () => {
  const f = await fixture();
  const script = docsScript();
  const dir = tempDir();
  const run = (receipt: string, args: string[] = []): { code: number | null; out: string } => {
    const file = path.join(dir, `r-${randomBytes(4).toString('hex')}.tlog-proof`);
    writeFileSync(file, receipt);
    const r = spawnSync(process.execPath, [script, f.t.publicKey, file, ...args], {
      encoding: 'utf8',
      cwd: dir,
    });
    return { code: r.status, out: r.stdout + r.stderr };
  };
  const [w1, w2] = f.witnesses as [Cosigner, Cosigner];
  for (const seq of [1, 2, 9, 16]) {
    const r = receiptOf(f, seq, { cosigners: [w1, w2], line: true });
    const ok = run(r, [...f.witnessKeys, '--quorum', '2']);
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, new RegExp(`^OK: app #${seq} is in .* at size 16; cosigned by 2\\n$`));
    assert.equal(run(receiptOf(f, seq)).code, 0);
  }
  const good = receiptOf(f, 9, { cosigners: [w1, w2], line: true });
  const lines = good.split('\n');
  const flipped = (i: number): string => {
    const b = Buffer.from(lines[i] as string, 'base64');
    b[0] = (b[0] as number) ^ 1;
    return lines.map((l, k) => (k === i ? b.toString('base64') : l)).join('\n');
  };
  const w2Line = lines.findIndex((l) => l.startsWith(`\u2014 ${w2.name} `));
  const tampered: Array<[string, string[]]> = [
    [flipped(3), []],
    [good.replace(/\n16\n/, '\n17\n'), []],
    [editExtra(good, (x) => (x.line = (x.line as string).replace('run', 'RUN'))), []],
    [editExtra(good, (x) => (x.leaf_hash = randomBytes(32).toString('hex'))), []],
    [lines.map((l, k) => (k === w2Line ? `${l.slice(0, -6)}AAAA==` : l)).join('\n'), f.witnessKeys],
    [receiptOf(f, 9, { cosigners: [w1] }), [...f.witnessKeys, '--quorum', '2']],
  ];
  for (const [i, [r, args]] of tampered.entries()) {
    assert.equal(
      verifyReceipt(r, {
        logKey: f.t.publicKey,
        witnessKeys: f.witnessKeys,
        quorum: args.length > 2 ? 2 : 0,
      }).ok,
      false,
      `library, case ${i}`,
    );
    const out = run(r, args);
    assert.equal(out.code, 1, `script, case ${i}: ${out.out}`);
    assert.match(out.out, /INVALID/);
  }
});
