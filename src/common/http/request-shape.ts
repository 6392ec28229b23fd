import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { requestContext } from '../request-context/request-context.js';

/**
 * Gives every request and response, before Express sees them, the properties that Express, the
 * router, the body parser, our middleware and the guard add to them later, in one fixed order and
 * with the values they have until then (undefined).
 *
 * Why: Express 5 changes the prototype of each request and response, then adds properties to
 * them (`req.next` is a new function per request). In V8 that sequence gives every request a
 * hidden class of its own, so each property access along the chain misses its inline cache and
 * each property added builds new hidden classes: about a tenth of an invoke's instructions
 * (issue 16, measured with callgrind). With the properties in place first, the later writes
 * change values only and the hidden classes are shared by all requests.
 */
export function presetRequestShapes(server: Server): void {
  server.prependListener('request', presetRequestShape);
}

/** The router keeps the matched route pattern under a symbol of its own, learnt from the first request. */
const routerSymbols: symbol[] = [];
let learnt = false;

/** Called by the first middleware: by then the router has added its symbol to the request. */
export function learnRequestShape(req: IncomingMessage): void {
  if (learnt) return;
  learnt = true;
  for (const key of Object.getOwnPropertySymbols(req)) {
    if (key.description === 'router.tracing.matchedRoute') routerSymbols.push(key);
  }
}

export function presetRequestShape(req: IncomingMessage, res: ServerResponse): void {
  const request = req as IncomingMessage & Record<string, unknown>;
  // Express (application.js) and the router (router/index.js), in their order.
  request.res = undefined;
  request.next = undefined;
  request.baseUrl = undefined;
  request.originalUrl = undefined;
  request._parsedUrl = undefined;
  request.params = undefined;
  for (const key of routerSymbols) request[key as unknown as string] = undefined;
  // Node's listener count, read from the prototype (0) until the first listener makes it own.
  const listeners = request._eventsCount;
  request._eventsCount = listeners;
  // Ours and the body parser's.
  requestContext.reserve(req);
  request.body = undefined;
  request.route = undefined;
  request.user = undefined;
  // Express's locals, then what `res.status()` and `writeHead` set (until then read from the prototype).
  const response = res as unknown as Record<string, unknown>;
  response.locals = undefined;
  response.statusCode = 200;
  response.statusMessage = undefined;
}
