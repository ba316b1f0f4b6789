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
] as const;

export const USAGE = `usage: npm run bench -- [--events N] [--only ${GROUPS.join(',')}]
                       [--batch N] [--burst-batch N] [--writers N] [--index-events N]
                       [--gdpr-events N]
  --events N       events per scenario (default 1000000)
  --only LIST      run only these groups, comma-separated (verify also runs buffered)
  --batch N        events per turn of the event loop, steady load (default 10)
  --burst-batch N  events per turn of the event loop, bursts (default 1000)
  --writers N      concurrent writers in the durable scenario (default 100)
  --index-events N events written, indexed and queried by the index scenario (default 10000000)
  --gdpr-events N  events of the larger log of the GDPR scenario (default 1000000; the other: 10000)`;

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
  let only: Set<string> = new Set(GROUPS);
  for (let i = 0; i < argv.length; i++) {
    const [flag = '', inline] = (argv[i] ?? '').split('=', 2);
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
  return { events, only, batch, burstBatch, writers, indexEvents, gdprEvents };
}
