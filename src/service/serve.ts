import { LogsError, asLogsError } from '../errors.js';
import type { Config, JobName } from '../config/resolve.js';
import { JOB_NAMES } from '../config/resolve.js';
import { builtinJobs } from '../lifecycle/jobs.js';
import type { LogCore } from '../log/core.js';
import { Scheduler, type JobFn, type JobSpec } from '../scheduler/scheduler.js';
import { LogLayout } from '../store/file/index.js';
import { buildApp, type ServiceApp } from './app.js';
import type { ServiceContext } from './context.js';
import { TOKEN_DEFAULT_DAYS, TokenStore, defaultExpiry, type TokenBook } from '../access/tokens.js';
import { DetectionEngine } from '../detect/engine.js';
import { startWitnessing, type Witnessing } from './witnessing.js';

export interface ServeOptions {
  readonly logs: LogCore;
  readonly masterKey: Buffer;
  readonly config: Config;
  readonly host?: string;
  readonly port?: number;
  /** Run the built-in jobs (rotation, archiving, retention, checkpoints, verify, erasure). */
  readonly scheduler?: boolean;
  /** Run the detectors on the live stream (default: `detectors.enabled` in the configuration). */
  readonly detect?: boolean;
  /** Verify the logs once at start, when the verify job is enabled (default true). */
  readonly verifyAtStart?: boolean;
  /** Lines for the operator (the first admin token, where it listens). */
  readonly say: (line: string) => void;
}

export interface RunningService {
  readonly app: ServiceApp;
  /** The detectors, when they run. */
  readonly detection: DetectionEngine | undefined;
  /** The witness client, when witnesses are configured. */
  readonly witnessing: Witnessing | undefined;
  /** Where it listens: `http://host:port`. */
  readonly url: string;
  /** Stop accepting, finish the requests under way, end the streams, stop the jobs. */
  stop(): Promise<void>;
}

/**
 * Start the service: the token store (an admin token made and shown once when there is none),
 * the app, the scheduler's jobs in this process (it owns the logs directory), and the listener.
 */
export async function startService(options: ServeOptions): Promise<RunningService> {
  const { logs, config } = options;
  // A database store keeps the tokens itself (every instance sees the same); the file store
  // keeps them in its logs directory.
  const tokens: TokenBook = logs.tokens ?? TokenStore.open(new LogLayout(logs.dir).keysDir);
  const closeTokens = async (): Promise<void> => {
    if (tokens !== logs.tokens) await tokens.close();
  };
  let app: ServiceApp | undefined;
  let scheduler: Scheduler | undefined;
  let detection: DetectionEngine | undefined;
  let witnessing: Witnessing | undefined;
  try {
    await ensureAdminToken(tokens, logs, options.say);
    app = await buildApp({ logs, tokens, masterKey: options.masterKey });
    const service = app.service;
    if (options.detect ?? config.detectors.enabled) {
      const engine = new DetectionEngine({
        logs,
        masterKey: options.masterKey,
        writeProblem: () => service.health.problem(),
        onError: (err) => logs.reportError(err),
      });
      detection = engine;
      options.say(`dihya-logs serve: detectors on; ${describeAlerts(config)}`);
      alertOnDamage(service, engine);
    }
    if (options.scheduler !== false) {
      scheduler = schedulerFor(logs, config, (by) => verifyJob(service, by));
      scheduler.start();
      // A verification at every start, off the service's thread: damage done while it was
      // stopped (an edited archive, a rolled-back directory a witness saw ahead) is a failed
      // job and, with the detectors on, a tampering alert, before the nightly run.
      if (config.scheduler.jobs.verify.enabled && options.verifyAtStart !== false) {
        const s = scheduler;
        void s.runNow('verify').catch((err: unknown) => logs.reportError(asLogsError(err)));
      }
    }
    witnessing =
      config.integrity.witnesses.length === 0
        ? undefined
        : startWitnessing(logs, app.service.reads.index('witnessing'));
    if (witnessing !== undefined)
      options.say(
        `dihya-logs serve: checkpoints go to ${config.integrity.witnesses.length} witness(es) (quorum ${config.integrity.witnessQuorum})`,
      );
    const address = await app.listen({
      host: options.host ?? config.service.host,
      port: options.port ?? config.service.port,
    });
    options.say(`dihya-logs serve: listening on ${address} (logs in ${logs.dir})`);
    const running = app;
    const detecting = detection;
    const witnessClient = witnessing;
    return {
      app: running,
      detection: detecting,
      url: address,
      witnessing: witnessClient,
      stop: async () => {
        await witnessClient?.close();
        await scheduler?.stop();
        await detecting?.close();
        await running.close();
        await closeTokens();
      },
    };
  } catch (err) {
    await witnessing?.close();
    await detection?.close();
    await scheduler?.stop();
    await app?.close();
    await closeTokens();
    throw err;
  }
}

