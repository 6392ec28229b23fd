import 'reflect-metadata';
import { type DynamicModule, type ForwardReference, Global, Module, type Provider, type Type } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { Test } from '@nestjs/testing';
import supertest from 'supertest';
import { expect } from 'vitest';
import { configureApp } from '../../src/app.setup.js';
import { ApiKeyVerifier } from '../../src/auth/api-key-verifier.js';
import { AuthModule } from '../../src/auth/auth.module.js';
import type { Principal } from '../../src/auth/principal.js';
import { PRINCIPAL_DIRECTORY, type PrincipalDirectory, UserDirectory } from '../../src/auth/principal-directory.js';
import { createLogger } from '../../src/common/logging/logger.js';
import { LoggingModule } from '../../src/common/logging/logging.module.js';
import { ConfigModule } from '../../src/config/config.module.js';
import { type AppConfig, loadConfig } from '../../src/config/configuration.js';
import { MetricsModule } from '../../src/metrics/metrics.module.js';

/** The key every slice is configured with, so credentials are required. */
export const API_KEY = 'slice-key-0123456789abcdef';
export const AUTH = { 'X-API-Key': API_KEY } as const;
/** The principal the guard puts on a request carrying `API_KEY`. */
export const KEY_PRINCIPAL: Principal = new ApiKeyVerifier([API_KEY]).verify(API_KEY)!;
export const WWW_AUTHENTICATE = 'Bearer realm="agentspec", ApiKey header="X-API-Key"';

/** A `user` block's key, as the definitions would declare it: role user, agent "greeter" only. */
export const USER_KEY = 'slice-user-key-0123456789abcdef';
export const USER_AUTH = { 'X-API-Key': USER_KEY } as const;
const USERS = UserDirectory.build([{ name: 'slice-user', key_env: 'SLICE_USER_KEY', agents: ['greeter'], role: 'user' }], {
  readKey: (variable) => (variable === 'SLICE_USER_KEY' ? USER_KEY : undefined),
});
/** The principal the guard puts on a request carrying `USER_KEY`. */
export const USER_PRINCIPAL: Principal = USERS.keys[0].principal;

/** The runtime provides the user directory in the application; here a fixed one stands in. */
@Global()
@Module({
  providers: [{ provide: PRINCIPAL_DIRECTORY, useValue: { userDirectory: () => USERS } satisfies PrincipalDirectory }],
  exports: [PRINCIPAL_DIRECTORY],
})
class SliceUsersModule {}

export interface SliceOptions {
  controllers?: Type[];
  /** The controller's collaborators, as fakes (`{ provide: X, useValue: fake.instance }`). */
  providers?: Provider[];
  imports?: (Type | DynamicModule | ForwardReference)[];
  /** Environment the AppConfig is read from; AGENTSPEC_API_KEY is set unless overridden. */
  env?: Record<string, string>;
}

export interface Slice {
  app: NestExpressApplication;
  config: AppConfig;
  /** The error lines the application logged, parsed, oldest first. */
  errorLines: Record<string, unknown>[];
  http(): supertest.Agent;
  close(): Promise<void>;
}

/**
 * One controller behind the application's real HTTP setup: `configureApp` as main.ts uses it
 * (middleware, body parser, validation pipe, exception filter), the real global
 * AuthenticationGuard and strategies, and fakes for everything the controller calls.
 *
 * Passport keeps strategies in a process-wide registry, so the slices of one test file must
 * share their API keys (the last slice built wins).
 */
export async function startSlice(options: SliceOptions): Promise<Slice> {
  const config = loadConfig({ LOG_LEVEL: 'silent', AGENTSPEC_API_KEY: API_KEY, ...options.env });
  const errorLines: Record<string, unknown>[] = [];
  const logger = createLogger('error', { write: (line: string) => void errorLines.push(JSON.parse(line) as Record<string, unknown>) });
  const module = await Test.createTestingModule({
    imports: [
      ConfigModule.forRoot(config),
      LoggingModule.forRoot(logger),
      MetricsModule.forRoot(),
      SliceUsersModule,
      AuthModule,
      ...(options.imports ?? []),
    ],
    controllers: options.controllers ?? [],
    providers: options.providers ?? [],
  }).compile();
  const app = module.createNestApplication<NestExpressApplication>({ bodyParser: false, logger: false });
  await configureApp(app, config, logger);
  const server = app.getHttpServer();
  return { app, config, errorLines, http: () => supertest.agent(server), close: () => app.close() };
}

/**
 * Asserts the documented error envelope: the status, `{ error: { code, message, details? } }`
 * and nothing else in the body. Returns the error for further checks.
 */
export function expectError(response: supertest.Response, status: number, code: string): ErrorBody {
  expect(response.status, `body: ${response.text}`).toBe(status);
  expect(response.headers['content-type']).toMatch(/^application\/json/);
  expect(Object.keys(response.body)).toEqual(['error']);
  const error = response.body.error as ErrorBody;
  expect(error.code).toBe(code);
  expect(error.message).toEqual(expect.any(String));
  expect(error.message.length).toBeGreaterThan(0);
  expect(Object.keys(error).filter((key) => !['code', 'message', 'details'].includes(key))).toEqual([]);
  return error;
}

/** 401 with the challenge header, for a request that carried no credentials. */
export function expectUnauthorized(response: supertest.Response): void {
  expectError(response, 401, 'unauthorized');
  expect(response.headers['www-authenticate']).toBe(WWW_AUTHENTICATE);
}

export interface ErrorBody {
  code: string;
  message: string;
  details?: { field: string; message: string }[];
}
