import { Module } from '@nestjs/common';
import { APP_GUARD } from '@nestjs/core';
import { PassportModule } from '@nestjs/passport';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { ApiKeyVerifier } from './api-key-verifier.js';
import { AuthenticationGuard } from './guards/authentication.guard.js';
import { ApiKeyStrategy } from './strategies/api-key.strategy.js';
import { BearerStrategy } from './strategies/bearer.strategy.js';

@Module({
  imports: [PassportModule.register({ session: false })],
  providers: [
    { provide: ApiKeyVerifier, inject: [APP_CONFIG], useFactory: (config: AppConfig) => new ApiKeyVerifier(config.apiKeys) },
    ApiKeyStrategy,
    BearerStrategy,
    { provide: APP_GUARD, useClass: AuthenticationGuard },
  ],
})
export class AuthModule {}
