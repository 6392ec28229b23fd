import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';

export const API_KEY_SCHEME = 'api-key';
export const BEARER_SCHEME = 'bearer';

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
