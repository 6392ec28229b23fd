import { Body, Controller, Get, HttpCode, Param, Post, Query, Req, Res } from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiBody,
  ApiForbiddenResponse,
  ApiInternalServerErrorResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiParam,
  ApiTags,
  ApiTooManyRequestsResponse,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { ErrorResponseDto } from '../common/dto/error-response.dto.js';
import { CurrentPrincipal } from '../auth/decorators/current-principal.decorator.js';
import type { Principal } from '../auth/principal.js';
import { ApiCredentialRefusals, ApiJsonBodyRefusals, EXAMPLE_PIPELINE, RATE_LIMITED_TOO_MANY_REQUESTS } from '../common/http/swagger.js';
import { abortOnClose } from '../common/http/abort-on-close.js';
import { correlationIdOf } from '../common/request-context/request-context.js';
import { DEFAULT_PAGE_LIMIT } from '../common/pagination.dto.js';
import {
  AcceptedRunDto,
  ListPipelinesResponseDto,
  ListRunsQueryDto,
  ListRunsResponseDto,
  RunDocumentDto,
  RunPipelineDto,
  RunStatusDto,
  StatusQueryDto,
} from './dto/pipeline.dto.js';
import { PipelinesService } from './pipelines.service.js';

@ApiTags('pipelines')
@ApiCredentialRefusals()
@Controller('v1/pipelines')
export class PipelinesController {
  constructor(private readonly pipelines: PipelinesService) {}

  /** The pipelines of the loaded definitions the caller may see, and their steps. */
  @Get()
  @ApiOkResponse({ type: ListPipelinesResponseDto })
  list(@CurrentPrincipal() principal: Principal): ListPipelinesResponseDto {
    return this.pipelines.list(principal);
  }

  /**
   * Runs a pipeline. Synchronous by default (200 with the run, or 500 `pipeline_error` with the
   * run when a step failed); with `options.async` it answers 202 at once.
   */
  @Post(':name/run')
  @ApiTooManyRequestsResponse(RATE_LIMITED_TOO_MANY_REQUESTS)
  @HttpCode(200)
  @ApiParam({ name: 'name', example: EXAMPLE_PIPELINE })
  @ApiBody({
    type: RunPipelineDto,
    examples: { topic: { summary: 'A topic to research', value: { input: 'Renewable energy storage in 2026' } } },
  })
  @ApiOkResponse({ type: RunDocumentDto })
  @ApiAcceptedResponse({ type: AcceptedRunDto, description: 'With `options.async: true`.' })
  @ApiInternalServerErrorResponse({ type: RunDocumentDto, description: 'A step failed: the run document with `error`.' })
  @ApiJsonBodyRefusals()
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: "The caller may not use every step's agent." })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async run(
    @Param('name') name: string,
    @Body() body: RunPipelineDto,
    @CurrentPrincipal() principal: Principal,
    @Req() request: Request,
    @Res({ passthrough: true }) response: Response,
  ): Promise<RunDocumentDto | AcceptedRunDto> {
    const input = body.input ?? JSON.stringify(body.trigger);
    if (body.options?.async) {
      response.status(202);
      return this.pipelines.runAsync(name, input, principal, correlationIdOf(request));
    }
    const document = await this.pipelines.runSync(name, input, principal, correlationIdOf(request), abortOnClose(request));
    if (document.status === 'failed') response.status(500);
    return document;
  }

  /** A run's live status: the one named by `run_id`, else the most recent. */
  @Get(':name/status')
  @ApiParam({ name: 'name', example: EXAMPLE_PIPELINE })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'An unknown or invalid query parameter.' })
  @ApiOkResponse({ type: RunStatusDto })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: "The caller may not read this pipeline's runs." })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: "Unknown pipeline or run, another caller's run, or no run yet." })
  status(@Param('name') name: string, @Query() query: StatusQueryDto, @CurrentPrincipal() principal: Principal): Promise<RunStatusDto> {
    return this.pipelines.status(name, query.run_id, principal);
  }

  /** Runs of a pipeline, newest first. */
  @Get(':name/runs')
  @ApiParam({ name: 'name', example: EXAMPLE_PIPELINE })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'An unknown or invalid query parameter.' })
  @ApiOkResponse({ type: ListRunsResponseDto })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: "The caller may not read this pipeline's runs." })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  runs(
    @Param('name') name: string,
    @Query() query: ListRunsQueryDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ListRunsResponseDto> {
    return this.pipelines.listRuns(name, principal, query.limit ?? DEFAULT_PAGE_LIMIT, query.offset ?? 0);
  }

  /** Cancels a run, whichever replica executes it: running steps are aborted, pending ones skipped. */
  @Post(':name/runs/:run_id/cancel')
  @HttpCode(200)
  @ApiParam({ name: 'name', example: EXAMPLE_PIPELINE })
  @ApiJsonBodyRefusals()
  @ApiOkResponse({ type: RunStatusDto })
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: "The caller may not use every step's agent." })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: "Unknown pipeline or run, or another caller's run." })
  cancel(@Param('name') name: string, @Param('run_id') runId: string, @CurrentPrincipal() principal: Principal): Promise<RunStatusDto> {
    return this.pipelines.cancel(name, runId, principal);
  }
}
