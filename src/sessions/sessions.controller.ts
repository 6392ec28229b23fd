import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query, Req } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiConflictResponse,
  ApiInternalServerErrorResponse,
  ApiForbiddenResponse,
  ApiNoContentResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiParam,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import type { Request } from 'express';
import { ErrorResponseDto } from '../common/dto/error-response.dto.js';
import { abortOnClose } from '../common/http/abort-on-close.js';
import { correlationIdOf } from '../common/request-context/request-context.js';
import { CurrentPrincipal } from '../auth/decorators/current-principal.decorator.js';
import type { Principal } from '../auth/principal.js';
import {
  AGENT_RUN_TOO_MANY_REQUESTS,
  AGENT_RUN_VALIDATION_FAILED,
  ApiCredentialRefusals,
  ApiJsonBodyRefusals,
  EXAMPLE_AGENT,
  RATE_LIMITED_TOO_MANY_REQUESTS,
  SESSION_BUSY,
} from '../common/http/swagger.js';
import { AGENT_CALL_EXAMPLES } from '../common/dto/agent-call.dto.js';
import { toAgentCall } from '../runtime/agent-call.js';
import { ContinueSessionResponseDto } from '../common/dto/agent-run.dto.js';
import { DEFAULT_PAGE_LIMIT } from '../common/pagination.dto.js';
import {
  ContinueSessionDto,
  CreateSessionDto,
  ListSessionsQueryDto,
  ListSessionsResponseDto,
  SessionDto,
  SessionHistoryDto,
} from './dto/session.dto.js';
import { SessionsService } from './sessions.service.js';

@ApiTags('sessions')
@ApiCredentialRefusals()
@ApiParam({ name: 'name', example: EXAMPLE_AGENT })
@ApiForbiddenResponse({
  type: ErrorResponseDto,
  description: 'The caller may not use this agent (or, for list and history, read its sessions).',
})
@ApiNotFoundResponse({ type: ErrorResponseDto, description: "Unknown agent or session, the session expired, or it is another caller's." })
@Controller('v1/agents/:name/sessions')
export class SessionsController {
  constructor(private readonly sessions: SessionsService) {}

  /** Creates a multi-turn session with an agent. */
  @Post()
  @ApiTooManyRequestsResponse(RATE_LIMITED_TOO_MANY_REQUESTS)
  @HttpCode(200)
  @ApiBody({
    type: CreateSessionDto,
    examples: { labelled: { summary: 'A session with a label', value: { metadata: { customer_id: 'c-42' } } } },
  })
  @ApiOkResponse({ type: SessionDto })
  @ApiJsonBodyRefusals()
  create(
    @Param('name') name: string,
    @Body() body: CreateSessionDto,
    @CurrentPrincipal() principal: Principal,
    @Req() request: Request,
  ): Promise<SessionDto> {
    return this.sessions.create(name, body.metadata, principal, correlationIdOf(request));
  }

  /** Lists the agent's live sessions, newest first. */
  @Get()
  @ApiOkResponse({ type: ListSessionsResponseDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  list(
    @Param('name') name: string,
    @Query() query: ListSessionsQueryDto,
    @CurrentPrincipal() principal: Principal,
  ): Promise<ListSessionsResponseDto> {
    return this.sessions.list(name, principal, query.limit ?? DEFAULT_PAGE_LIMIT, query.offset ?? 0);
  }

  /** One turn: the agent answers with the session's history as context; the turn is stored. */
  @Post(':id/continue')
  @ApiUnprocessableEntityResponse(AGENT_RUN_VALIDATION_FAILED)
  @ApiTooManyRequestsResponse(AGENT_RUN_TOO_MANY_REQUESTS)
  @HttpCode(200)
  @ApiBody({ type: ContinueSessionDto, examples: AGENT_CALL_EXAMPLES })
  @ApiOkResponse({ type: ContinueSessionResponseDto })
  @ApiJsonBodyRefusals()
  @ApiConflictResponse(SESSION_BUSY)
  @ApiInternalServerErrorResponse({ type: ErrorResponseDto, description: 'The model provider or a tool failed beyond retries.' })
  continue(
    @Param('name') name: string,
    @Param('id') id: string,
    @Body() body: ContinueSessionDto,
    @CurrentPrincipal() principal: Principal,
    @Req() request: Request,
  ): Promise<ContinueSessionResponseDto> {
    return this.sessions.continue(name, id, toAgentCall(body), principal, correlationIdOf(request), { signal: abortOnClose(request) });
  }

  /** Compatibility alias of continue (older SDKs). */
  @Post(':id')
  @ApiUnprocessableEntityResponse(AGENT_RUN_VALIDATION_FAILED)
  @ApiTooManyRequestsResponse(AGENT_RUN_TOO_MANY_REQUESTS)
  @HttpCode(200)
  @ApiBody({ type: ContinueSessionDto, examples: AGENT_CALL_EXAMPLES })
  @ApiOkResponse({ type: ContinueSessionResponseDto })
  @ApiJsonBodyRefusals()
  @ApiConflictResponse(SESSION_BUSY)
  @ApiInternalServerErrorResponse({ type: ErrorResponseDto, description: 'The model provider or a tool failed beyond retries.' })
  continueAlias(
    @Param('name') name: string,
    @Param('id') id: string,
    @Body() body: ContinueSessionDto,
    @CurrentPrincipal() principal: Principal,
    @Req() request: Request,
  ): Promise<ContinueSessionResponseDto> {
    return this.continue(name, id, body, principal, request);
  }

  /** The stored conversation: every message in order (the audit view). */
  @Get(':id')
  @ApiOkResponse({ type: SessionHistoryDto })
  history(@Param('name') name: string, @Param('id') id: string, @CurrentPrincipal() principal: Principal): Promise<SessionHistoryDto> {
    return this.sessions.history(name, id, principal);
  }

  /** Ends a session: it can no longer be continued or listed; its rows stay for audit. */
  @Delete(':id')
  @HttpCode(204)
  @ApiNoContentResponse()
  async delete(@Param('name') name: string, @Param('id') id: string, @CurrentPrincipal() principal: Principal): Promise<void> {
    await this.sessions.delete(name, id, principal);
  }
}
