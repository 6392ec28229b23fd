import { Controller, Get, Res } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiSecurity,
  ApiServiceUnavailableResponse,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import { PrometheusController } from '@willsoto/nestjs-prometheus';
import type { Response } from 'express';
import { Public } from '../auth/decorators/public.decorator.js';
import { ErrorResponseDto } from '../common/dto/error-response.dto.js';
import { API_KEY_SCHEME, BEARER_SCHEME } from '../common/http/swagger.js';

/** Credentials are needed only with AGENTSPEC_METRICS_AUTH=true (docs/api.md §9). */
@ApiTags('metrics')
@ApiSecurity({})
@ApiSecurity(API_KEY_SCHEME)
@ApiSecurity(BEARER_SCHEME)
@Public('metrics')
@Controller()
export class MetricsController extends PrometheusController {
  @Get()
  @ApiOperation({ summary: 'Prometheus metrics (text format)' })
  @ApiOkResponse({
    description: 'The Prometheus text exposition format, version 0.0.4.',
    content: { 'text/plain': { schema: { type: 'string' } } },
  })
  @ApiUnauthorizedResponse({ type: ErrorResponseDto, description: '`unauthorized`: AGENTSPEC_METRICS_AUTH=true and no valid credentials.' })
  @ApiTooManyRequestsResponse({
    type: ErrorResponseDto,
    description: '`rate_limited`: AGENTSPEC_METRICS_AUTH=true and the client address is blocked after repeated invalid credentials.',
  })
  @ApiServiceUnavailableResponse({
    type: ErrorResponseDto,
    description: '`unavailable`: AGENTSPEC_METRICS_AUTH=true and the database is needed to check a key.',
  })
  override async index(@Res({ passthrough: true }) response: Response): Promise<string> {
    return super.index(response);
  }
}
