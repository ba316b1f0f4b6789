import type { FastifyInstance } from 'fastify';
import { LogsError, asLogsError } from '../../errors.js';
import { parseTilePath, TileCache, tileFromIndex, TILE_WIDTH } from '../../search/index.js';
import type { ServiceContext } from '../context.js';
import { sendError } from '../errors.js';

/** What the tlog routes need besides the service's context. */
export interface TlogOptions {
  /**
   * The channel's latest checkpoint as a c2sp.org/tlog-checkpoint signed note, or undefined
   * when it has none (404). Without it, `/checkpoint` answers 404 for every channel.
   */
  readonly checkpointNote?: (channel: string) => string | undefined;
  /** Full tiles kept in memory (8 KiB each; default 1,024). */
  readonly cacheTiles?: number;
}

// Tiles never change: a full one can be kept for ever. A partial one never changes either,
// but clients are told to ask again soon for the full tile that replaces it.
const FULL = 'public, max-age=31536000, immutable';
const PARTIAL = 'public, max-age=60';
const CHANNEL = /^[a-z][a-z0-9_-]{0,31}$/;

/**
 * c2sp.org/tlog-tiles for each channel, read-only and without a token: the Merkle tree's hash
 * tiles (`/v1/tlog/<channel>/tile/<L>/<N>[.p/<W>]`) and its checkpoint. Hashes only, never
 * entries: `tile/entries/...` is 404 like any path that is not a tile. Every refusal is a 404
 * whose message repeats nothing of the request.
 */
export function tlogRoutes(
  app: FastifyInstance,
  ctx: Pick<ServiceContext, 'logs' | 'reads' | 'onError'>,
  options: TlogOptions = {},
): void {
  const cache = new TileCache(options.cacheTiles);
  const known = (channel: string): boolean =>
    CHANNEL.test(channel) && ctx.logs.channels.includes(channel);

  app.get<{ Params: { channel: string; '*': string } }>(
    '/v1/tlog/:channel/tile/*',
    {
      // Hashes only: a chain hash says nothing about a record's content or a person.
      config: { public: true },
      schema: {
        summary: 'Merkle tree tile (c2sp.org/tlog-tiles)',
        description:
          "The hashes of 256 consecutive nodes at height 8·L of the channel's RFC 9162 tree (level 0: the leaves, each a record's chain hash), or the first W of them (`.p/<W>`). `application/octet-stream`, 32 bytes per hash. Full tiles are immutable. No token needed. Entry bundles are not served. 404 for an unknown channel, a malformed path or a tile past the indexed records.",
        tags: ['integrity'],
      },
    },
    async (request, reply) => {
      const { channel } = request.params;
      const tile = parseTilePath(`tile/${request.params['*']}`);
      if (!known(channel) || tile === undefined)
        return sendError(reply, request, new LogsError('NOT_FOUND', 'no such tile'));
      const read = (): Buffer | undefined => {
        try {
          return tileFromIndex(ctx.reads.index('tiles').db, channel, tile, cache);
        } catch (err) {
          if (err instanceof LogsError && err.code === 'TILE_UNAVAILABLE') return undefined;
          throw err;
        }
      };
      let bytes = read();
      if (bytes === undefined) {
        // Records written since the last catch-up: bring the index up to date (catch-ups are
        // shared, so many such requests cost one), then look once more. A failed catch-up is
        // reported, and the tile answered from what the index holds.
        await ctx.reads
          .index('tiles')
          .caughtUp()
          .catch((err: unknown) => ctx.onError(asLogsError(err)));
        bytes = read();
      }
      if (bytes === undefined)
        return sendError(
          reply,
          request,
          new LogsError('TILE_UNAVAILABLE', 'the index does not hold this tile'),
        );
      return reply
        .header('cache-control', tile.width === TILE_WIDTH ? FULL : PARTIAL)
        .type('application/octet-stream')
        .send(bytes);
    },
  );

  app.get<{ Params: { channel: string } }>(
    '/v1/tlog/:channel/checkpoint',
    {
      config: { public: true },
      schema: {
        summary: 'Latest checkpoint (c2sp.org/tlog-checkpoint)',
        description:
          "The channel's latest signed checkpoint as a signed note, `text/plain; charset=utf-8`, not cached. No token needed. 404 for an unknown channel or one without a checkpoint.",
        tags: ['integrity'],
      },
    },
    async (request, reply) => {
      const { channel } = request.params;
      const note = known(channel) ? options.checkpointNote?.(channel) : undefined;
      if (note === undefined)
        return sendError(reply, request, new LogsError('NOT_FOUND', 'no such checkpoint'));
      return reply.header('cache-control', 'no-cache').type('text/plain; charset=utf-8').send(note);
    },
  );
}
