import {
  createReadStream,
  existsSync,
  lstatSync,
  readdirSync,
  readFileSync,
  realpathSync,
  statSync,
} from 'node:fs';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import tar from 'tar-stream';
import { LogsError } from '../../errors.js';
import { EXPORT_DIR_NAME, eraseSubject } from '../../gdpr/erase.js';
import { exportSubject, isBundleFileName } from '../../gdpr/export.js';
import { RECEIPTS_DIR } from '../../gdpr/receipts.js';
import { listRequests, listRequestsFromStore, type GdprRequest } from '../../gdpr/requests.js';
import { LogLayout } from '../../store/file/index.js';
import { principalOf } from '../auth.js';
import { GDPR, type ServiceContext } from '../context.js';
import { actorOf } from '../events.js';
import { readSubjects } from './read.js';

const subjects = {
  type: 'array',
  items: { type: 'string', minLength: 1, maxLength: 256 },
  minItems: 1,
  maxItems: 10,
} as const;

/** Who asked, as the request's audit events name them: the token, never its secret. */
function requester(ctx: ServiceContext, request: Parameters<typeof principalOf>[0]): string {
  const p = principalOf(request);
  return `${actorOf(p).id} (${p.name}, ${p.role})`;
}

/** The files of a bundle, receipts/ included, as the manifest names them. */
function bundleFiles(dir: string): string[] {
  const plain = (d: string): string[] =>
    readdirSync(d).filter((f) => isBundleFileName(f) && lstatSync(path.join(d, f)).isFile());
  const receipts = path.join(dir, RECEIPTS_DIR);
  const nested =
    existsSync(receipts) && lstatSync(receipts).isDirectory()
      ? plain(receipts).map((f) => `${RECEIPTS_DIR}/${f}`)
      : [];
  return [...plain(dir), ...nested];
}

/**
 * The people a bundle is about (summary.json's `subjects`). Parse defensively: the file sits in
 * the logs directory, anyone with disk access may have edited it.
 */
function bundleSubjects(dir: string): unknown[] {
  try {
    const summary = JSON.parse(readFileSync(path.join(dir, 'summary.json'), 'utf8')) as unknown;
    const subjects = (summary as { subjects?: unknown } | null)?.subjects;
    return Array.isArray(subjects) ? subjects.slice(0, 10) : [];
  } catch {
    return [];
  }
}

/** GDPR requests: exports and their download, erasures, and the request register. */
export function gdprRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  exportRoutes(app, ctx);
  erasureRoute(app, ctx);
  registerRoute(app, ctx);
}

