import { DEFAULT_PG_URL } from './pg-util.js';

/** Command line of `npm run bench -- [options]`. */
export interface BenchArgs {
  readonly events: number;
  /** Groups to run: buffered, burst, durable, verify, ... (GROUPS). */
  readonly only: ReadonlySet<string>;
  /** Events per turn of the event loop: steady load, and bursts. */
  readonly batch: number;
  readonly burstBatch: number;
  /** Concurrent `await logs.audit()` loops in the durable scenario. */
  readonly writers: number;
  /** Events written and indexed by the index scenario. */
  readonly indexEvents: number;
  /** Events of the larger log of the GDPR scenario. */
  readonly gdprEvents: number;
  /** The postgres group: the server, events per ingest run, rows under the query. */
  readonly pgUrl: string;
  readonly pgEvents: number;
  readonly pgRows: number;
}

export const GROUPS = [
  'buffered',
  'burst',
  'durable',
  'verify',
  'pipeline',
  'seal',
  'index',
  'gdpr',
  'service',
  'witness',
  'postgres',
] as const;

export const USAGE = `usage: npm run bench -- [--events N] [--only ${GROUPS.join(',')}]
                       [--batch N] [--burst-batch N] [--writers N] [--index-events N]
                       [--gdpr-events N] [--pg-url URL] [--pg-events N] [--pg-rows N]
  --events N       events per scenario (default 1000000)
  --only LIST      run only these groups, comma-separated (verify also runs buffered)
  --batch N        events per turn of the event loop, steady load (default 10)
  --burst-batch N  events per turn of the event loop, bursts (default 1000)
  --writers N      concurrent writers in the durable scenario (default 100)
  --index-events N events written, indexed and queried by the index scenario (default 10000000)
  --gdpr-events N  events of the larger log of the GDPR scenario (default 1000000; the other: 10000)
  --pg-url URL     the PostgreSQL database of the postgres group (default $DIHYA_LOGS_TEST_DATABASE_URL,
                   else ${DEFAULT_PG_URL}); fresh schemas bench_*, dropped at the end
  --pg-events N    events per PostgreSQL ingest run, over all instances (default 200000)
  --pg-rows N      rows loaded into dl_records for the PostgreSQL query (default 10000000, ~11 GB)`;

function positiveInt(name: string, text: string | undefined): number {
  const n = Number(text);
  if (text === undefined || !Number.isSafeInteger(n) || n < 1)
    throw new Error(`${name}: expected a positive integer, got ${JSON.stringify(text ?? '')}`);
  return n;
}

/** Parse argv (without node and the script). Throws with a message for anything unknown. */
export function parseArgs(argv: readonly string[]): BenchArgs | 'help' {
  let events = 1_000_000;
  let batch = 10;
  let burstBatch = 1000;
  let writers = 100;
  let indexEvents = 10_000_000;
  let gdprEvents = 1_000_000;
  let pgUrl = DEFAULT_PG_URL;
  let pgEvents = 200_000;
  let pgRows = 10_000_000;
  let only: Set<string> = new Set(GROUPS);
  for (let i = 0; i < argv.length; i++) {
    // --flag=value splits at the first '=' only: a URL's query string has more.
    const arg = argv[i] ?? '';
    const eq = arg.indexOf('=');
    const flag = eq < 0 ? arg : arg.slice(0, eq);
    const inline = eq < 0 ? undefined : arg.slice(eq + 1);
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--events':
        events = positiveInt(flag, value());
        break;
      case '--batch':
        batch = positiveInt(flag, value());
        break;
      case '--burst-batch':
        burstBatch = positiveInt(flag, value());
        break;
      case '--writers':
        writers = positiveInt(flag, value());
        break;
      case '--index-events':
        indexEvents = positiveInt(flag, value());
        break;
      case '--gdpr-events':
        gdprEvents = positiveInt(flag, value());
        break;
      case '--pg-url':
        pgUrl = value() ?? '';
        if (!/^postgres(?:ql)?:\/\//.test(pgUrl))
          throw new Error(`--pg-url: expected postgres://..., got ${JSON.stringify(pgUrl)}`);
        break;
      case '--pg-events':
        pgEvents = positiveInt(flag, value());
        break;
      case '--pg-rows':
        pgRows = positiveInt(flag, value());
        break;
      case '--only': {
        only = new Set((value() ?? '').split(',').filter((g) => g !== ''));
        const unknown = [...only].filter((g) => !(GROUPS as readonly string[]).includes(g));
        if (only.size === 0 || unknown.length > 0)
          throw new Error(`--only: expected some of ${GROUPS.join(',')}`);
        break;
      }
      case '-h':
      case '--help':
        return 'help';
      default:
        throw new Error(`unknown option ${JSON.stringify(argv[i])}`);
    }
  }
  return {
    events,
    only,
    batch,
    burstBatch,
    writers,
    indexEvents,
    gdprEvents,
    pgUrl,
    pgEvents,
    pgRows,
  };
}
