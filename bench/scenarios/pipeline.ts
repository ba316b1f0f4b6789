import { randomBytes } from 'node:crypto';
import { statSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { initLogs, openLogs } from '../../src/index.js';
import { feed } from '../feed.js';
import { PINO_REDACT_PATHS, mixPool } from '../mix.js';
import type { Measured, WorkerTask } from '../result.js';

/**
 * The full pipeline on a realistic mix (bench/mix.ts): classification (secrets removed, personal
 * data encrypted per person under keys from the keystore), chain, checkpoints, all through the
 * loggers, every channel buffered like pino's file.
 */
export async function libPipeline(task: WorkerTask): Promise<Measured> {
  const dir = path.join(task.dir, 'logs');
  const masterKey = randomBytes(32);
  initLogs({ dir, masterKey });
  let errors = 0;
  // Every channel buffered, as pino is: this measures classification, chain and encryption;
  // durable writes have their own scenario.
  const buffered = { durability: 'buffered' };
  const logs = await openLogs({
    dir,
    masterKey,
    handleExit: false,
    onError: () => {
      errors++;
    },
    settings: { channels: { audit: buffered, security: buffered } },
  });
  const loggers = {
    api: logs.api,
    app: logs.app,
    audit: logs.logger('audit'),
    security: logs.logger('security'),
  };
  const pool = mixPool();
  const started = performance.now();
  await feed(task.events, task.batch, (i) => {
    const c = pool[i % pool.length]!;
    loggers[c.channel][c.level](c.fields, c.msg);
  });
  const produced = performance.now();
  await logs.close();
  const ms = performance.now() - started;
  const bytes = ['api', 'app', 'audit', 'security'].reduce(
    (n, c) => n + statSync(path.join(dir, `${c}.log`)).size,
    0,
  );
  return { events: task.events, ms, produceMs: produced - started, bytes, extra: { errors } };
}

/** pino async to a file, with `redact` on three paths, fed the same calls. */
export async function pinoRedact(task: WorkerTask): Promise<Measured> {
  const file = path.join(task.dir, 'pino.log');
  const dest = pino.destination({ dest: file, sync: false });
  await new Promise<void>((resolve, reject) => {
    dest.once('ready', resolve);
    dest.once('error', reject);
  });
  const logger = pino({ redact: PINO_REDACT_PATHS }, dest);
  const pool = mixPool();
  const started = performance.now();
  await feed(task.events, task.batch, (i) => {
    const c = pool[i % pool.length]!;
    logger[c.level === 'info' ? 'info' : 'warn'](c.fields, c.msg);
  });
  const produced = performance.now();
  await new Promise<void>((resolve, reject) => {
    dest.once('close', resolve);
    dest.once('error', reject);
    dest.flush();
    dest.end();
  });
  const ms = performance.now() - started;
  return { events: task.events, ms, produceMs: produced - started, bytes: statSync(file).size };
}
