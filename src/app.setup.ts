import { type ArgumentMetadata, type INestApplication, ValidationPipe } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { ValidationError } from 'class-validator';
import type { Logger } from 'pino';
import { InvalidRequestError, type ErrorDetail } from './common/errors/domain-errors.js';
import { ApiExceptionFilter } from './common/errors/api-exception.filter.js';
import { RouteTable } from './common/errors/route-table.js';
import {
  bodyErrorHandler,
  jsonBodyParser,
  refuseOversizedBody,
  requireJsonBody,
  requireJsonObject,
} from './common/http/body-middleware.js';
import { fastAcceptorOf } from './common/validation/fast-acceptance.js';
import { findUnstorableText, shorten, unstorableTextMessage } from './common/validation/request-values.js';
import { answerClientErrors } from './common/http/client-errors.js';
import { requestMiddleware } from './common/http/request-middleware.js';
import { presetRequestShapes } from './common/http/request-shape.js';
import { corsOptions, securityHeaders, varyOnOrigin } from './common/http/security-headers.js';
import { buildOpenApiDocument, mountSwagger } from './common/http/swagger.js';
import { NestPinoLogger } from './common/logging/logger.js';
import { RefusalAudit } from './auth/refusals/refusal-audit.js';
import { refusalAuditMiddleware } from './auth/refusals/refusal-audit.middleware.js';
import type { AppConfig } from './config/configuration.js';
import { MetricsService } from './metrics/metrics.service.js';

/**
 * Everything that shapes HTTP behaviour, in one place used by main.ts and by the tests:
 * middleware order, security headers and CORS, body limits, validation, the error filter, Swagger.
 */
export async function configureApp(app: NestExpressApplication, config: AppConfig, logger: Logger): Promise<void> {
  app.useLogger(new NestPinoLogger(logger));
  answerClientErrors(app.getHttpServer(), logger);
  presetRequestShapes(app.getHttpServer());
  app.disable('x-powered-by');
  app.set('etag', false);
  // Which address `request.ip` (rate limits, audit rows) names: docs/security.md "Rate limits".
  app.set('trust proxy', config.trustProxy);
  // Filled once Nest has registered its routes; the middleware reads it only when a response ends.
  const routes = new RouteTable();
  app.use(requestMiddleware(logger, app.get(MetricsService), routes));
  app.use(refusalAuditMiddleware(app.get(RefusalAudit)));
  app.use(securityHeaders({ hstsMaxAgeSeconds: config.hstsMaxAgeSeconds }));
  if (config.corsOrigins.length > 0) {
    app.use(varyOnOrigin);
    app.enableCors(corsOptions(config.corsOrigins));
  }
  app.use(requireJsonBody);
  app.use(refuseOversizedBody(config.bodyLimitBytes, logger));
  app.use(jsonBodyParser(config.bodyLimitBytes));
  app.use(requireJsonObject);
  app.use(bodyErrorHandler(logger));
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new ApiExceptionFilter(logger, routes));
  mountSwagger(app, buildOpenApiDocument(app, config.version));
  await app.init();
  collectRoutes(app, routes);
}

/**
 * Bodies are JSON objects (a missing body counts as `{}`), and no request value holds text the
 * database cannot store: NUL, or a lone UTF-16 surrogate (docs/api.md §1.2).
 */
class BodyValidationPipe extends ValidationPipe {
  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    const unstorable = findUnstorableText(value, metadata.type === 'body' ? '' : (metadata.data ?? ''));
    if (unstorable) {
      const message = unstorableTextMessage(unstorable);
      throw new InvalidRequestError(message, unstorable.field ? [{ field: shorten(unstorable.field), message }] : undefined);
    }
    if (metadata.type === 'body') {
      if (value === undefined) value = {};
      else if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        throw new InvalidRequestError('The request body must be a JSON object.');
      }
      const accepted = fastAcceptorOf(metadata.metatype)?.(value as Record<string, unknown>);
      if (accepted) return accepted;
    }
    return super.transform(value, metadata);
  }
}

export function createValidationPipe(): ValidationPipe {
  return new BodyValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    validationError: { target: false, value: false },
    exceptionFactory: (errors) => {
      const details = flatten(errors);
      const summary = details.map((detail) => detail.message).join('; ');
      return new InvalidRequestError(summary || 'The request is invalid.', details);
    },
  });
}

function flatten(errors: ValidationError[], parent = ''): ErrorDetail[] {
  return errors.flatMap((error) => {
    // A property name is the client's text (an unknown field): quoted only shortened.
    const property = shorten(error.property);
    const field = parent ? `${parent}.${property}` : property;
    const own = Object.values(error.constraints ?? {}).map((message) => ({
      field,
      message: withPath(message.split(error.property).join(property), property, field),
    }));
    return [...own, ...flatten(error.children ?? [], field)];
  });
}

/** class-validator names the property; name the full path instead (`options.temperature`). */
function withPath(message: string, property: string, field: string): string {
  if (property === field) return message;
  return message.startsWith(property) ? field + message.slice(property.length) : message;
}

/** Reads the routes Express knows after Nest registered them, for 405 answers. */
function collectRoutes(app: INestApplication, routes: RouteTable): void {
  const express = app.getHttpAdapter().getInstance() as { router?: { stack: RouterLayer[] } };
  for (const layer of express.router?.stack ?? []) {
    if (!layer.route) continue;
    for (const [method, enabled] of Object.entries(layer.route.methods)) {
      if (enabled && method !== '_all') routes.add(layer.route.path, method);
    }
  }
}

interface RouterLayer {
  route?: { path: string; methods: Record<string, boolean> };
}
