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
