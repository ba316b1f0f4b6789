import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import {
  cpSync,
  readFileSync,
  readdirSync,
  renameSync,
  rmSync,
  truncateSync,
  writeFileSync,
  appendFileSync,
} from 'node:fs';
import path from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { openLogCore } from '../../src/log/open.js';
import type { LogsError } from '../../src/errors.js';
import type { LogCore } from '../../src/log/core.js';
import { catchUp } from '../../src/search/indexer.js';
import { committedLeavesFromIndex } from '../../src/search/committed.js';
import { ChainHasher, toLine } from '../../src/integrity/chain.js';
import type { DamageKind } from '../../src/integrity/damage.js';
import { LogLayout } from '../../src/store/file/layout.js';
import type { VerifyReport } from '../../src/store/verify-report.js';
import { verifyLogs } from '../../src/store/file/verify.js';
import { newLog, openedRecords, readLines, tempDir, type TestLog } from '../helpers.js';
import { openIndex } from '../search/helpers.js';

/**
 * The tamper matrix: a real log (two channels, two rotations of `app` into sealed archives,
 * records minutes apart), mutated the ways an administrator with a shell but no key could.
 * Each mutation must make verify fail and name the place; the next open must not sign the
 * damage away: verify still fails after it.
 */

const START = Date.parse('2026-03-01T10:00:00.000Z');
const STEP = 5_000; // records 5 s apart: a minute of records is far more than a crash explains
let golden: TestLog;

before(async () => {
  golden = newLog();
  let now = START;
  const logs = await golden.open({ clock: () => now });
  for (let round = 0; round < 3; round++) {
    for (let i = 0; i < 12; i++) {
      logs.app.info({ round, i }, `round ${round} message ${i}`);
      now += STEP;
    }
    await logs.audit({ event: 'tamper.round', target: { type: 'round', id: String(round) } });
    await logs.flush();
    if (round < 2) await logs.lifecycle.rotate('app');
  }
  await logs.close();
  // The index is built before any tampering: its copy of the trees names rewritten records.
  const db = openIndex(golden);
  await catchUp(new LogLayout(golden.dir), golden.logId, db);
  db.close();
  const r = await check(golden.dir);
  assert.ok(r.ok, JSON.stringify(r.damage));
  assert.equal(archives(golden.dir).length, 2);
});

/** A copy of the golden log to mutate. */
function copy(): string {
  const dir = path.join(tempDir(), 'logs');
  cpSync(golden.dir, dir, { recursive: true });
  return dir;
}

async function check(dir: string): Promise<VerifyReport> {
  const layout = new LogLayout(dir);
  const committed = committedLeavesFromIndex(layout, golden.logId);
  try {
    return await verifyLogs({
      dir,
      publicKey: golden.publicKey,
      committedLeaves: committed.leaves,
    });
  } finally {
    committed.close();
  }
}

function open(dir: string, clock?: () => number): Promise<LogCore> {
  return openLogCore({
    dir,
    masterKey: golden.masterKey,
    handleExit: false,
    onError: () => undefined,
    settings: { index: { live: false } },
    ...(clock === undefined ? {} : { clock }),
  });
}

function archives(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const full = path.join(d, e.name);
      if (e.isDirectory()) walk(full);
      else out.push(full);
    }
  };
  walk(path.join(dir, 'archive'));
  return out.sort((a, b) => firstSeq(a) - firstSeq(b));
}

function firstSeq(file: string): number {
  return Number(/-(\d+)-\d+\.log\.gz$/.exec(file)?.[1]);
}

interface Expect {
  readonly kind: DamageKind | readonly DamageKind[];
  readonly channel?: string;
  readonly file?: string;
  readonly seq?: number;
  readonly line?: number;
}

/** verify fails, and its first damage (of the channel, when given) is this one. */
function expectDamage(r: VerifyReport, e: Expect, label: string): void {
  assert.equal(r.ok, false, `${label}: verify must fail`);
  const kinds = typeof e.kind === 'string' ? [e.kind] : e.kind;
  const d = r.damage.find(
    (x) => kinds.includes(x.kind) && (e.channel === undefined || x.channel === e.channel),
  );
  assert.ok(d, `${label}: expected ${kinds.join('|')}, got ${JSON.stringify(r.damage)}`);
  if (e.file !== undefined) assert.equal(d.file, e.file, `${label}: file`);
  if (e.seq !== undefined) assert.equal(d.seq, e.seq, `${label}: seq`);
  if (e.line !== undefined) assert.equal(d.line, e.line, `${label}: line`);
}

/**
 * After the damage, the next open, write and close must leave verify failing (the damage is not
 * signed away). Returns the security records written, to check what the open said.
 */
