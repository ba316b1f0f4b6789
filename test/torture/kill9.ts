/**
 * kill -9 of `serve` under concurrent HTTP ingest, at random moments and at the named steps of
 * rotation and sealing (DIHYA_LOGS_FAILPOINT): every acknowledged audit event must be on disk
 * exactly once at the seq it was acknowledged with, and `verify` must pass.
 */
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import {
  call,
  channelRecords,
  cli,
  kill9,
  sleep,
  startServe,
  verify,
  workspace,
  type Outcome,
  type ScenarioOptions,
  type Server,
  type Workspace,
} from './serve.js';

// Small segments (the minimum) so that rotation and sealing happen many times under load.
const CONFIG = `service: { min_free_bytes: 0 }
channels:
  audit: { rotate: { max_bytes: 65536 } }
  app: { rotate: { max_bytes: 65536 } }
`;

/** Steps of rotation and sealing where a failpoint kills the process (src/util/failpoint.ts). */
const FAILPOINTS = [
  'rotate.synced',
  'rotate.cut',
  'rotate.renamed',
  'rotate.created',
  'seal.start',
  'seal.compressed',
  'seal.synced',
  'seal.renamed',
  'seal.signed',
  'seal.unstaged',
];

const CLIENTS = 8;

interface Ack {
  readonly channel: string;
  readonly seq: number;
}

export async function kill9Scenario(o: ScenarioOptions): Promise<Outcome> {
  const cycles = o.short ? 6 : 100;
  const ws = workspace(path.join(o.work, 'kill9'), CONFIG);
  const acked = new Map<string, Ack>(); // tid → where it was acknowledged
  const statuses: Record<string, number> = {};
  let sent = 0;
  let tidNo = 0;
  let failpointKills = 0;
  let failpointKillsAtOpen = 0;
  let randomKills = 0;
  let cliRotations = 0;
  const failures: string[] = [];

  for (let cycle = 0; cycle < cycles; cycle++) {
    // Every third cycle arms a failpoint; the others are killed at a random moment.
    const fp = cycle % 3 === 1 ? FAILPOINTS[Math.floor(o.random() * FAILPOINTS.length)] : undefined;
    const nth = 1 + Math.floor(o.random() * 2);
    let server: Server;
    try {
      server = await startServe(
        ws,
        fp === undefined ? {} : { env: { DIHYA_LOGS_FAILPOINT: `${fp}:${nth}` } },
      );
    } catch (err) {
      // The open finishes a rotation or seals what a kill left in staging: a failpoint there
      // kills the process before it listens. That is a kill too.
      if (fp === undefined || !String(err).includes('(SIGKILL)')) throw err;
      failpointKills += 1;
      failpointKillsAtOpen += 1;
      o.log(`  kill9 cycle ${cycle + 1}/${cycles}: ${fp} (failpoint hit while opening)`);
      continue;
    }
    let stop = false;
    const clients = Array.from({ length: CLIENTS }, async (_, c) => {
      while (!stop) {
        const n = 1 + Math.floor(o.random() * 12);
        const batch = Array.from({ length: n }, () => {
          const tid = `t${(tidNo++).toString(36)}`;
          const audit = o.random() < 0.5;
          return {
            level: audit ? 'AUDIT' : 'INFO',
            event: audit ? 'torture.audit' : 'torture.app',
            msg: `${tid} ${'x'.repeat(Math.floor(o.random() * 200))}`,
            data: { tid },
          };
        });
        sent += n;
        const a = await call(server, ws, 'POST', '/v1/events', JSON.stringify(batch));
        statuses[a.status] = (statuses[a.status] ?? 0) + 1;
        if (a.status === 200) {
          const events = (a.body as { events: Ack[] }).events;
          batch.forEach((e, i) => {
            const ack = events[i];
            if (ack !== undefined) acked.set(e.data.tid, { channel: ack.channel, seq: ack.seq });
          });
        } else if (a.status === 0) await sleep(20 + c); // the server is gone: stop asking
      }
    });
    // A failpoint kills at its step (given a few seconds of load); otherwise a random moment.
    const deadline = fp === undefined ? 300 + o.random() * 2500 : 6000;
    const died = await Promise.race([
      server.exited.then(() => true),
      sleep(deadline).then(() => false),
    ]);
    if (died) failpointKills += 1;
    else {
      await kill9(server);
      randomKills += 1;
    }
    stop = true;
    await Promise.all(clients);
    const { signal } = await server.exited;
    if (signal !== 'SIGKILL')
      failures.push(
        `cycle ${cycle}: serve ended with ${String(signal)}: ${server.output().slice(-500)}`,
      );
    // Some cycles rotate with the CLI between runs (the open recovers whatever the kill left first).
    if (cycle % 5 === 4) {
      const r = cli(ws, ['rotate']);
      if (r.code === 0) cliRotations += 1;
      else
        failures.push(`cycle ${cycle}: rotate exited ${String(r.code)}: ${r.stderr.slice(0, 300)}`);
    }
    if (!o.short && cycle % 10 === 9) checkAll(ws, acked, failures, `cycle ${cycle}`);
    o.log(
      `  kill9 cycle ${cycle + 1}/${cycles}: ${fp ?? 'random'}${died ? ' (failpoint hit)' : ''}, acked ${acked.size}`,
    );
  }
  // A clean start and stop recovers the last kill's leftovers; then everything is checked.
  const last: Server = await startServe(ws);
  await sleep(500);
  last.proc.kill('SIGTERM');
  await last.exited;
  const check = checkAll(ws, acked, failures, 'end');
  const v = verify(ws);
  if (!v.ok) failures.push(`verify: ${v.summary}`);
  return {
    figures: {
      cycles,
      kills: {
        random: randomKills,
        failpoint: failpointKills,
        failpointWhileOpening: failpointKillsAtOpen,
      },
      cliRotations,
      eventsSent: sent,
      acknowledged: acked.size,
      acknowledgedAudit: check.auditAcked,
      ...check.counts,
      segments: check.segments,
      statuses,
      verify: v.summary,
    },
    failures,
  };
}

