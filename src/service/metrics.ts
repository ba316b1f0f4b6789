import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { LogCore } from '../log/core.js';

/**
 * Prometheus metrics of one service instance (its own registry: several apps in one process,
 * as in tests, do not share counters). Route labels are templates, never raw URLs.
 */
export class Metrics {
  readonly registry = new Registry();
  private readonly ingestedTotal: Counter;
  private readonly requests: Counter;
  private readonly duration: Histogram;

  constructor(logs: LogCore) {
    collectDefaultMetrics({ register: this.registry, prefix: 'dihya_logs_' });
    this.ingestedTotal = new Counter({
      name: 'dihya_logs_events_ingested_total',
      help: 'Events stored through the service, per channel',
      labelNames: ['channel'],
      registers: [this.registry],
    });
    this.requests = new Counter({
      name: 'dihya_logs_http_requests_total',
      help: 'HTTP requests answered, per route template, method and status',
      labelNames: ['route', 'method', 'status'],
      registers: [this.registry],
    });
    this.duration = new Histogram({
      name: 'dihya_logs_http_request_duration_seconds',
      help: 'Time to answer, per route template',
      labelNames: ['route'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
      registers: [this.registry],
    });
    // Counters of the writer since the logs were opened, read when scraped.
    const stat = (name: string, help: string, key: 'records' | 'bytes' | 'writes' | 'syncs') =>
      new Gauge({
        name,
        help,
        labelNames: ['channel'],
        registers: [this.registry],
        collect() {
          for (const [channel, s] of Object.entries(logs.stats())) this.set({ channel }, s[key]);
        },
      });
    stat(
      'dihya_logs_channel_records',
      'Records written per channel since the service started',
      'records',
    );
    stat(
      'dihya_logs_channel_bytes',
      'Bytes written per channel since the service started',
      'bytes',
    );
    stat(
      'dihya_logs_channel_writes',
      'Write calls per channel since the service started',
      'writes',
    );
    stat(
      'dihya_logs_channel_syncs',
      'fdatasync calls per channel since the service started',
      'syncs',
    );
  }

  ingested(channel: string): void {
    this.ingestedTotal.inc({ channel });
  }

  answered(route: string, method: string, status: number, seconds: number): void {
    this.requests.inc({ route, method, status: String(status) });
    this.duration.observe({ route }, seconds);
  }
}
