import express, { type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import { UnsupportedMediaTypeError } from '../errors/domain-errors.js';
import { sendError } from '../errors/api-exception.filter.js';

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

export function jsonBodyParser(limitBytes: number) {
  return express.json({ limit: limitBytes, strict: true, type: isJsonRequest });
}

function isJsonRequest(req: { headers: Record<string, string | string[] | undefined> }): boolean {
  const contentType = req.headers['content-type'];
  return isJson(Array.isArray(contentType) ? contentType[0] : contentType);
}

/** Express-level error handler for failures before Nest's router (body parsing, media type). */
export function bodyErrorHandler(logger: Logger) {
  return (error: unknown, req: Request, res: Response, _next: NextFunction): void => {
    sendError(req, res, error, logger);
  };
}
