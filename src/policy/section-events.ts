import { EVENT_CATALOGUE, type EventType } from '../event/catalogue.js';
import { levelAtLeast, type Level, LEVELS } from '../event/levels.js';
import {
  code,
  codes,
  link,
  markup,
  paragraph,
  section,
  t,
  table,
  text,
  type Inline,
  type Section,
} from './doc.js';
import type { PolicyContext } from './context.js';
import { BUILT_IN_EVENTS } from './events.js';
import { bytes, duration } from '../util/units.js';

/** What is logged: the layers that produce events, the channels, the event types. */
export function eventsSection(ctx: PolicyContext): Section {
  return section(
    'What is logged',
    [
      paragraph(
        t`Every record is a structured event with a dotted type (such as ${code('auth.login.failure')}), a level and a channel. Producers may log other event types than those listed here, in any configured channel; the types below have a fixed meaning.`,
      ),
    ],
    [layers(), channels(ctx), catalogue(ctx), builtIn(ctx)],
  );
}

function layers(): Section {
  const row = (layer: Inline, what: Inline, where: Inline): Inline[] => [layer, what, where];
  return section('Layers', [
    paragraph(
      t`Where in the technology stack events come from, and what each layer logs through dihya-logs:`,
    ),
    table(
      ['layer', 'what it logs', 'event types, channel'],
      [
        row(
          t`application code (the library, ${code('openLogs')})`,
          t`business and security events: sign-ins, project generation, template import and export, changes to sensitive data, denied access, detected attacks`,
          t`the event catalogue below; any channel`,
        ),
        row(
          t`application HTTP layer (Express, Fastify middleware)`,
          t`one event per request: method, route, status, duration, sizes`,
          t`${code('http.request')} in ${code('api')}`,
        ),
        row(
          t`application logging framework (pino transport)`,
          t`the application's own log lines`,
          t`${code('pino.log')} or their own type, in ${code('app')}`,
        ),
        row(
          t`other backends (HTTP ingest, OpenTelemetry OTLP/HTTP)`,
          t`events and log records sent to ${code('dihya-logs serve')}`,
          t`their own types, ${code('otel.log')}; ${code('app')} unless they name a channel`,
        ),
        row(
          t`the log service (${code('dihya-logs serve')})`,
          t`refused requests, every read, token and session changes, verification runs, its own failures`,
          t`${codes(['auth.failure', 'access.denied'])} in ${code('security')}; ${codes(['log.read', 'token.created', 'token.revoked', 'session.started', 'log.verify.requested'])} in ${code('audit')}; ${code('service.error')} in ${code('app')}`,
        ),
        row(
          t`scripts and scheduled jobs (${code('dihya-logs run')}, ${code('scheduler')})`,
          t`each run: start, end, exit status, duration`,
          t`${codes(['job.started', 'job.finished', 'job.failed'])} in ${code('scheduler')}`,
        ),
        row(
          t`log storage (writer, lifecycle, GDPR)`,
          t`rotation, sealing, deletion by retention, legal holds, crash recovery, key rotation, GDPR requests, changes of this policy`,
          t`${code('audit')}, ${code('scheduler')}, ${code('security')} (see below)`,
        ),
        row(
          t`detectors (in ${code('dihya-logs serve')})`,
          t`alerts: brute force, credential stuffing, bursts of refusals, first privileged actions, mass deletion, tampering, logging stopped, clock jumps`,
          t`${code('alert.*')} in ${code('security')}`,
        ),
        row(
          t`operating system, database, reverse proxy`,
          t`not collected by dihya-logs: they keep their own logs`,
          t`none`,
        ),
      ],
    ),
  ]);
}

function channels(ctx: PolicyContext): Section {
  const { config } = ctx;
  const rows = Object.entries(config.channels).map(([name, c]) => [
    t`${code(name)}`,
    t`${code(c.minLevel)}`,
    c.durability === 'durable'
      ? t`durable: acknowledged after fdatasync; a failed write is refused (fail closed)`
      : t`buffered: on disk within ${duration(config.writer.flushIntervalMs)}, synced at each checkpoint; a failed write is reported, never thrown into the application`,
    c.encrypt
      ? t`yes: each record's body under the channel's key (AES-256-GCM)`
      : t`no (personal data is encrypted in every channel)`,
    t`at ${bytes(c.rotate.maxBytes)}${c.rotate.daily ? ' and at the first record of each UTC day' : ''}`,
  ]);
  return section('Channels', [
    paragraph(
      t`Levels rank ${levelList()}. An event without a channel goes to ${code('audit')} when its level is ${code('AUDIT')}, to ${code('security')} when ${code('SECURITY')}, else to ${code('app')}. A channel keeps only the events at or above its minimum level: the others are dropped, not stored.`,
    ),
    table(['channel', 'minimum level', 'durability', 'body encrypted', 'rotation'], rows),
  ]);
}

function levelList(): Inline {
  const out: Inline[] = LEVELS.map((l) => [code(l)]);
  return out.flatMap((x, i) => (i === 0 ? [...x] : [{ text: ' < ' }, ...x]));
}

function stored(ctx: PolicyContext, channel: string, level: string): Inline {
  const c = ctx.config.channels[channel];
  if (c === undefined) return t` (not stored: channel ${code(channel)} is not configured)`;
  if ((LEVELS as readonly string[]).includes(level) && !levelAtLeast(level as Level, c.minLevel))
    return t` (not stored: below the channel's minimum level ${code(c.minLevel)})`;
  return [];
}

function catalogue(ctx: PolicyContext): Section {
  const entries = Object.entries(EVENT_CATALOGUE) as Array<[string, EventType]>;
  const rows = entries.map(([type, e]) => [
    t`${code(type)}`,
    t`${code(e.channel)}`,
    t`${code(e.level)}`,
    e.outcome === undefined ? text('') : t`${code(e.outcome)}`,
    [...markup(e.description), ...stored(ctx, e.channel, e.level)],
  ]);
  return section('Event catalogue', [
    paragraph(
      t`The event types of the platform's critical actions and of the log itself, with typed helpers in the library (${code('logs.events')}):`,
    ),
    table(['event', 'channel', 'level', 'outcome', 'description'], rows),
  ]);
}

function builtIn(ctx: PolicyContext): Section {
  const known = new Set(Object.keys(EVENT_CATALOGUE));
  const rows = BUILT_IN_EVENTS.filter((e) => !known.has(e.event)).map((e) => [
    t`${code(e.event)}`,
    t`${code(e.channel)}`,
    (LEVELS as readonly string[]).includes(e.level) ? t`${code(e.level)}` : text(e.level),
    text(e.by),
    [...markup(e.description), ...stored(ctx, e.channel, e.level)],
  ]);
  return section('Events dihya-logs records itself', [
    paragraph(
      t`Besides the catalogue, the service, the GDPR requests and the adapters write these. Event types starting with ${code('gdpr.')} or ${code('alert.')} are reserved: producers cannot write them, so each one in the log was recorded by dihya-logs. Alerts are listed with the detectors (${link('below', '#detectors-and-alerts')}).`,
    ),
    table(['event', 'channel', 'level', 'written by', 'description'], rows),
  ]);
}
