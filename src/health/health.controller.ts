import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiOkResponse, ApiServiceUnavailableResponse, ApiTags } from '@nestjs/swagger';
import { HealthCheckService } from '@nestjs/terminus';
import type { Response } from 'express';
import { Public } from '../auth/decorators/public.decorator.js';
import { OidcVerifier } from '../auth/oidc/oidc-verifier.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { DatabaseHealthIndicator } from './database.health.js';
import { type HealthChecksDto, HealthDto, LivenessDto } from './dto/health.dto.js';

const DATABASE_CHECK_TIMEOUT_MS = 1_000;
const OIDC_CHECK_TIMEOUT_MS = 1_000;
const startedAt = Date.now();

@ApiTags('health')
@Public()
@Controller()
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly database: DatabaseHealthIndicator,
    private readonly oidc: OidcVerifier,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /** Service health: `ok`, or `degraded` (503) while a dependency is down. */
  @Get('healthz')
  @ApiOkResponse({ type: HealthDto })
  @ApiServiceUnavailableResponse({ type: HealthDto, description: 'A dependency is down.' })
  healthz(@Res({ passthrough: true }) response: Response): Promise<HealthDto> {
    return this.report(response);
  }

  /** Readiness: the same checks as /healthz. */
  @Get('readyz')
  @ApiOkResponse({ type: HealthDto })
  @ApiServiceUnavailableResponse({ type: HealthDto })
  readyz(@Res({ passthrough: true }) response: Response): Promise<HealthDto> {
    return this.report(response);
  }

  /** Liveness: 200 while the process serves requests; checks nothing else. */
  @Get('livez')
  @ApiOkResponse({ type: LivenessDto })
  livez(): LivenessDto {
    return { status: 'ok', version: this.config.version, uptime_seconds: uptimeSeconds() };
  }

  private async report(response: Response): Promise<HealthDto> {
    const [database, oidc] = await Promise.all([this.checkDatabase(), this.oidc.check(OIDC_CHECK_TIMEOUT_MS)]);
    // The identity provider is reported but does not make the service unhealthy: API keys still
    // work, and every replica shares the issuer, so taking replicas out of rotation helps nobody.
    const healthy = database === 'ok';
    response.status(healthy ? 200 : 503);
    response.setHeader('Cache-Control', 'no-store');
    return {
      status: healthy ? 'ok' : 'degraded',
      version: this.config.version,
      uptime_seconds: uptimeSeconds(),
      checks: { database, ...(oidc ? { oidc } : {}) },
    };
  }

  private async checkDatabase(): Promise<HealthChecksDto['database']> {
    try {
      await this.health.check([() => this.database.check('database', DATABASE_CHECK_TIMEOUT_MS)]);
      return 'ok';
    } catch {
      return 'unavailable';
    }
  }
}

function uptimeSeconds(): number {
  return Math.floor((Date.now() - startedAt) / 1000);
}
