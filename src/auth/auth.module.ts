import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import type { Logger } from 'pino';
import { LOGGER } from '../common/logging/logging.module.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { ApiKeyVerifier } from './api-key-verifier.js';
import { AuthenticationGuard } from './guards/authentication.guard.js';
import { RateLimitGuard } from './guards/rate-limit.guard.js';
import { ManagedKeyCache } from './managed-keys/managed-key-cache.js';
import { OidcVerifier } from './oidc/oidc-verifier.js';
import { PRINCIPAL_DIRECTORY, type PrincipalDirectory } from './principal-directory.js';
import { RefusalAudit } from './refusals/refusal-audit.js';
import { ApiKeyStrategy } from './strategies/api-key.strategy.js';
import { BearerStrategy } from './strategies/bearer.strategy.js';
import { OidcStrategy } from './strategies/oidc.strategy.js';
import { AuthFailureThrottle, RequestRateLimiter } from './throttling/rate-limits.js';

@Module({
  imports: [PassportModule.register({ session: false })],
  providers: [
    ManagedKeyCache,
    {
      provide: ApiKeyVerifier,
      inject: [APP_CONFIG, ManagedKeyCache, PRINCIPAL_DIRECTORY],
      useFactory: (config: AppConfig, managedKeys: ManagedKeyCache, users: PrincipalDirectory) =>
        new ApiKeyVerifier(config.apiKeys, managedKeys, users),
    },
    ApiKeyStrategy,
    BearerStrategy,
    {
      provide: OidcVerifier,
      inject: [APP_CONFIG, LOGGER, PRINCIPAL_DIRECTORY],
      useFactory: (config: AppConfig, logger: Logger, users: PrincipalDirectory) =>
        OidcVerifier.fromConfig(config, logger, { roleGrants: () => users.userDirectory() }),
    },
    OidcStrategy,
    RequestRateLimiter,
    AuthFailureThrottle,
    RefusalAudit,
    // Global guards run in this order: who is calling, then how often (rate limits need the principal).
    { provide: APP_GUARD, useClass: AuthenticationGuard },
    { provide: APP_GUARD, useClass: RateLimitGuard },
  ],
  exports: [ManagedKeyCache, OidcVerifier],
})
export class AuthModule {}
