import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { InvalidRequestError, UnsupportedMediaTypeError } from '../errors/domain-errors.js';
import { sendError } from '../errors/api-exception.filter.js';
import { MAX_NESTING_DEPTH, nestsDeeperThan, shorten } from '../validation/request-values.js';

const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);

function isJson(contentType: string | undefined): boolean {
  if (!contentType) return false;
  const type = contentType.split(';')[0].trim().toLowerCase();
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}

function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** Every route takes JSON; any other body is refused before it is read. */
export function requireJsonBody(req: Request, _res: Response, next: NextFunction): void {
  if (METHODS_WITH_BODY.has(req.method) && hasBody(req) && !isJson(req.headers['content-type'])) {
    next(new UnsupportedMediaTypeError('The request body must be JSON: send Content-Type: application/json.'));
    return;
  }
  next();
}

/** Time the client gets to read a 413 before its connection is closed under its upload. */
const CLOSE_AFTER_REFUSAL_MS = 200;

/**
 * A body over the limit is refused as soon as that is known (its declared length, or the bytes of
 * a chunked body so far) and its connection closed: the JSON parser would otherwise read the rest
 * and discard it before answering, a whole gigabyte if the client sends one (issue 14). Encoded
 * bodies are left to the parser, whose limit applies to the decoded size (docs/api.md §1.2).
 */
/** Headers and trailers of the encodings accepted (gzip's are 18 bytes). */
const ENCODING_FRAMING_BYTES = 1024;

export function refuseOversizedBody(limitBytes: number, logger: Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    // Whatever the method: the JSON parser reads a body on DELETE or GET too.
    if (req.method === 'HEAD' || !hasBody(req)) {
      next();
      return;
    }
    // An encoded body is limited by its decoded size, but gzip, deflate and br never make data
    // smaller than it is by more than their framing: raw bytes past the limit plus that margin
    // already decode to more than the limit.
    const encoding = req.headers['content-encoding'];
    const encoded = encoding !== undefined && encoding.toLowerCase() !== 'identity';
    const rawLimit = encoded ? limitBytes + Math.ceil(limitBytes / 1000) + ENCODING_FRAMING_BYTES : limitBytes;
    const refuse = (): void => {
      if (res.headersSent) return;
      res.setHeader('Connection', 'close');
      res.on('finish', () => setTimeout(() => req.socket.destroy(), CLOSE_AFTER_REFUSAL_MS).unref());
      sendError(req, res, Object.assign(new Error('request entity too large'), { type: 'entity.too.large', limit: limitBytes }), logger);
    };
    if (Number(req.headers['content-length']) > rawLimit) {
      refuse();
      return;
    }
    if (req.headers['transfer-encoding'] !== undefined) {
      let received = 0;
      const count = (chunk: Buffer): void => {
        received += chunk.length;
        if (received <= rawLimit) return;
        req.off('data', count);
        refuse();
      };
      // Attached in the same tick as the parser's own listener, so both see every chunk.
      req.on('data', count);
    }
    next();
  };
}

/**
 * Any JSON value is parsed (`strict: false`) so that `requireJsonObject` can tell a body that is
 * not an object from one that is not JSON.
 */
export function jsonBodyParser(limitBytes: number) {
  return express.json({ limit: limitBytes, strict: false, type: isJsonRequest });
}

/**
 * A parsed body must be a JSON object nested at most MAX_NESTING_DEPTH levels: deeper bodies are
 * refused here, before authentication, so that no later walk over them can overflow the stack.
 */
export function requireJsonObject(req: Request, _res: Response, next: NextFunction): void {
  const body: unknown = req.body;
  if (body === undefined) {
    next();
    return;
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    next(new InvalidRequestError('The request body must be a JSON object.'));
    return;
  }
  if (nestsDeeperThan(body, MAX_NESTING_DEPTH)) {
    next(new InvalidRequestError(`The request body nests objects and arrays more than ${MAX_NESTING_DEPTH} levels deep.`));
    return;
  }
  next();
}

function isJsonRequest(req: { headers: Record<string, string | string[] | undefined> }): boolean {
  const contentType = req.headers['content-type'];
  return isJson(Array.isArray(contentType) ? contentType[0] : contentType);
}

/** Express-level error handler for failures before Nest's router (body parsing, media type). */
export function bodyErrorHandler(logger: Logger) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction): void => {
    sendError(req, res, undecodable(error, req) ?? error, logger);
  };
}

/**
 * The parser passes on what zlib threw when the bytes do not match their `Content-Encoding`
 * (a status of 400 and no `type`); that is the client's mistake, not ours.
 */
function undecodable(error: unknown, req: Request): InvalidRequestError | undefined {
  const encoding = req.headers['content-encoding'];
  if (!encoding || encoding.toLowerCase() === 'identity') return undefined;
  if (typeof error !== 'object' || error === null || 'type' in error) return undefined;
  if ((error as { status?: unknown }).status !== 400) return undefined;
  return new InvalidRequestError(`The request body could not be decoded as '${shorten(encoding)}' (its Content-Encoding).`);
}