async function reopenStillDamaged(
  dir: string,
  label: string,
): Promise<Array<Record<string, unknown>>> {
  let logs: LogCore;
  try {
    logs = await open(dir);
  } catch (err) {
    // Records missing or out of place in the active file: the tree cannot be resumed, and the
    // open refuses (nothing is signed) until someone looks.
    assert.equal((err as LogsError).code, 'INTEGRITY_STATE', `${label}: ${String(err)}`);
    assert.ok(!(await check(dir)).ok, `${label}: still damaged`);
    return [];
  }
  logs.app.info('after the tampering');
  await logs.close();
  const r = await check(dir);
  assert.equal(r.ok, false, `${label}: a reopen must not sign the damage away`);
  return openedRecords({ ...golden, dir }, 'security.log');
}

function rewriteLines(file: string, edit: (lines: string[]) => string[]): void {
  writeFileSync(
    file,
    edit(readLines(file))
      .map((l) => `${l}\n`)
      .join(''),
  );
}

/** Records rewritten from `from` (0-based line) on with a recomputed chain, as an attacker would. */
function recompute(
  lines: string[],
  startHead: string,
  change: (rec: Record<string, unknown>, i: number) => void,
): string[] {
  const hasher = new ChainHasher();
  let head = startHead;
  return lines.map((line, i) => {
    const { hash: _hash, ...rec } = JSON.parse(line) as Record<string, unknown>;
    change(rec, i);
    const canonical = JSON.stringify(
      Object.fromEntries(Object.entries(rec).sort(([a], [b]) => (a < b ? -1 : 1))),
    );
    head = hasher.next(head, canonical);
    return toLine(canonical, head).trimEnd();
  });
}

/**
 * Rewrite app's active file with record `at` edited and every hash recomputed from the last
 * archive's head (public in the archive before it), as an attacker without the key would.
 */
function rewriteActive(dir: string, lines: string[], at: number, msg: string): void {
  const before = gunzipSync(readFileSync(archives(dir)[1]!))
    .toString('utf8')
    .trim()
    .split('\n');
  const head = (JSON.parse(before[before.length - 1]!) as { hash: string }).hash;
  const rewritten = recompute(lines, head, (rec, i) => {
    if (i === at) rec.msg = msg;
  });
  writeFileSync(path.join(dir, 'app.log'), rewritten.map((l) => `${l}\n`).join(''));
}

/** The app records of the active file (the third round) start after the two archives. */
const ACTIVE_FIRST = 25;

test('active file: edit, delete, insert, reorder and a flipped bit are each named at their seq', async () => {
  const cases: Array<{ label: string; edit: (l: string[]) => string[]; expect: Expect }> = [
    {
      label: 'edit',
      edit: (l) => l.map((x, i) => (i === 3 ? x.replace('message 3', 'message 9') : x)),
      expect: { kind: 'record_altered', channel: 'app', seq: ACTIVE_FIRST + 3, line: 4 },
    },
    {
      label: 'delete',
      edit: (l) => l.filter((_, i) => i !== 5),
      expect: { kind: 'records_missing', channel: 'app', seq: ACTIVE_FIRST + 5, line: 6 },
    },
    {
      label: 'insert',
      edit: (l) => [...l.slice(0, 2), l[7]!, ...l.slice(2)],
      // A copy of a later record: seq jumps forward where it stands.
      expect: {
        kind: ['records_missing', 'records_out_of_order'],
        channel: 'app',
        seq: ACTIVE_FIRST + 2,
        line: 3,
      },
    },
    {
      label: 'reorder',
      edit: (l) => l.map((x, i) => (i === 4 ? l[6]! : i === 6 ? l[4]! : x)),
      expect: {
        kind: ['records_missing', 'records_out_of_order'],
        channel: 'app',
        seq: ACTIVE_FIRST + 4,
      },
    },
  ];
  for (const c of cases) {
    const dir = copy();
    rewriteLines(path.join(dir, 'app.log'), c.edit);
    expectDamage(await check(dir), c.expect, c.label);
    await reopenStillDamaged(dir, c.label);
  }
  const dir = copy();
  const file = path.join(dir, 'app.log');
  const bytes = readFileSync(file);
  const at = bytes.indexOf('message 8');
  bytes[at + 3] = (bytes[at + 3] as number) ^ 0x04;
  writeFileSync(file, bytes);
  expectDamage(
    await check(dir),
    { kind: 'record_altered', channel: 'app', seq: ACTIVE_FIRST + 8 },
    'bit flip',
  );
  await reopenStillDamaged(dir, 'bit flip');
});

