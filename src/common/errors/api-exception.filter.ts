import { type ArgumentsHost, Catch, type ExceptionFilter, NotFoundException } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { MethodNotAllowedError } from './domain-errors.js';
import { toErrorResponse } from './error-table.js';
import { ERROR_CODE_LOCAL } from '../http/request-middleware.js';
import { logFields, requestContext } from '../request-context/request-context.js';
import type { RouteTable } from './route-table.js';

/** The one place where errors become HTTP answers (docs/api.md §2). */
@Catch()
export class ApiExceptionFilter implements ExceptionFilter {
  constructor(
    private readonly logger: Logger,
    private readonly routes: RouteTable,
  ) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    sendError(http.getRequest<Request>(), http.getResponse<Response>(), this.resolve(exception, http.getRequest()), this.logger);
  }

  private resolve(exception: unknown, request: Request): unknown {
    // Nest reports an unmatched route as NotFoundException; a known path means a wrong method.
    if (exception instanceof NotFoundException && !('code' in exception)) {
      const allowed = this.routes.allowedMethods(request.path);
      if (allowed.length > 0) return new MethodNotAllowedError(request.method, request.path, allowed);
    }
    return exception;
  }
}

export function sendError(request: Request, response: Response, exception: unknown, logger: Logger): void {
  const answer = toErrorResponse(exception);
  if (answer.unexpected) {
    logger.error(
      { ...logFields(requestContext.of(request)), err: exception, method: request.method, path: request.path },
      'unhandled error',
    );
  } else if (answer.status === 503) {
    logger.warn(
      { ...logFields(requestContext.of(request)), err_message: (exception as Error)?.message, path: request.path },
      'dependency unavailable',
    );
  }
  response.locals[ERROR_CODE_LOCAL] = answer.body.error.code;
  if (response.destroyed) return;
  if (response.headersSent) {
    // The answer has started (a stream); all that is left is to end it.
    response.end();
    return;
  }
  for (const [name, value] of Object.entries(answer.headers)) response.setHeader(name, value);
  response.status(answer.status).json(answer.body);
}
