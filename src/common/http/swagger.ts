import type { INestApplication } from '@nestjs/common';
import { type ApiResponseOptions, DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { ErrorResponseDto } from '../dto/error-response.dto.js';

export const API_KEY_SCHEME = 'api-key';
export const BEARER_SCHEME = 'bearer';

/** 429 of a route that runs an agent: the caller's rate limit or the agent's budget. */
export const AGENT_RUN_TOO_MANY_REQUESTS: ApiResponseOptions = {
  type: ErrorResponseDto,
  description:
    '`rate_limited`: AGENTSPEC_RATE_LIMIT reached for this caller (Retry-After, RateLimit-* headers). ' +
    "`budget_exceeded`: the agent's daily or monthly budget is spent (Retry-After: until the window resets).",
};

/** 422 of a route that answers with an agent's whole answer. */
export const AGENT_RUN_VALIDATION_FAILED: ApiResponseOptions = {
  type: ErrorResponseDto,
  description: "`validation_failed`: the answer still breaks an `error` rule of the agent's `validate` block after its re-prompts.",
};

export function buildOpenApiDocument(app: INestApplication, version: string): OpenAPIObject {
  const config = new DocumentBuilder()
    .setTitle('AgentSpec Runtime API')
    .setDescription(
      'Serves the agents, sessions and pipelines described in AgentSpec definitions. ' +
        'Errors always use the envelope `{ "error": { "code", "message" } }`.',
    )
    .setVersion(version)
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, API_KEY_SCHEME)
    .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'An API key, or an OIDC access token (JWT) when SSO is configured.' }, BEARER_SCHEME)
    .build();
  return SwaggerModule.createDocument(app, config, {
    operationIdFactory: (controllerKey, methodKey) => `${controllerKey.replace(/Controller$/, '')}_${methodKey}`,
  });
}

/** Swagger UI at /docs and the document at /docs-json. Both are public. */
export function mountSwagger(app: INestApplication, document: OpenAPIObject): void {
  SwaggerModule.setup('docs', app, document, {
    jsonDocumentUrl: 'docs-json',
    yamlDocumentUrl: 'docs-yaml',
    customSiteTitle: 'AgentSpec Runtime API',
    swaggerOptions: { persistAuthorization: true },
  });
}
