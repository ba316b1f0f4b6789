/**
 * A power-loss model for the small state stores: tokens (.keys/tokens.db), the subject keystore
 * (.keys/subjects.db) and the detectors' positions (.index/detect.positions.json or wherever the
 * layout puts it). A power loss keeps what was synced and may drop every other write. `serve`
 * runs under strace; from the order of its system calls we replay, per file, which writes an
 * fsync or fdatasync had covered when each acknowledgement (a 2xx answer written to the socket)
 * left the process. What an acknowledgement promises must have been synced by then:
 *
 * - a token created or revoked (201/200): every write to tokens.db-wal (and tokens.db) synced;
 * - an audit event naming a new person: every write to subjects.db-wal synced (the person's key
 *   must outlive a crash as long as the record does);
 * - files replaced by rename (positions, detector state): each rename is counted as made over a synced or an
 *   unsynced temporary file (after a power loss an unsynced one may be empty: the detectors then
 *   start at the end of the files, docs say so, and may miss what came in between).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  call,
  sleep,
  startServe,
  stopServe,
  workspace,
  type Outcome,
  type ScenarioOptions,
  type Server,
  type Workspace,
} from './serve.js';

type Kind = 'token.create' | 'token.revoke' | 'audit+subject' | 'audit' | 'app+subject' | 'app';

interface Ack {
  readonly kind: Kind;
  readonly status: number;
}

const TRACED =
  'trace=write,pwrite64,writev,pwritev,pwritev2,ftruncate,fsync,fdatasync,sync_file_range,rename,renameat,renameat2';

export async function powerlossScenario(o: ScenarioOptions): Promise<Outcome> {
  const ops = o.short ? 40 : 300;
  const ws = workspace(path.join(o.work, 'powerloss'), 'service: { min_free_bytes: 0 }\n');
  const live: string[] = [];
  const failures: string[] = [];
  const figures: Record<string, unknown> = { operations: ops };
  // Two sessions: the second starts after a clean close, whose final checkpoint is then the
  // last one on disk until the new session syncs one of its own.
  for (const n of [1, 2]) {
    const trace = path.join(o.work, `strace-${n}.txt`);
    const server = await startServe(ws, {
      wrap: ['strace', '-f', '-qq', '-y', '-s', '24', '-e', TRACED, '-o', trace],
      timeoutMs: 120_000,
    });
    const acks = await session(o, ws, server, ops / 2, live, failures);
    await stopServe(server);
    const replay = replayTrace(readFileSync(trace, 'utf8'), acks, n === 2);
    failures.push(...replay.failures);
    figures[`session${n}`] = {
      acknowledged: acks.length,
      byKind: countBy(acks.map((a) => a.kind)),
      responsesInTrace: replay.responses,
      syscallsSeen: replay.syscalls,
      acksWithUnsyncedState: replay.unsyncedAtAck,
      durableAcksBeforeFirstCheckpointSync: replay.beforeCheckpointSync,
      renamedOver: replay.renames,
    };
  }
  return {
    figures,
    failures: [...new Set(failures)].slice(0, 20),
    notes: [
      'model: a power loss keeps synced writes only; checked from strace (fsync/fdatasync covering every write before the 2xx is written); directory syncs of files created at start-up are not checked',
    ],
  };
}

/** `count` operations one at a time, the first an audit event sent as soon as serve listens. */
async function session(
  o: ScenarioOptions,
  ws: Workspace,
  server: Server,
  count: number,
  live: string[],
  failures: string[],
): Promise<Ack[]> {
  const acks: Ack[] = [];
  const started = Date.now();
  for (let i = 0; i < count; i++) {
    const r = i === 0 ? 0.7 : o.random();
    const kind: Kind =
      r < 0.25
        ? 'token.create'
        : r < 0.4 && live.length > 0
          ? 'token.revoke'
          : r < 0.65
            ? 'audit+subject'
            : r < 0.8
              ? 'audit'
              : 'app+subject';
    const tid = `p${Date.now()}-${i}`;
    let a;
    if (kind === 'token.create')
      a = await call(
        server,
        ws,
        'POST',
        '/v1/tokens',
        JSON.stringify({ role: 'ingest', name: tid }),
      );
    else if (kind === 'token.revoke') {
      const id = live.splice(Math.floor(o.random() * live.length), 1)[0]!;
      a = await call(server, ws, 'DELETE', `/v1/tokens/${id}`);
    } else {
      const event: Record<string, unknown> = {
        level: kind.startsWith('audit') ? 'AUDIT' : 'INFO',
        event: 'torture.powerloss',
        msg: tid,
        data: { tid },
      };
      if (kind.endsWith('+subject')) event.actor = { email: `${tid}-${o.random()}@example.org` };
      a = await call(server, ws, 'POST', '/v1/events', JSON.stringify([event]));
    }
    if (a.status === 201 && kind === 'token.create') live.push((a.body as { id: string }).id);
    if (a.status >= 200 && a.status < 300) acks.push({ kind, status: a.status });
    else failures.push(`${kind}: answered ${a.status}`);
  }
  // The detectors save their positions every 5 s while records come in: give them one save.
  while (Date.now() - started < 6_000) {
    await call(server, ws, 'POST', '/v1/events', JSON.stringify([{ event: 'x.y', msg: 'tick' }]));
    acks.push({ kind: 'app', status: 200 });
    await sleep(500);
  }
  return acks;
}

