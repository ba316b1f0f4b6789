import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { RequestLog, userId, type Framework, type RequestLogOptions } from './request-event.js';

export {
  requestIdOf,
  UNMATCHED,
  type RequestUser,
  type RequestIdOptions,
} from './request-event.js';

/** Options of the Express middleware: `logs` and, optionally, how to find the user, ... */
export type ExpressLogOptions = RequestLogOptions<Request>;

const EXPRESS: Framework<Request, Response> = {
  route(req) {
    // The template of the route that answered (`/users/:id`), under the routers it is mounted
    // in; a response sent by a mounted middleware (static files) is shown as its mount point.
    const route = (req as { route?: { path?: unknown } }).route;
    // Typed string, but undefined once the request has left every router (a 404).
    const base = (req as { baseUrl?: string }).baseUrl ?? '';
    if (route === undefined) return base === '' ? undefined : `${base}/*`;
    const p = route.path;
    return base + (Array.isArray(p) ? p.map(String).join('|') : String(p));
  },
  body: (req) => (req as { body?: unknown }).body,
  ip: (req) => req.ip,
  user: (req) => userId((req as { user?: { id?: unknown } }).user?.id),
  setHeader: (res, name, value) => res.setHeader(name, value),
};

/**
 * Express middleware writing one `http.request` event per request to the `api` channel when
 * its response is done, or when the client goes away first (status 499). Mount it first:
 *
 *   app.use(dihyaLogs({ logs }));
 *
 * It never throws into the app and never delays a response: the event is written after the
 * response, without waiting. Express is only needed for its types.
 */
export function dihyaLogs(options: ExpressLogOptions): RequestHandler {
  const log = new RequestLog(options, EXPRESS);
  return (req: Request, res: Response, next: NextFunction): void => {
    const t = log.start(req, res, req, res, req.originalUrl);
    if (t !== undefined) res.once('finish', () => log.end(t, req, false));
    next();
  };
}

export default dihyaLogs;