function checkAll(
  ws: Workspace,
  acked: Map<string, Ack>,
  failures: string[],
  when: string,
): {
  auditAcked: number;
  counts: Record<string, number>;
  segments: number;
} {
  const counts = { lost: 0, duplicated: 0, wrongSeq: 0, seqConflicts: 0, appFound: 0, appLost: 0 };
  const found = new Map<string, number[]>(); // tid → seqs it is stored at, per channel
  let segments = 0;
  for (const channel of ['audit', 'app']) {
    const { bySeq, conflicts } = channelRecords(ws.dir, channel);
    counts.seqConflicts += conflicts.length;
    for (const r of bySeq.values()) {
      const tid = (r.data as { tid?: unknown } | undefined)?.tid;
      if (typeof tid !== 'string') continue;
      found.set(`${channel}:${tid}`, [...(found.get(`${channel}:${tid}`) ?? []), r.seq]);
    }
  }
  const archive = path.join(ws.dir, 'archive');
  if (existsSync(archive))
    segments = readdirSync(archive, { recursive: true }).filter((f) =>
      String(f).endsWith('.log.gz'),
    ).length;
  let auditAcked = 0;
  for (const [tid, ack] of acked) {
    const seqs = found.get(`${ack.channel}:${tid}`) ?? [];
    if (ack.channel === 'audit') {
      auditAcked += 1;
      if (seqs.length === 0) counts.lost += 1;
      else if (seqs[0] !== ack.seq) counts.wrongSeq += 1;
    } else if (seqs.length === 0) counts.appLost += 1;
    else {
      counts.appFound += 1;
      if (seqs[0] !== ack.seq) counts.wrongSeq += 1;
    }
  }
  for (const seqs of found.values()) if (seqs.length > 1) counts.duplicated += 1;
  for (const [k, v] of Object.entries(counts))
    if (v > 0 && k !== 'appFound' && k !== 'appLost') failures.push(`${when}: ${k} ${v}`);
  return { auditAcked, counts, segments };
}