/** Make an export bundle (Art. 15, 20), and download one as a tar archive. */
function exportRoutes(app: FastifyInstance, ctx: ServiceContext): void {
  app.post<{ Body: { subject: string[]; format?: 'json' | 'csv'; reason?: string } }>(
    '/v1/gdpr/exports',
    {
      config: { roles: GDPR },
      schema: {
        summary: 'Export a person’s records (GDPR Art. 15, 20)',
        description:
          'Every record of the person (all channels, archives), their values decrypted, in a bundle with a signed manifest. Answers with the request id; download with GET /v1/gdpr/exports/{id}.',
        tags: ['gdpr'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['subject'],
          properties: {
            subject: subjects,
            format: { type: 'string', enum: ['json', 'csv'] },
            reason: { type: 'string', maxLength: 1000 },
          },
        },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const report = await exportSubject({
        logs: ctx.logs,
        masterKey: ctx.masterKey,
        ids: b.subject,
        format: b.format ?? 'json',
        ...(b.reason === undefined ? {} : { reason: b.reason }),
        requestedBy: requester(ctx, request),
      });
      return reply.code(201).send(report);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/v1/gdpr/exports/:id',
    {
      config: { roles: GDPR },
      schema: {
        summary: 'Download an export bundle',
        description:
          'The bundle as a tar archive (records.json, records.csv when asked, summary.json, summary.txt, consulted.json, receipts.json and receipts/, manifest.json). Check it with the log’s public key (docs/gdpr.md).',
        tags: ['gdpr'],
        params: {
          type: 'object',
          properties: { id: { type: 'string', pattern: EXPORT_DIR_NAME.source } },
          required: ['id'],
        },
      },
    },
    async (request, reply) => {
      const id = request.params.id;
      const root = realpathSync(new LogLayout(ctx.logs.dir).exportDir);
      let dir: string;
      try {
        dir = realpathSync(path.join(root, id));
      } catch {
        throw new LogsError('NOT_FOUND', 'no export bundle with that id (erased, or never made)');
      }
      // The id is checked by its pattern; the realpath check keeps a planted link out.
      if (path.dirname(dir) !== root)
        throw new LogsError('PATH_UNSAFE', 'the bundle is not in export/');
      const files = bundleFiles(dir);
      const people = readSubjects(ctx);
      for (const subject of bundleSubjects(dir)) people.addId(subject);
      await ctx.events.read(request, 'export download', {
        request: id,
        files: files.length,
        ...people.data(),
      });
      const pack = tarOf(dir, id, files);
      return reply
        .type('application/x-tar')
        .header('content-disposition', `attachment; filename="${id}.tar"`)
        .send(pack);
    },
  );
}

/** The bundle's files under `<id>/`, streamed into a tar archive as it is read. */
function tarOf(dir: string, id: string, files: readonly string[]): tar.Pack {
  const pack = tar.pack();
  void (async () => {
    for (const f of files) {
      const file = path.join(dir, f);
      const size = statSync(file).size;
      await new Promise<void>((resolve, reject) => {
        const entry = pack.entry({ name: `${id}/${f}`, size, mode: 0o600 }, (err) =>
          err ? reject(err) : resolve(),
        );
        createReadStream(file).on('error', reject).pipe(entry);
      });
    }
    pack.finalize();
  })().catch((err: unknown) => pack.destroy(err as Error));
  return pack;
}

/** Erase a person (Art. 17), now or when retention duties end; or say what would happen. */
function erasureRoute(app: FastifyInstance, ctx: ServiceContext): void {
  app.post<{ Body: { subject: string[]; reason: string; dry_run?: boolean } }>(
    '/v1/gdpr/erasures',
    {
      config: { roles: GDPR },
      schema: {
        summary: 'Erase a person (GDPR Art. 17)',
        description:
          'Destroys the person’s key and pseudonym mapping (their records stay, anonymous and unreadable), removes their index rows and earlier export bundles; channels under a retention duty are scheduled for when it ends. The answer carries `receipt`, the offline proof (c2sp.org/tlog-proof) that the gdpr.erasure record `recorded` is in the audit trail, checkable with the log’s public key alone. With dry_run, says what would happen.',
        tags: ['gdpr'],
        body: {
          type: 'object',
          additionalProperties: false,
          required: ['subject', 'reason'],
          properties: {
            subject: subjects,
            reason: { type: 'string', minLength: 1, maxLength: 1000 },
            dry_run: { type: 'boolean' },
          },
        },
      },
    },
    async (request, reply) => {
      const b = request.body;
      const report = await eraseSubject({
        logs: ctx.logs,
        ids: b.subject,
        reason: b.reason,
        requestedBy: requester(ctx, request),
        dryRun: b.dry_run === true,
        now: ctx.clock(),
      });
      return reply.code(b.dry_run === true ? 200 : 201).send(report);
    },
  );
}

/** The requests, from the audit trail: a database store's table, or the file store's index. */
async function requestRegister(ctx: ServiceContext): Promise<GdprRequest[]> {
  const people = ctx.logs.people;
  if (people !== undefined) {
    await ctx.logs.flush();
    return listRequestsFromStore(people, ctx.logs.keys.channelKeyring());
  }
  const index = ctx.reads.index('the GDPR request register');
  await index.caughtUp();
  return listRequests(
    index.layout,
    ctx.logs.logId,
    index.db,
    ctx.logs.keys.subjectLookup(),
    ctx.logs.keys.channelKeyring(),
  );
}

/** The register of every request, with its status and deadline. */
function registerRoute(app: FastifyInstance, ctx: ServiceContext): void {
  app.get(
    '/v1/gdpr/requests',
    {
      config: { roles: GDPR },
      schema: {
        summary: 'The request register',
        description:
          'Every export and erasure request with its status and its deadline (one month from receipt), read from the audit trail.',
        tags: ['gdpr'],
      },
    },
    async (request) => {
      const requests = await requestRegister(ctx);
      const people = readSubjects(ctx);
      for (const r of requests) people.addId(r.subject);
      await ctx.events.read(request, 'request register', {
        count: requests.length,
        ...people.data(),
      });
      return { requests };
    },
  );
}
