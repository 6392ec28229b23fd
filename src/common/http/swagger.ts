import { applyDecorators, type INestApplication } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  type ApiResponseOptions,
  ApiPayloadTooLargeResponse,
  ApiSecurity,
  ApiServiceUnavailableResponse,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
  ApiUnsupportedMediaTypeResponse,
  DocumentBuilder,
  type OpenAPIObject,
  SwaggerModule,
} from '@nestjs/swagger';
import { ErrorResponseDto } from '../dto/error-response.dto.js';

export const API_KEY_SCHEME = 'api-key';
export const BEARER_SCHEME = 'bearer';

/** Names in the examples, so that "Try it out" works against the bundled definitions (agents/). */
export const EXAMPLE_AGENT = 'support-assistant';
export const EXAMPLE_PIPELINE = 'research-and-summarize';

const BLOCKED_ADDRESS = '`rate_limited`: the client address is blocked after repeated invalid credentials (Retry-After).';
const RATE_LIMITED =
  '`rate_limited`: AGENTSPEC_RATE_LIMIT reached for this caller (Retry-After, RateLimit-* headers), ' +
  'or the client address is blocked after repeated invalid credentials (Retry-After).';

/** 429 of a route with a per-caller rate limit (docs/api.md §3.6). */
export const RATE_LIMITED_TOO_MANY_REQUESTS: ApiResponseOptions = { type: ErrorResponseDto, description: RATE_LIMITED };

/** 429 of a route that runs an agent: the caller's rate limit or the agent's budget. */
export const AGENT_RUN_TOO_MANY_REQUESTS: ApiResponseOptions = {
  type: ErrorResponseDto,
  description: `${RATE_LIMITED} \`budget_exceeded\`: the agent's daily or monthly budget is spent (Retry-After: until the window resets).`,
};

/** 409 of a session turn (continue, and invoke or stream with `session_id`). */
export const SESSION_BUSY: ApiResponseOptions = {
  type: ErrorResponseDto,
  description: '`session_busy`: another turn of this session is running, on whichever replica (Retry-After).',
};

/**
 * The refusals of every route that needs credentials (docs/api.md §1.7, §3): 401, the blocked
 * address (429), and 503 when the database is needed to check them or to answer.
 */
export function ApiCredentialRefusals(): ClassDecorator {
  return applyDecorators(
    ApiSecurity(API_KEY_SCHEME),
    ApiSecurity(BEARER_SCHEME),
    ApiUnauthorizedResponse({ type: ErrorResponseDto, description: '`unauthorized`: no valid credentials (WWW-Authenticate).' }),
    ApiTooManyRequestsResponse({ type: ErrorResponseDto, description: BLOCKED_ADDRESS }),
    ApiServiceUnavailableResponse({ type: ErrorResponseDto, description: '`unavailable`: the database is unavailable (Retry-After).' }),
  );
}

/** The refusals of a request body before any route work (docs/api.md §1.2): 400, 413, 415. */
export function ApiJsonBodyRefusals(): MethodDecorator {
  return applyDecorators(
    ApiBadRequestResponse({
      type: ErrorResponseDto,
      description: '`invalid_request`: the body is not a JSON object, or a field is missing, unknown or invalid (`details` names it).',
    }),
    ApiPayloadTooLargeResponse({
      type: ErrorResponseDto,
      description: '`payload_too_large`: the body is over AGENTSPEC_BODY_LIMIT (1 MiB by default).',
    }),
    ApiUnsupportedMediaTypeResponse({
      type: ErrorResponseDto,
      description: '`unsupported_media_type`: the body is not declared as JSON, or its charset or encoding is not supported.',
    }),
  );
}

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
        'Errors always use the envelope `{ "error": { "code", "message", "details"? } }`. ' +
        'On every path, an unknown path answers 404 `not_found` and a method the path does not serve 405 ' +
        '`method_not_allowed` with `Allow`; before that, a body may be refused 400, 413 or 415 (docs/api.md §1.7).',
    )
    .setVersion(version)
    .addApiKey({ type: 'apiKey', in: 'header', name: 'X-API-Key' }, API_KEY_SCHEME)
    .addBearerAuth(
      { type: 'http', scheme: 'bearer', description: 'An API key, or an OIDC access token (JWT) when SSO is configured.' },
      BEARER_SCHEME,
    )
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
