import { Body, Controller, Get, HttpCode, Inject, Param, Post, Req, Res } from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiBody,
  ApiInternalServerErrorResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiProduces,
  ApiSecurity,
  ApiTags,
  ApiUnauthorizedResponse,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { CurrentPrincipal } from '../auth/decorators/current-principal.decorator.js';
import type { Principal } from '../auth/principal.js';
import { ClientClosedError } from '../common/errors/api-error.js';
import { toErrorResponse } from '../common/errors/error-response.js';
import { abortOnClose } from '../common/http/abort-on-close.js';
import { ERROR_CODE_LOCAL } from '../common/http/request-middleware.js';
import { LOGGER } from '../common/logging/logging.module.js';
import { API_KEY_SCHEME, BEARER_SCHEME } from '../common/http/swagger.js';
import { AgentsService } from './agents.service.js';
import { ErrorResponseDto, InvokeAgentResponseDto, ListAgentsResponseDto } from './dto/agent-responses.dto.js';
import { InvokeAgentDto } from './dto/invoke-agent.dto.js';
import { ContinueSessionResponseDto } from '../sessions/dto/session.dto.js';
import { SessionsService } from '../sessions/sessions.service.js';
import { SseWriter } from './sse-writer.js';

@ApiTags('agents')
@ApiSecurity(API_KEY_SCHEME)
@ApiSecurity(BEARER_SCHEME)
@ApiUnauthorizedResponse({ type: ErrorResponseDto })
@Controller('v1/agents')
export class AgentsController {
  constructor(
    private readonly agents: AgentsService,
    private readonly sessions: SessionsService,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Lists the agents of the loaded definitions, in definition order. */
  @Get()
  @ApiOkResponse({ type: ListAgentsResponseDto })
  list(): ListAgentsResponseDto {
    return this.agents.list();
  }

  /** Invokes an agent and answers with its full output. */
  @Post(':name/invoke')
  @HttpCode(200)
  @ApiOkResponse({ type: InvokeAgentResponseDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  @ApiInternalServerErrorResponse({ type: ErrorResponseDto, description: 'The model provider or a tool failed beyond retries.' })
  async invoke(
    @Param('name') name: string,
    @Body() body: InvokeAgentDto,
    @CurrentPrincipal() principal: Principal,
    @Req() request: Request,
  ): Promise<InvokeAgentResponseDto | ContinueSessionResponseDto> {
    const call = AgentsService.callFrom(body);
    const signal = abortOnClose(request);
    if (call.sessionId) return this.sessions.continue(name, call.sessionId, call, principal, { signal });
    return this.agents.invoke(this.agents.prepare(name, call).profile, call, principal, 'invoke', { signal });
  }

  /**
   * Invokes an agent and streams its answer as Server-Sent Events: `token`, `tool_call`,
   * `tool_result`, then one `done` with the usage (or one `error`).
   */
  @Post(':name/stream')
  @HttpCode(200)
  @ApiOperation({ summary: 'Invoke an agent, streaming the answer (SSE)' })
  @ApiProduces('text/event-stream')
  @ApiBody({ type: InvokeAgentDto })
  @ApiOkResponse({ description: 'A `text/event-stream` of JSON events, one per `data:` line.' })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async stream(
    @Param('name') name: string,
    @Body() body: InvokeAgentDto,
    @CurrentPrincipal() principal: Principal,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    const call = AgentsService.callFrom(body);
    // Everything that can be refused is refused here, as a normal JSON error, before any byte.
    const turn = call.sessionId ? await this.sessions.begin(name, call.sessionId, call) : undefined;
    const profile = turn?.profile ?? this.agents.prepare(name, call).profile;

    const sse = new SseWriter(request, response);
    const options = { signal: sse.signal, stream: true, onEvent: (event: Record<string, unknown>) => sse.send(event) };
    try {
      const result = turn
        ? (await this.sessions.complete(turn, call, principal, options)).result
        : await this.agents.invoke(profile, call, principal, 'stream', options);
      sse.send({ type: 'done', usage: result.usage });
    } catch (error) {
      if (error instanceof ClientClosedError) {
        response.locals[ERROR_CODE_LOCAL] = error.code;
      } else {
        const answer = toErrorResponse(error);
        if (answer.unexpected) this.logger.error({ err: error }, 'stream failed');
        response.locals[ERROR_CODE_LOCAL] = answer.body.error.code;
        sse.send({ type: 'error', code: answer.body.error.code, message: answer.body.error.message });
      }
    } finally {
      sse.end();
    }
  }
}
