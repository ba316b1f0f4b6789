import type { Check, Results } from './report.js';
import type { ScenarioResult } from './result.js';
import { fixed, int } from './table.js';

/** What report.ts needs to know of the service scenario's results. */
export interface ServiceChecks {
  readonly ingest: Check;
  readonly p99: Check;
}

function ok(results: Results, id: string): ScenarioResult | undefined {
  const r = results.get(id);
  return r instanceof Error ? undefined : r;
}

function num(r: ScenarioResult | undefined, key: string): number | undefined {
  const v = r?.extra?.[key];
  return typeof v === 'number' ? v : undefined;
}

const ms = (v: number | undefined): string => (v === undefined ? '-' : `${fixed(v, 2)} ms`);

/** The p99 of a single app event, dihya-logs ÷ peer (lower is better). */
export function p99Ratio(results: Results): number | undefined {
  const a = num(ok(results, 'service-lib'), 'appP99');
  const b = num(ok(results, 'service-peer'), 'appP99');
  return a === undefined || b === undefined || b === 0 ? undefined : a / b;
}

/** The `9 service` rows of the table: batched events/s, then single-event latency. */
export function serviceRows(results: Results, c: ServiceChecks): string[][] {
  const rows: string[][] = [];
  const lib = results.get('service-lib');
  const peer = results.get('service-peer');
  if (lib === undefined && peer === undefined) return rows;
  const batched = (r: ScenarioResult | Error | undefined, label: string, check?: Check): void => {
    const tail = check === undefined ? ['', ''] : [check.target, check.mark];
    if (r === undefined) return;
    if (r instanceof Error) {
      rows.push([`9 service: ${label}`, 'FAILED', '', '', '', ...tail]);
      return;
    }
    const conns = int(num(r, 'connections') ?? 0);
    const rss = num(r, 'serverPeakRssMB');
    rows.push([
      `9 service: ${label} (1,000 events/request, ${conns} conns)`,
      int(r.eventsPerSec),
      rss === undefined ? '' : `${fixed(rss, 1)} MB`,
      int(num(r, 'bytesPerRecord') ?? 0),
      `${fixed(r.ms / 1000, 2)} s`,
      ...tail,
    ]);
  };
  batched(lib, 'dihya-logs POST /v1/events', c.ingest);
  batched(peer, 'fastify + pino POST /events');
  const a = ok(results, 'service-lib');
  const b = ok(results, 'service-peer');
  if (a !== undefined && b !== undefined)
    rows.push([
      '9 service: ratio dihya-logs / peer',
      `${fixed(a.eventsPerSec / b.eventsPerSec, 2)}x`,
      '',
      '',
      '',
      '',
      '',
    ]);
  const latency = (r: ScenarioResult | undefined, label: string, check?: Check): void => {
    if (r === undefined) return;
    rows.push([
      `9 service: ${label}, 1 event/request at 1,000/s`,
      '',
      '',
      '',
      `p50 ${ms(num(r, 'appP50'))}, p99 ${ms(num(r, 'appP99'))}`,
      check?.target ?? '',
      check?.mark ?? '',
    ]);
  };
  if (lib instanceof Error)
    rows.push([
      '9 service: dihya-logs, 1 app event/request',
      '',
      '',
      '',
      'FAILED',
      'p99 < 10 ms',
      'MISS',
    ]);
  latency(a, 'dihya-logs app', c.p99);
  latency(b, 'fastify + pino');
  const ratio = p99Ratio(results);
  if (ratio !== undefined)
    rows.push([
      '9 service: p99 ratio dihya-logs / peer',
      '',
      '',
      '',
      `${fixed(ratio, 2)}x`,
      '',
      '',
    ]);
  return rows;
}

/** Notes under the table: how the service was loaded, CPU, fsyncs, the audit latency. */
export function serviceNotes(results: Results): string[] {
  const out: string[] = [];
  const lib = ok(results, 'service-lib');
  const peer = ok(results, 'service-peer');
  if (lib === undefined && peer === undefined) return out;
  const cpu = (r: ScenarioResult): string => {
    const server = num(r, 'serverCpu');
    const other = num(r, 'otherCpu');
    return (
      (server === undefined ? '' : `server ${int(server)}%, `) +
      `autocannon ${int(num(r, 'clientCpu') ?? 0)}%` +
      (other === undefined ? '' : `, other processes ${int(other)}%`)
    );
  };
  out.push(
    '9 service: each server in a child process of its own, autocannon in the bench worker (one',
    '  client, no worker threads); a fresh server for each run, 1 s of the same load before each',
    '  timed 10 s. Batched: 1 in 10 events AUDIT, so each request waits for an fdatasync.',
  );
  if (lib !== undefined)
    out.push(
      `  dihya-logs batched: request p50 ${ms(num(lib, 'batchP50'))}, p99 ${ms(num(lib, 'batchP99'))}; ` +
        `${int(num(lib, 'syncs') ?? 0)} fdatasync calls for ${int(num(lib, 'serverRecords') ?? 0)} ` +
        `records (${fixed(num(lib, 'recordsPerSync') ?? 0, 1)} per sync); CPU, % of one core: ${cpu(lib)}`,
      `  dihya-logs, 1 audit event/request at 1,000/s (durable: answered after fdatasync): ` +
        `p50 ${ms(num(lib, 'auditP50'))}, p99 ${ms(num(lib, 'auditP99'))} (no target)`,
    );
  if (peer !== undefined)
    out.push(
      `  fastify + pino batched: request p50 ${ms(num(peer, 'batchP50'))}, p99 ${ms(num(peer, 'batchP99'))}; ` +
        `CPU, % of one core: ${cpu(peer)}`,
      '  (no fsync until close, and no backpressure: what the disk has not taken yet waits in',
      "  pino's buffer, hence its peak RSS)",
    );
  out.push(
    '  Latency: 10 connections, autocannon overallRate 1,000: each connection sends its 100',
    '  requests of a second back to back, then waits for the next second. Times are those of each',
    "  answer, from autocannon's response event (its own histogram keeps whole ms). Peak RSS and",
    "  B/event: the server's (batched run); B/event = bytes written ÷ records.",
  );
  return out;
}

/** The `10 witness` rows: batched ingest with two witnesses and without, and their ratio. */
export function witnessRows(results: Results): string[][] {
  if (!results.has('witness')) return [];
  const r = ok(results, 'witness');
  if (r === undefined) return [['10 witness', 'FAILED', '', '', '', '', '']];
  const none = num(r, 'noWitnessRate');
  const two = num(r, 'twoWitnessRate');
  const ratio = num(r, 'ratio');
  return [
    ['10 witness: service, no witness', none === undefined ? '-' : int(none), '', '', '', '', ''],
    ['10 witness: service, two witnesses', two === undefined ? '-' : int(two), '', '', '', '', ''],
    [
      '10 witness: ratio two / none',
      ratio === undefined ? '-' : `${fixed(ratio, 2)}x`,
      '',
      '',
      '',
      '>= 0.95x',
      ratio === undefined ? '' : ratio >= 0.95 ? 'PASS' : 'MISS',
    ],
  ];
}