test('archives: a flipped bit, an edited and recompressed segment, a deleted, swapped or renamed archive', async () => {
  {
    const dir = copy();
    const [a] = archives(dir);
    const bytes = readFileSync(a!);
    bytes[Math.floor(bytes.length / 2)] = (bytes[Math.floor(bytes.length / 2)] as number) ^ 0x10;
    writeFileSync(a!, bytes);
    expectDamage(
      await check(dir),
      { kind: ['archive_altered', 'record_altered'], channel: 'app' },
      'archive bit flip',
    );
    await reopenStillDamaged(dir, 'archive bit flip');
  }
  {
    const dir = copy();
    const [, b] = archives(dir);
    const text = gunzipSync(readFileSync(b!)).toString('utf8').replace('message 2', 'message 7');
    writeFileSync(b!, gzipSync(text));
    expectDamage(
      await check(dir),
      { kind: ['archive_altered', 'record_altered'], channel: 'app' },
      'recompressed',
    );
    await reopenStillDamaged(dir, 'recompressed');
  }
  {
    const dir = copy();
    const [a] = archives(dir);
    rmSync(a!);
    expectDamage(
      await check(dir),
      { kind: 'archive_missing', channel: 'app', file: path.relative(dir, a!), seq: 1 },
      'deleted archive',
    );
    await reopenStillDamaged(dir, 'deleted archive');
  }
  {
    const dir = copy();
    const [a, b] = archives(dir);
    renameSync(a!, `${a!}.tmp`);
    renameSync(b!, a!);
    renameSync(`${a!}.tmp`, b!);
    expectDamage(
      await check(dir),
      { kind: ['archive_altered', 'segment_gap', 'records_missing'], channel: 'app', seq: 1 },
      'swapped archives',
    );
    await reopenStillDamaged(dir, 'swapped archives');
  }
  {
    const dir = copy();
    const [a] = archives(dir);
    renameSync(a!, a!.replace(/-1-/, '-2-'));
    const r = await check(dir);
    expectDamage(r, { kind: 'archive_missing', channel: 'app' }, 'renamed archive');
    expectDamage(r, { kind: 'archive_unknown' }, 'renamed archive');
    await reopenStillDamaged(dir, 'renamed archive');
  }
});

test('the checkpoint log deleted, emptied or cut back is damage, and the next open signs nothing away', async () => {
  {
    const dir = copy();
    rmSync(path.join(dir, '.integrity', 'checkpoints.log'));
    expectDamage(
      await check(dir),
      { kind: 'file_missing', file: '.integrity/checkpoints.log' },
      'deleted',
    );
    await assert.rejects(open(dir), /checkpoints\.log is missing/);
  }
  {
    const dir = copy();
    truncateSync(path.join(dir, '.integrity', 'checkpoints.log'), 0);
    expectDamage(
      await check(dir),
      { kind: 'checkpoints_cut', file: '.integrity/checkpoints.log' },
      'emptied',
    );
    const security = await reopenStillDamaged(dir, 'emptied');
    assert.ok(security.some((s) => s.event === 'log.integrity.checkpoints_cut'));
    assert.ok(security.some((s) => s.event === 'log.integrity.unproven'));
    assert.ok(!security.some((s) => s.event === 'log.recovery.tail_signed'));
  }
  {
    // Cut back to before the last seal's pin: the segment log saw more checkpoints than remain.
    const dir = copy();
    const file = path.join(dir, '.integrity', 'checkpoints.log');
    const lines = readLines(file);
    writeFileSync(
      file,
      lines
        .slice(0, 6)
        .map((l) => `${l}\n`)
        .join(''),
    );
    expectDamage(
      await check(dir),
      { kind: 'checkpoints_cut', file: '.integrity/checkpoints.log' },
      'cut back',
    );
    const security = await reopenStillDamaged(dir, 'cut back');
    assert.ok(security.some((s) => s.event === 'log.integrity.checkpoints_cut'));
  }
});

