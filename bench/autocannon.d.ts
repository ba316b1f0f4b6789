// autocannon 9 ships no TypeScript types (and there is no @types/autocannon here): the parts
// the service scenario uses, as lib/run.js, lib/aggregateResult.js and lib/httpClient.js have them.
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events';

  namespace autocannon {
    /** One request of the cycle each connection goes through. */
    interface Request {
      readonly method?: string;
      readonly path?: string;
      readonly headers?: Readonly<Record<string, string>>;
      readonly body?: string | Buffer;
    }

    interface Options {
      readonly url: string;
      /** Concurrent connections (default 10). */
      readonly connections?: number;
      /** Seconds (default 10). */
      readonly duration?: number;
      /** Requests in flight per connection (default 1). */
      readonly pipelining?: number;
      /**
       * Requests per second over all connections. Each connection gets its share per second and
       * sends it as fast as answers come back, then waits for the next second.
       */
      readonly overallRate?: number;
      /** Seconds before a request counts as timed out (default 10). */
      readonly timeout?: number;
      readonly method?: string;
      readonly headers?: Readonly<Record<string, string>>;
      readonly body?: string | Buffer;
      /** Sent in turn by each connection, then again from the first. */
      readonly requests?: readonly Request[];
    }

    /** hdr-histogram-percentiles-obj's summary (some of it). */
    interface Histogram {
      readonly average: number;
      readonly mean: number;
      readonly stddev: number;
      readonly min: number;
      readonly max: number;
      readonly total: number;
      readonly p50: number;
      readonly p99: number;
    }

    interface Result {
      /** Seconds, to the hundredth. */
      readonly duration: number;
      readonly errors: number;
      readonly timeouts: number;
      readonly non2xx: number;
      readonly resets: number;
      readonly '2xx': number;
      readonly statusCodeStats: Readonly<Record<string, { readonly count: number }>>;
      /** Milliseconds, recorded as whole numbers (a histogram with a resolution of 1 ms). */
      readonly latency: Histogram;
      readonly requests: Histogram & { readonly sent: number };
      readonly throughput: Histogram;
    }

    interface Instance extends EventEmitter {
      /** Each answer: status code, bytes and the response time in ms (fractional). */
      on(
        event: 'response',
        listener: (client: unknown, statusCode: number, bytes: number, ms: number) => void,
      ): this;
      stop(): void;
    }
  }

  function autocannon(
    options: autocannon.Options,
    done: (err: Error | null, result: autocannon.Result) => void,
  ): autocannon.Instance;

  export = autocannon;
}
