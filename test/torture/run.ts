/**
 * `npm run torture [-- --short] [-- --only NAME[,NAME]] [-- --seed N]`: the torture scenarios
 * (test/torture/README.md). Each prints its figures and a PASS or FAIL line; the exit status
 * is 1 when any scenario failed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { diskScenario } from './disk.js';
import { fuzzScenario } from './fuzz.js';
import { kill9Scenario } from './kill9.js';
import { pgkill9Scenario } from './pgkill9.js';
import { powerlossScenario } from './powerloss.js';
import { redactionScenario } from './redaction.js';
import type { Outcome, ScenarioOptions } from './serve.js';

const SCENARIOS: Record<string, (o: ScenarioOptions) => Promise<Outcome>> = {
  kill9: kill9Scenario,
  pgkill9: pgkill9Scenario,
  disk: diskScenario,
  powerloss: powerlossScenario,
  fuzz: fuzzScenario,
  redaction: redactionScenario,
};

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(name);
  return i === -1 ? undefined : process.argv[i + 1];
}

/** mulberry32: small, seeded, good enough to choose moments and sizes. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const short = process.argv.includes('--short');
const only = arg('--only')?.split(',');
const seed = Number(arg('--seed') ?? Date.now() % 1_000_000);
const names = only ?? Object.keys(SCENARIOS);
for (const n of names)
  if (!(n in SCENARIOS)) {
    process.stderr.write(`unknown scenario ${n}; known: ${Object.keys(SCENARIOS).join(', ')}\n`);
    process.exit(2);
  }

const log = (line: string) => process.stdout.write(`${line}\n`);
log(`torture: ${short ? 'short' : 'full'} run, seed ${seed}, scenarios ${names.join(', ')}`);
const results: Array<[string, boolean, number]> = [];
for (const name of names) {
  const work = mkdtempSync(path.join(tmpdir(), `dihya-torture-${name}-`));
  const started = Date.now();
  log(`\n== ${name}`);
  let outcome: Outcome;
  try {
    outcome = await SCENARIOS[name]!({ short, work, random: seeded(seed), log });
  } catch (err) {
    outcome = {
      figures: {},
      failures: [`threw: ${err instanceof Error ? err.stack : String(err)}`],
    };
  }
  const seconds = Math.round((Date.now() - started) / 100) / 10;
  for (const [k, v] of Object.entries(outcome.figures))
    log(`  ${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`);
  for (const n of outcome.notes ?? []) log(`  ${n}`);
  log(`  seconds: ${seconds}`);
  const ok = outcome.failures.length === 0;
  log(ok ? `PASS ${name}` : `FAIL ${name}: ${outcome.failures.slice(0, 10).join('; ')}`);
  results.push([name, ok, seconds]);
  if (ok) rmSync(work, { recursive: true, force: true });
  else log(`  (files kept in ${work})`);
}
log('\n== summary');
for (const [name, ok, s] of results) log(`${ok ? 'PASS' : 'FAIL'} ${name} (${s} s)`);
process.exit(results.every(([, ok]) => ok) ? 0 : 1);