test('the last checkpoints dropped, with or without forged records appended: unsigned_records names the first seq', async () => {
  const dropLast = (dir: string): void => {
    // The final checkpoints of the close and the flush before them: app's active records lose
    // their signatures (the cut of the last rotation, pinned by its seal, stays).
    const file = path.join(dir, '.integrity', 'checkpoints.log');
    const lines = readLines(file);
    const keep = lines.filter((l) => {
      const cp = JSON.parse(l) as { channel: string; size: number };
      return !(cp.channel === 'app' && cp.size > 24);
    });
    writeFileSync(file, keep.map((l) => `${l}\n`).join(''));
  };
  {
    const dir = copy();
    dropLast(dir);
    expectDamage(
      await check(dir),
      { kind: 'unsigned_records', channel: 'app', seq: ACTIVE_FIRST, line: 1 },
      'dropped',
    );
  }
  {
    const dir = copy();
    dropLast(dir);
    const file = path.join(dir, 'app.log');
    const lines = readLines(file);
    const last = JSON.parse(lines[lines.length - 1]!) as { hash: string; seq: number; ts: string };
    const forged = recompute([lines[0]!], last.hash, (rec) => {
      rec.seq = last.seq + 1;
      rec.msg = 'forged: all is well';
    });
    appendFileSync(file, `${forged[0]!}\n`);
    expectDamage(
      await check(dir),
      { kind: 'unsigned_records', channel: 'app', seq: ACTIVE_FIRST, line: 1 },
      'dropped + forged',
    );
    const security = await reopenStillDamaged(dir, 'dropped + forged');
    const unproven = security.find((s) => s.event === 'log.integrity.unproven');
    assert.ok(unproven, 'the open says it could not prove the records');
    assert.equal((unproven.data as { first: number }).first, ACTIVE_FIRST);
    expectDamage(
      await check(dir),
      { kind: 'unsigned_records', channel: 'app', seq: ACTIVE_FIRST },
      'after reopen',
    );
  }
});

test('a rewritten chain is named at the first rewritten record, before and after the next open', async () => {
  {
    const dir = copy();
    const file = path.join(dir, 'app.log');
    const lines = readLines(file);
    const start = (JSON.parse(readLines(file)[0]!) as { seq: number }).seq;
    assert.equal(start, ACTIVE_FIRST);
    // The attacker edits record 3 of the active file and recomputes every hash after it.
    rewriteActive(dir, lines, 3, 'history, rewritten');
    expectDamage(
      await check(dir),
      { kind: 'checkpoint_mismatch', channel: 'app', seq: ACTIVE_FIRST + 3, line: 4 },
      'rewritten chain',
    );
    const security = await reopenStillDamaged(dir, 'rewritten chain');
    assert.ok(security.some((s) => s.event === 'log.integrity.unproven'));
    expectDamage(
      await check(dir),
      { kind: 'checkpoint_mismatch', channel: 'app', seq: ACTIVE_FIRST + 3 },
      'after reopen',
    );
  }
  {
    // Emptied checkpoint log, then the active file rewritten with a recomputed chain.
    const dir = copy();
    truncateSync(path.join(dir, '.integrity', 'checkpoints.log'), 0);
    rewriteActive(dir, readLines(path.join(dir, 'app.log')), 0, 'nothing happened');
    expectDamage(await check(dir), { kind: 'checkpoints_cut' }, 'emptied + rewritten');
    await reopenStillDamaged(dir, 'emptied + rewritten');
  }
});

test('a crash tail is signed on open with a security event saying how many and since when', async () => {
  // Drop only app's last checkpoints, then make the records look like a crash's last second:
  // what a real crash leaves. The open checks them against the signed head and signs them.
  const t = newLog();
  let now = START;
  const logs = await t.open({ clock: () => now });
  for (let i = 0; i < 5; i++) {
    logs.app.info({ i }, `m ${i}`);
    now += 100;
  }
  await logs.flush();
  for (let i = 5; i < 8; i++) {
    logs.app.info({ i }, `m ${i}`);
    now += 100;
  }
  await logs.close();
  const file = path.join(t.dir, '.integrity', 'checkpoints.log');
  const lines = readLines(file);
  // The close's final checkpoint goes, as if the process had died before it.
  const keep = lines.filter((l) => {
    const cp = JSON.parse(l) as { channel: string; size: number };
    return !(cp.channel === 'app' && cp.size === 8);
  });
  writeFileSync(file, keep.map((l) => `${l}\n`).join(''));
  const before = await verifyLogs({ dir: t.dir, publicKey: t.publicKey });
  assert.ok(before.ok, JSON.stringify(before.damage));
  assert.ok(before.warnings.some((w) => w.kind === 'unsigned_tail' && w.channel === 'app'));
  const again = await t.open();
  await again.close();
  const after = await verifyLogs({ dir: t.dir, publicKey: t.publicKey });
  assert.ok(after.ok, JSON.stringify(after.damage));
  assert.ok(!after.warnings.some((w) => w.kind === 'unsigned_tail'));
  const security = openedRecords(t, 'security.log');
  const signed = security.find((s) => s.event === 'log.recovery.tail_signed');
  assert.ok(signed, JSON.stringify(security.map((s) => s.event)));
  assert.deepEqual(
    { ...(signed.data as Record<string, unknown>) },
    { channel: 'app', records: 3, first: 6, since: new Date(START + 500).toISOString(), last: 8 },
  );
  assert.ok(!security.some((s) => String(s.event).startsWith('log.integrity.')));
});