/**
 * At a start with no usable admin token (none yet, or all revoked or expired), make one and
 * show it once. It expires in TOKEN_DEFAULT_DAYS: a bootstrap secret pasted into a terminal
 * should not stay valid for ever (doctor warns about tokens that do).
 */
async function ensureAdminToken(
  tokens: TokenBook,
  logs: LogCore,
  say: (line: string) => void,
): Promise<void> {
  const made = await tokens.createFirst('admin', 'first admin', defaultExpiry());
  if (made === undefined) return;
  const { id, expires } = made.info;
  await logs.audit({
    event: 'token.created',
    outcome: 'success',
    msg: `token ${id} created at first start (no admin token existed)`,
    actor: 'dihya-logs',
    data: { token_id: id, name: made.info.name, role: 'admin', expires: expires ?? null },
  });
  say('No admin token existed: one was created. It is shown once; keep it safe:');
  say(`  ${made.token}`);
  say(
    `It expires at ${expires ?? '?'} (in ${TOKEN_DEFAULT_DAYS} days). Before then, with the service stopped: dihya-logs token rotate ${id} (or make another admin token on the admin page, then revoke this one)`,
  );
  say('Create others with the admin page or: dihya-logs token create --role ROLE --name NAME');
}

/** Every verification of the service that finds damage is a tampering alert (its first damage). */
function alertOnDamage(service: ServiceContext, engine: DetectionEngine): void {
  service.verification.onResult((r) => {
    const first = r.damage[0];
    if (!r.ok)
      engine.verificationFailed({
        count: r.damage.length,
        ...(first === undefined
          ? {}
          : {
              kind: first.kind,
              ...(first.channel === undefined ? {} : { channel: first.channel }),
              ...(first.file === undefined ? {} : { file: first.file }),
              ...(first.line === undefined ? {} : { line: first.line }),
            }),
      });
  });
}

/** The verify job: the service's verification (its page shows the result); damage fails the job. */
async function verifyJob(service: ServiceContext, by: string): Promise<Record<string, number>> {
  const r = await service.verification.run(by);
  if (!r.ok)
    throw new LogsError(
      'INTEGRITY_STATE',
      `verify found ${r.damage.length} damage(s): ${r.damage[0]?.kind ?? 'unknown'}; see GET /v1/integrity`,
    );
  return { records: r.records };
}

/** The built-in jobs, with verification run by the service (so its page shows the result). */
function schedulerFor(
  logs: LogCore,
  config: Config,
  verify: (by: string) => Promise<Record<string, number>>,
): Scheduler {
  const impl: Record<JobName, JobFn> = {
    ...builtinJobs(logs, config),
    verify: () => verify('scheduler'),
  };
  const jobs: JobSpec[] = [];
  for (const name of JOB_NAMES) {
    const { cron, enabled } = config.scheduler.jobs[name];
    if (enabled) jobs.push({ name, cron, run: impl[name] });
  }
  return new Scheduler({
    jobs,
    retry: config.scheduler.retry,
    onEvent: async (e) => {
      await logs.write(e, { wait: 'durable' });
    },
    onError: (err) => logs.reportError(err),
  });
}

/** Where alerts go, for the operator: never the webhook's path, query or secret. */
function describeAlerts(config: Config): string {
  const to = ['the security channel'];
  const webhook = config.alerts.webhook;
  if (webhook !== undefined) to.push(`the webhook at ${new URL(webhook.url).host}`);
  const command = config.alerts.command;
  if (command !== undefined) to.push(`the command ${command.argv[0] ?? ''}`);
  return `alerts go to ${to.join(', ')}`;
}
