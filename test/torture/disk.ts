/**
 * A full disk (ENOSPC on a small tmpfs) and a read-only remount under `serve`: no 2xx for an
 * audit event that is not stored, /readyz 503 while the fault lasts, writes succeed again
 * without a restart once it clears, and `verify` passes after.
 */
import { spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import {
  call,
  channelRecords,
  sleep,
  startServe,
  stopServe,
  verify,
  workspace,
  type Outcome,
  type ScenarioOptions,
  type Server,
  type Workspace,
} from './serve.js';

// Below the default 64 MiB, or /readyz says DISK_LOW on a 16 MiB tmpfs from the start.
const CONFIG = 'service: { min_free_bytes: 1048576 }\n';

type Kind = 'audit' | 'audit+subject' | 'app' | 'app+subject';
const KINDS: Kind[] = ['audit', 'audit+subject', 'app', 'app+subject'];

interface Sent {
  readonly tid: string;
  readonly kind: Kind;
  readonly fault: string;
  status: number;
}

function sh(cmd: string, args: string[]): { ok: boolean; out: string } {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}`.trim() };
}

/** Write zeros until the filesystem refuses (ENOSPC); returns the bytes written. */
function fill(file: string): number {
  const fd = openSync(file, 'w');
  let total = 0;
  try {
    for (const size of [1 << 20, 1 << 12, 1 << 9]) {
      const chunk = Buffer.alloc(size);
      for (;;) {
        try {
          total += writeSync(fd, chunk);
        } catch {
          break;
        }
      }
    }
  } finally {
    closeSync(fd);
  }
  return total;
}

export async function diskScenario(o: ScenarioOptions): Promise<Outcome> {
  const r: Run = { sent: [], ready: {}, recoveryMs: {}, failures: [], n: 0 };
  const tmpfs = path.join(o.work, 'tmpfs');
  mkdirSync(tmpfs, { recursive: true });
  const m = sh('mount', ['-t', 'tmpfs', '-o', 'size=16m', 'tmpfs', tmpfs]);
  if (!m.ok)
    return {
      figures: {},
      failures: [`cannot mount a tmpfs (this scenario needs root or CAP_SYS_ADMIN): ${m.out}`],
    };
  let checked: Outcome;
  try {
    const ws = await fullTmpfs(o, tmpfs, r);
    checked = check(r, ws, 'tmpfs');
    // The tmpfs goes away with the unmount: keep a copy of a failing directory to look into.
    if (checked.failures.length > 0) sh('cp', ['-a', ws.cwd, path.join(o.work, 'tmpfs-copy')]);
  } finally {
    await umount(tmpfs);
  }
  const second = await loopExt4(o, r);
  return {
    figures: { ...checked.figures, ...second.figures },
    failures: [...new Set([...checked.failures, ...second.failures])],
    notes: [
      'eio-fdatasync by fault injection (DIHYA_LOGS_FAULT) runs in npm test (test/log/disk-full.test.ts); here fdatasync fails at writeback instead (ENOSPC from a loop device, the kernel path)',
      'buffered (app) events are acknowledged once written, not synced (docs/configuration.md, the loss budget): bufferedAckedNotStored is reported, not failed',
    ],
  };
}

async function umount(dir: string): Promise<void> {
  for (let i = 0; i < 20 && !sh('umount', [dir]).ok; i++) await sleep(250);
}

interface Run {
  readonly sent: Sent[];
  ready: Record<string, Record<string, number>>;
  recoveryMs: Record<string, number[]>;
  readonly failures: string[];
  n: number;
}

async function send(r: Run, s: Server, ws: Workspace, kind: Kind, fault: string): Promise<Sent> {
  const tid = `d${(r.n++).toString(36)}`;
  const event: Record<string, unknown> = {
    level: kind.startsWith('audit') ? 'AUDIT' : 'INFO',
    event: 'torture.disk',
    msg: `${tid} ${'y'.repeat(400)}`,
    data: { tid },
  };
  // An e-mail address in the actor: a new person, so a new key in the subject keystore.
  if (kind.endsWith('+subject')) event.actor = { email: `p-${tid}@example.org` };
  const a = await call(s, ws, 'POST', '/v1/events', JSON.stringify([event]), {}, 20_000);
  const sent: Sent = { tid, kind, fault, status: a.status };
  r.sent.push(sent);
  return sent;
}

async function readyz(r: Run, s: Server, ws: Workspace, fault: string): Promise<number> {
  const a = await call(s, ws, 'GET', '/readyz', undefined, {}, 10_000);
  const code =
    a.status === 200
      ? '200'
      : `${a.status} ${(a.body as { error?: { code?: string } } | undefined)?.error?.code ?? '?'}`;
  const row = (r.ready[fault] ??= {});
  row[code] = (row[code] ?? 0) + 1;
  return a.status;
}

/** Before, during (perFault events of every kind), and the clearing of one fault. */
async function underFault(
  o: ScenarioOptions,
  r: Run,
  s: Server,
  ws: Workspace,
  fault: string,
  apply: () => void,
  clear: (() => void) | undefined,
): Promise<void> {
  const perFault = o.short ? 12 : 40;
  for (const k of KINDS) await send(r, s, ws, k, 'before');
  if ((await readyz(r, s, ws, 'before')) !== 200) r.failures.push(`${fault}: not ready before`);
  apply();
  // Ready means the last durable write succeeded: 200 right after a refused audit event is wrong.
  let lastDurableFailed = false;
  for (let i = 0; i < perFault; i++) {
    const x = await send(r, s, ws, KINDS[i % KINDS.length]!, fault);
    if (x.kind.startsWith('audit')) lastDurableFailed = x.status !== 200;
    if (i % 4 === 3 && (await readyz(r, s, ws, fault)) === 200 && lastDurableFailed)
      r.failures.push(`${fault}: /readyz answered 200 after a durable write failed`);
  }
  if (clear === undefined) return;
  clear();
  // Recovery without a restart: a durable write goes through, then /readyz says ready.
  const t0 = Date.now();
  let back = false;
  while (Date.now() - t0 < 30_000 && !back) {
    back = (await send(r, s, ws, 'audit+subject', `${fault}-cleared`)).status === 200;
    if (!back) await sleep(250);
  }
  if (!back)
    r.failures.push(`${fault}: no durable write succeeded within 30 s of the fault clearing`);
  else (r.recoveryMs[fault] ??= []).push(Date.now() - t0);
  if ((await readyz(r, s, ws, `${fault}-cleared`)) !== 200)
    r.failures.push(`${fault}: /readyz not 200 after a durable write succeeded`);
  for (const k of KINDS) await send(r, s, ws, k, `${fault}-after`);
}

/** ENOSPC: the logs on a 16 MiB tmpfs, a filler file takes the rest. */
async function fullTmpfs(o: ScenarioOptions, mnt: string, r: Run): Promise<Workspace> {
  const ws = workspace(path.join(mnt, 'w'), CONFIG);
  const server = await startServe(ws);
  try {
    const filler = path.join(mnt, 'filler');
    for (let round = 0; round < (o.short ? 1 : 5); round++) {
      await underFault(
        o,
        r,
        server,
        ws,
        'enospc',
        () => void fill(filler),
        () => rmSync(filler, { force: true }),
      );
      o.log(`  disk enospc round ${round + 1}: done`);
    }
    if (server.proc.exitCode !== null)
      r.failures.push(`serve exited during enospc: ${server.output().slice(-500)}`);
  } finally {
    await stopServe(server);
  }
  return ws;
}
/**
 * The logs on ext4 (no journal, errors=continue) in a loop device whose image is on a tmpfs.
 * fsync-fails: a filler fills the tmpfs, not ext4, so writes land in the page cache and
 * fdatasync fails when the loop device cannot write them back (ENOSPC, the same path as EIO:
 * the pages are then marked clean, the data is gone from the disk, and a second fdatasync
 * succeeds). readonly: ext4 turns itself read-only (errors=remount-ro and
 * /sys/fs/ext4/<dev>/trigger_fs_error), as on a metadata error; `mount -o remount,ro` is
 * refused (EBUSY) while serve holds files open for writing, and an emergency read-only mount is
 * cleared only by unmounting, so this one recovers by restarting, after e2fsck.
 * Everything is checked from a fresh mount: what the page cache still held does not count.
 */
async function loopExt4(o: ScenarioOptions, r: Run): Promise<Outcome> {
  const outer = path.join(o.work, 'outer');
  const inner = path.join(o.work, 'ext4');
  const img = path.join(outer, 'ext4.img');
  mkdirSync(outer, { recursive: true });
  mkdirSync(inner, { recursive: true });
  let ws: Workspace | undefined;
  const figures: Record<string, unknown> = {};
  const mountInner = (errors: string) => sh('mount', ['-o', `loop,errors=${errors}`, img, inner]);
  try {
    if (!sh('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', outer]).ok)
      return { figures, failures: ['cannot mount the outer tmpfs'] };
    writeFileSync(img, '');
    sh('truncate', ['-s', '40M', img]);
    const mk = sh('mkfs.ext4', ['-q', '-O', '^has_journal', img]);
    const mi = mk.ok ? mountInner('continue') : mk;
    if (!mi.ok) return { figures, failures: [`cannot make the loop ext4: ${mi.out}`] };
    ws = workspace(path.join(inner, 'w'), CONFIG);
    let server = await startServe(ws);
    const filler = path.join(outer, 'filler');
    // A failed fdatasync fails the channel closed until it is reopened (docs/errors.md,
    // CHANNEL_FAILED): what reached the disk is unknown. So: still 503 once the fault clears,
    // and the recovery is a restart.
    for (let round = 0; round < (o.short ? 1 : 3); round++) {
      await underFault(o, r, server, ws, 'fsync-fails', () => void fill(filler), undefined);
      rmSync(filler, { force: true });
      await sleep(500);
      await send(r, server, ws, 'audit', 'fsync-fails-cleared');
      await readyz(r, server, ws, 'fsync-fails-cleared');
      await stopServe(server);
      server = await startServe(ws);
      for (const k of KINDS) await send(r, server, ws, k, 'fsync-fails-restarted');
      if ((await readyz(r, server, ws, 'fsync-fails-restarted')) !== 200)
        r.failures.push('fsync-fails: /readyz not 200 after the restart');
      o.log(`  disk fsync-fails round ${round + 1}: done`);
    }
    const dev = path.basename(sh('findmnt', ['-no', 'SOURCE', inner]).out);
    const remount = sh('mount', ['-o', 'remount,errors=remount-ro', inner]);
    if (!remount.ok) r.failures.push(`errors=remount-ro: ${remount.out}`);
    await underFault(
      o,
      r,
      server,
      ws,
      'readonly',
      () => writeFileSync(`/sys/fs/ext4/${dev}/trigger_fs_error`, 'torture'),
      undefined,
    );
    if (server.proc.exitCode !== null)
      r.failures.push(`serve exited during the faults: ${server.output().slice(-500)}`);
    await stopServe(server);
    await umount(inner);
    const fsck = sh('e2fsck', ['-fy', img]);
    figures.e2fsck = fsck.out
      .split('\n')
      .filter((l) => /Fix|Clear|error|clean|files/i.test(l))
      .slice(0, 6);
    if (!mountInner('continue').ok) return { figures, failures: ['cannot mount the ext4 again'] };
    // Recovery by a restart: writes succeed again.
    server = await startServe(ws);
    for (const k of KINDS) await send(r, server, ws, k, 'readonly-restarted');
    if ((await readyz(r, server, ws, 'readonly-restarted')) !== 200)
      r.failures.push('readonly: /readyz not 200 after the restart');
    await stopServe(server);
    // A fresh mount: only what reached the disk is read back.
    await umount(inner);
    if (!mountInner('continue').ok) return { figures, failures: ['cannot mount the ext4 again'] };
    const c = check(r, ws, 'ext4');
    // The tmpfs goes away with the unmount: keep a copy of a failing directory to look into.
    if (c.failures.length > 0) sh('cp', ['-a', ws.cwd, path.join(o.work, 'ext4-copy')]);
    return { figures: { ...c.figures, ...figures }, failures: c.failures };
  } finally {
    await umount(inner);
    await umount(outer);
  }
}

function check(r: Run, ws: Workspace, label: string): Outcome {
  const failures = [...r.failures];
  const stored = new Set<string>();
  for (const channel of ['audit', 'app'])
    for (const rec of channelRecords(ws.dir, channel).bySeq.values()) {
      const tid = (rec.data as { tid?: unknown } | undefined)?.tid;
      if (typeof tid === 'string') stored.add(tid);
    }
  // Per fault and kind: statuses, and stored-vs-acknowledged cross-checks.
  const table: Record<string, Record<string, number>> = {};
  let ackedNotStored = 0;
  let bufferedAckedNotStored = 0;
  let refusedButStored = 0;
  for (const s of r.sent) {
    const row = (table[`${s.fault} ${s.kind}`] ??= {});
    row[String(s.status)] = (row[String(s.status)] ?? 0) + 1;
    const isStored = stored.has(s.tid);
    if (s.status >= 200 && s.status < 300 && !isStored) {
      if (s.kind.startsWith('audit')) {
        ackedNotStored += 1;
        failures.push(`${s.fault} ${s.kind}: ${s.tid} answered ${s.status} but is not stored`);
      } else bufferedAckedNotStored += 1;
    }
    if (s.status >= 500 && isStored) refusedButStored += 1;
    if (/^before$|-(?:after|restarted)$/.test(s.fault) && s.status !== 200)
      failures.push(`${s.fault} ${s.kind}: ${s.status} with no fault`);
    if (s.status === 0 || s.status === 500)
      failures.push(
        `${s.fault} ${s.kind}: answered ${s.status === 0 ? 'nothing (timeout)' : '500'}`,
      );
  }
  const v = verify(ws);
  if (!v.ok) failures.push(`${label} verify: ${v.summary}`);
  const figures = {
    events: r.sent.length,
    statuses: table,
    readyz: r.ready,
    auditAckedNotStored: ackedNotStored,
    bufferedAckedNotStored,
    refused5xxButStored: refusedButStored,
    recoveryMs: r.recoveryMs,
    verify: v.summary,
  };
  // The next environment starts counting afresh.
  r.sent.length = 0;
  r.failures.length = 0;
  r.ready = {};
  r.recoveryMs = {};
  return {
    figures: Object.fromEntries(Object.entries(figures).map(([k, v]) => [`${label}.${k}`, v])),
    failures,
  };
}
