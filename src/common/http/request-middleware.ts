import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import { CORRELATION_HEADER, correlationIdFrom } from '../request-context/correlation-id.js';
import { type RequestContext, requestContext } from '../request-context/request-context.js';
import { type KnownRoutes, requestLabels } from './endpoint-names.js';
import { learnRequestShape } from './request-shape.js';

/** Set on `res.locals` by the error path so metrics can count errors by code. */
export const ERROR_CODE_LOCAL = 'errorCode';

/** What the middleware records per request; the metrics module's MetricsService provides it. */
export interface RequestMetrics {
  agentLabel(name: string | undefined): string;
  recordRequest(agent: string, endpoint: string, status: number, seconds: number): void;
  recordError(agent: string, code: string): void;
}

/**
 * First middleware of every request: opens the request context (correlation id), echoes the id,
 * and when the response is done writes the one access line and the request metrics.
 */
export function requestMiddleware(logger: Logger, metrics: RequestMetrics, routes: KnownRoutes) {
  return (req: Request, res: Response, next: NextFunction): void => {
    learnRequestShape(req);
    const correlationId = correlationIdFrom(req.headers['x-correlation-id']);
    res.setHeader(CORRELATION_HEADER, correlationId);
    const started = process.hrtime.bigint();
    // Read now: middleware mounted under a prefix (the Swagger UI's static files) shortens req.path.
    const path = req.path;
    const context: RequestContext = { correlationId };
    requestContext.attach(req, context);
    let recorded = false;
    const record = () => {
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      // req.route is set by Express once a route matched, even if a guard then refused.
      const route = (req.route as { path: string } | undefined)?.path;
      const { endpoint, agentName } = requestLabels(req.method, path, route, routes);
      const agent = metrics.agentLabel(agentName);
      const status = res.writableFinished ? res.statusCode : 499;
      metrics.recordRequest(agent, endpoint, status, seconds);
      const errorCode = res.locals[ERROR_CODE_LOCAL] as string | undefined;
      if (errorCode) metrics.recordError(agent, errorCode);
      logger.info(
        {
          method: req.method,
          route: route ?? null,
          path,
          status,
          duration_ms: Math.round(seconds * 1e5) / 100,
        },
        'request',
      );
    };
    // The access line is written with the request's context current.
    const done = () => {
      if (recorded) return;
      recorded = true;
      requestContext.run(context, record);
    };
    res.once('finish', done);
    res.once('close', done);
    requestContext.run(context, next);
  };
}
