import type { FastifyPluginCallback, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';
import {
  RequestLog,
  UNMATCHED,
  userId,
  type Framework,
  type RequestLogOptions,
  type Tracked,
} from './request-event.js';

export {
  requestIdOf,
  UNMATCHED,
  type RequestUser,
  type RequestIdOptions,
} from './request-event.js';

/** Options of the Fastify plugin: `logs` and, optionally, how to find the user, ... */
export type FastifyLogOptions = RequestLogOptions<FastifyRequest>;

const FASTIFY: Framework<FastifyRequest, FastifyReply> = {
  route: (request) => (request.is404 ? undefined : (request.routeOptions.url ?? UNMATCHED)),
  body: (request) => request.body,
  ip: (request) => request.ip,
  user: (request) => userId((request as { user?: { id?: unknown } }).user?.id),
  setHeader: (reply, name, value) => {
    // reply.header() returns the reply, which is thenable: not a value to hand back.
    reply.header(name, value);
  },
};

const plugin: FastifyPluginCallback<FastifyLogOptions> = (app, options, done) => {
  const log = new RequestLog(options, FASTIFY);
  const tracked = new WeakMap<FastifyRequest, Tracked>();
  app.addHook('onRequest', (request, reply, next) => {
    const t = log.start(request, reply, request.raw, reply.raw, request.url);
    if (t !== undefined) tracked.set(request, t);
    next();
  });
  app.addHook('onResponse', (request, _reply, next) => {
    const t = tracked.get(request);
    if (t !== undefined) log.end(t, request, false);
    next();
  });
  done();
};

/**
 * Fastify plugin writing one `http.request` event per request to the `api` channel when its
 * response is done, or when the client goes away first (status 499):
 *
 *   await app.register(dihyaLogs, { logs });
 *
 * Wrapped with fastify-plugin, so its hooks apply to every route of the app. It never throws
 * into the app and never delays a response.
 */
export const dihyaLogs = fp(plugin, { fastify: '5.x', name: 'dihya-logs' });

export default dihyaLogs;