function countBy(xs: string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const x of xs) out[x] = (out[x] ?? 0) + 1;
  return out;
}

interface Replay {
  responses: number;
  syscalls: Record<string, number>;
  unsyncedAtAck: Record<string, number>;
  renames: Record<string, { synced: number; unsynced: number }>;
  beforeCheckpointSync: number;
  failures: string[];
}

/** Which files each acknowledgement needs synced, by its kind. */
const NEEDS: Record<Kind, RegExp | undefined> = {
  'token.create': /\/tokens\.db(-wal)?$/,
  'token.revoke': /\/tokens\.db(-wal)?$/,
  'audit+subject': /\/subjects\.db-wal$/,
  audit: undefined,
  app: undefined,
  'app+subject': undefined, // buffered: acknowledged once sequenced, no promise of the disk
};

function replayTrace(text: string, acks: Ack[], afterFinal: boolean): Replay {
  const written = new Map<string, number>(); // path → writes begun
  const synced = new Map<string, number>(); // path → writes an fsync had covered
  const pending = new Map<string, { path: string; upTo: number }>(); // pid → sync under way
  const out: Replay = {
    responses: 0,
    syscalls: {},
    unsyncedAtAck: {},
    renames: {},
    beforeCheckpointSync: 0,
    failures: [],
  };
  const dirty = (p: string) => (written.get(p) ?? 0) > (synced.get(p) ?? 0);
  const finishSync = (pid: string, ok: boolean) => {
    const s = pending.get(pid);
    pending.delete(pid);
    if (s !== undefined && ok) synced.set(s.path, Math.max(synced.get(s.path) ?? 0, s.upTo));
  };
  for (const line of text.split('\n')) {
    const resumed = /^(\d+)\s+<\.\.\. (\w+) resumed>.*= (-?\d+)/.exec(line);
    if (resumed !== null) {
      if (/sync/.test(resumed[2]!)) finishSync(resumed[1]!, resumed[3] === '0');
      continue;
    }
    const m = /^(\d+)\s+(\w+)\((?:(\d+)<([^>]*)>)?(.*)$/.exec(line);
    if (m === null) continue;
    const [, pid, call, , file, rest] = m as unknown as [
      string,
      string,
      string,
      string,
      string | undefined,
      string,
    ];
    out.syscalls[call] = (out.syscalls[call] ?? 0) + 1;
    if (/^(?:p?writev?\d*|ftruncate)$/.test(call) && file !== undefined) {
      const http = /"HTTP\/1\.1 (\d{3})/.exec(rest);
      if (http !== null) {
        if (!http[1]!.startsWith('2')) continue;
        // An acknowledgement leaves the process: what it promised must be synced by now.
        const ack = acks[out.responses];
        out.responses += 1;
        // Every kind but app writes a durable audit record (token changes are audited). After a
        // clean close, until this session syncs a checkpoint line, the last one on disk is the
        // final one: losing the unsynced rest makes this record look appended after the close.
        if (afterFinal && ack !== undefined && !ack.kind.startsWith('app')) {
          const cp = [...written.keys()].find((p) => p.endsWith('/.integrity/checkpoints.log'));
          if (cp === undefined || (synced.get(cp) ?? 0) === 0) {
            out.beforeCheckpointSync += 1;
            out.failures.push(
              `${ack.kind} acknowledged (answer ${out.responses}) before the session's first checkpoint line was synced: a power loss now leaves the previous final checkpoint last`,
            );
          }
        }
        const need = ack === undefined ? undefined : NEEDS[ack.kind];
        if (need === undefined) continue;
        for (const p of written.keys())
          if (need.test(p) && dirty(p)) {
            const key = `${ack!.kind} ${path.basename(p)}`;
            out.unsyncedAtAck[key] = (out.unsyncedAtAck[key] ?? 0) + 1;
            out.failures.push(
              `${key}: written but not synced when acknowledged (${out.responses})`,
            );
          }
        continue;
      }
      written.set(file, (written.get(file) ?? 0) + 1);
    } else if (/^(?:fsync|fdatasync|sync_file_range)$/.test(call) && file !== undefined) {
      // sync_file_range is no durability promise (no metadata, no device flush): not a sync.
      if (call === 'sync_file_range') continue;
      pending.set(pid, { path: file, upTo: written.get(file) ?? 0 });
      if (!rest.includes('<unfinished')) finishSync(pid, / = 0$/.test(rest));
    } else if (/^rename/.test(call)) {
      const names = [...line.matchAll(/"([^"]+)"/g)].map((x) => x[1]!);
      const [from, to] = [names[0], names[1]];
      if (to !== undefined && from !== undefined) {
        const key = path.basename(to);
        const row = (out.renames[key] ??= { synced: 0, unsynced: 0 });
        if (dirty(from)) row.unsynced += 1;
        else row.synced += 1;
      }
    }
  }
  if (out.responses !== acks.length)
    out.failures.push(
      `the trace shows ${out.responses} 2xx answers, the client got ${acks.length}`,
    );
  return out;
}
