import type { Ack } from '../store/store.js';
import { EVENT_CATALOGUE, type KnownEventType } from '../event/catalogue.js';
import type { EventInput, Outcome } from '../event/record.js';

type Party = string | Record<string, unknown>;

/** Fields every typed helper accepts. */
export interface CommonFields {
  readonly msg?: string;
  readonly request_id?: string;
  readonly data?: Record<string, unknown>;
}

/** The typed helpers of `logs.events`: one per event of the catalogue. Each resolves with the
 * record's channel, seq and hash once it is stored as its channel promises (after fsync for
 * audit and security). */
export interface EventHelpers {
  loginSuccess(e: CommonFields & { actor: Party; method?: string }): Promise<Ack>;
  loginFailure(e: CommonFields & { actor: Party; reason?: string }): Promise<Ack>;
  logout(e: CommonFields & { actor: Party }): Promise<Ack>;
  projectGenerated(
    e: CommonFields & { actor: Party; project: string; template?: string; outcome?: Outcome },
  ): Promise<Ack>;
  templateImported(
    e: CommonFields & { actor: Party; template: string; outcome?: Outcome },
  ): Promise<Ack>;
  templateExported(
    e: CommonFields & { actor: Party; template: string; outcome?: Outcome },
  ): Promise<Ack>;
  sensitiveDataChanged(
    e: CommonFields & { actor: Party; target: Party; fields?: string[] },
  ): Promise<Ack>;
  sensitiveDataDeleted(e: CommonFields & { actor: Party; target: Party }): Promise<Ack>;
  jobRun(
    e: CommonFields & {
      job: string;
      outcome: Outcome;
      exitCode?: number;
      signal?: string;
      durationMs?: number;
    },
  ): Promise<Ack>;
  accessDenied(
    e: CommonFields & { actor: Party; target?: Party; permission?: string },
  ): Promise<Ack>;
  attackDetected(e: CommonFields & { kind: string; actor?: Party; target?: Party }): Promise<Ack>;
}

/** Build the helpers over a `write` that validates and stores one event. */
export function eventHelpers(write: (e: EventInput) => Promise<Ack>): EventHelpers {
  const send = (
    type: KnownEventType,
    fields: EventInput,
    extra: Record<string, unknown> = {},
  ): Promise<Ack> => {
    const def: { channel: string; level: string; outcome?: Outcome } = EVENT_CATALOGUE[type];
    const data = { ...extra, ...fields.data };
    const input: EventInput = {
      ...fields,
      event: type,
      channel: def.channel,
      level: fields.level ?? def.level,
      ...((fields.outcome ?? def.outcome) ? { outcome: fields.outcome ?? def.outcome } : {}),
      ...(Object.keys(data).length > 0 ? { data } : {}),
    };
    return write(input);
  };
  const common = (e: CommonFields): EventInput => ({
    ...(e.msg === undefined ? {} : { msg: e.msg }),
    ...(e.request_id === undefined ? {} : { request_id: e.request_id }),
    ...(e.data === undefined ? {} : { data: e.data }),
  });
  const defined = (o: Record<string, unknown>): Record<string, unknown> =>
    Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  return {
    loginSuccess: (e) =>
      send('auth.login.success', { ...common(e), actor: e.actor }, defined({ method: e.method })),
    loginFailure: (e) =>
      send('auth.login.failure', { ...common(e), actor: e.actor }, defined({ reason: e.reason })),
    logout: (e) => send('auth.logout', { ...common(e), actor: e.actor }),
    projectGenerated: (e) =>
      send(
        'project.generate',
        {
          ...common(e),
          actor: e.actor,
          target: { type: 'project', id: e.project },
          outcome: e.outcome ?? 'success',
        },
        defined({ template: e.template }),
      ),
    templateImported: (e) =>
      send('template.import', {
        ...common(e),
        actor: e.actor,
        target: { type: 'template', id: e.template },
        outcome: e.outcome ?? 'success',
      }),
    templateExported: (e) =>
      send('template.export', {
        ...common(e),
        actor: e.actor,
        target: { type: 'template', id: e.template },
        outcome: e.outcome ?? 'success',
      }),
    sensitiveDataChanged: (e) =>
      send(
        'data.sensitive.change',
        { ...common(e), actor: e.actor, target: e.target, outcome: 'success' },
        defined({ fields: e.fields }),
      ),
    sensitiveDataDeleted: (e) =>
      send('data.sensitive.delete', {
        ...common(e),
        actor: e.actor,
        target: e.target,
        outcome: 'success',
      }),
    jobRun: (e) =>
      send(
        'job.run',
        {
          ...common(e),
          target: { type: 'job', id: e.job },
          outcome: e.outcome,
          level: e.outcome === 'success' ? 'INFO' : 'ERROR',
        },
        defined({ exit_code: e.exitCode, signal: e.signal, duration_ms: e.durationMs }),
      ),
    accessDenied: (e) =>
      send(
        'access.denied',
        { ...common(e), actor: e.actor, ...(e.target === undefined ? {} : { target: e.target }) },
        defined({ permission: e.permission }),
      ),
    attackDetected: (e) =>
      send(
        'attack.detected',
        {
          ...common(e),
          ...(e.actor === undefined ? {} : { actor: e.actor }),
          ...(e.target === undefined ? {} : { target: e.target }),
        },
        { kind: e.kind },
      ),
  };
}
