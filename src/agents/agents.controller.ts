import { Body, Controller, Get, HttpCode, Inject, Param, Post, Req, Res } from '@nestjs/common';
import {
  ApiBody,
  ApiConflictResponse,
  ApiExtraModels,
  ApiForbiddenResponse,
  ApiInternalServerErrorResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiParam,
  ApiTags,
  ApiTooManyRequestsResponse,
  ApiUnprocessableEntityResponse,
  getSchemaPath,
} from '@nestjs/swagger';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { CurrentPrincipal } from '../auth/decorators/current-principal.decorator.js';
import type { Principal } from '../auth/principal.js';
import { AGENT_CALL_EXAMPLES } from '../common/dto/agent-call.dto.js';
import { ContinueSessionResponseDto, toUsageDto } from '../common/dto/agent-run.dto.js';
import { ErrorResponseDto } from '../common/dto/error-response.dto.js';
import { ClientClosedError } from '../common/errors/domain-errors.js';
import { toErrorResponse } from '../common/errors/error-table.js';
import { abortOnClose } from '../common/http/abort-on-close.js';
import { ERROR_CODE_LOCAL } from '../common/http/request-middleware.js';
import {
  AGENT_RUN_TOO_MANY_REQUESTS,
  AGENT_RUN_VALIDATION_FAILED,
  ApiCredentialRefusals,
  ApiJsonBodyRefusals,
  EXAMPLE_AGENT,
  SESSION_BUSY,
} from '../common/http/swagger.js';
import { LOGGER } from '../common/logging/logging.module.js';
import { correlationIdOf, logFields, requestContext } from '../common/request-context/request-context.js';
import { toAgentCall } from '../runtime/agent-call.js';
import type { RunEvent } from '../runtime/agent-runner.js';
import { SESSION_TURNS, type SessionTurns } from '../runtime/session-turns.port.js';
import { AgentsService, toInvokeResponse } from './agents.service.js';
import { InvokeAgentResponseDto, ListAgentsResponseDto } from './dto/agent-responses.dto.js';
import { InvokeAgentDto } from './dto/invoke-agent.dto.js';
import { SseWriter } from './sse-writer.js';

@ApiTags('agents')
@ApiCredentialRefusals()
@ApiExtraModels(InvokeAgentResponseDto, ContinueSessionResponseDto)
@Controller('v1/agents')
export class AgentsController {
  constructor(
    private readonly agents: AgentsService,
    @Inject(SESSION_TURNS) private readonly sessions: SessionTurns,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Lists the agents of the loaded definitions the caller may see, in definition order. */
  @Get()
  @ApiOkResponse({ type: ListAgentsResponseDto })
  list(@CurrentPrincipal() principal: Principal, @Req() request: Request): Promise<ListAgentsResponseDto> {
    return this.agents.list(principal, correlationIdOf(request));
  }

  /** Invokes an agent and answers with its full output. */
  @Post(':name/invoke')
  @ApiUnprocessableEntityResponse(AGENT_RUN_VALIDATION_FAILED)
  @ApiTooManyRequestsResponse(AGENT_RUN_TOO_MANY_REQUESTS)
  @HttpCode(200)
  @ApiParam({ name: 'name', example: EXAMPLE_AGENT })
  @ApiBody({ type: InvokeAgentDto, examples: AGENT_CALL_EXAMPLES })
  @ApiOkResponse({
    description: 'The answer; with `session_id`, the answer of that session turn, as continue gives it.',
    schema: { oneOf: [{ $ref: getSchemaPath(InvokeAgentResponseDto) }, { $ref: getSchemaPath(ContinueSessionResponseDto) }] },
  })
  @ApiJsonBodyRefusals()
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'The caller may not use this agent.' })
  @ApiNotFoundResponse({
    type: ErrorResponseDto,
    description: "Unknown agent; with `session_id`, unknown, expired or another caller's session.",
  })
  @ApiConflictResponse(SESSION_BUSY)
  @ApiInternalServerErrorResponse({ type: ErrorResponseDto, description: 'The model provider or a tool failed beyond retries.' })
  async invoke(
    @Param('name') name: string,
    @Body() body: InvokeAgentDto,
    @CurrentPrincipal() principal: Principal,
    @Req() request: Request,
  ): Promise<InvokeAgentResponseDto | ContinueSessionResponseDto> {
    const call = toAgentCall(body);
    const signal = abortOnClose(request);
    const correlationId = correlationIdOf(request);
    if (body.session_id) return this.sessions.continue(name, body.session_id, call, principal, correlationId, { signal });
    const prepared = this.agents.prepare(name, call, principal);
    return toInvokeResponse(await this.agents.invoke(prepared, principal, 'invoke', correlationId, { signal }));
  }

  /**
   * Invokes an agent and streams its answer as Server-Sent Events: `token`, `tool_call`,
   * `tool_result`, then one `done` with the usage, and the turn's number for a session turn (or
   * one `error`).
   */
  @Post(':name/stream')
  @ApiTooManyRequestsResponse(AGENT_RUN_TOO_MANY_REQUESTS)
  @HttpCode(200)
  @ApiOperation({ summary: 'Invoke an agent, streaming the answer (SSE)' })
  @ApiParam({ name: 'name', example: EXAMPLE_AGENT })
  @ApiBody({ type: InvokeAgentDto, examples: AGENT_CALL_EXAMPLES })
  @ApiOkResponse({
    description: 'A `text/event-stream` of JSON events, one per `data:` line. Errors after the first byte are an `error` event.',
    content: { 'text/event-stream': { schema: { type: 'string' } } },
  })
  @ApiJsonBodyRefusals()
  @ApiForbiddenResponse({ type: ErrorResponseDto, description: 'The caller may not use this agent (JSON, before any byte of the stream).' })
  @ApiNotFoundResponse({
    type: ErrorResponseDto,
    description: "Unknown agent; with `session_id`, unknown, expired or another caller's session.",
  })
  @ApiConflictResponse(SESSION_BUSY)
  async stream(
    @Param('name') name: string,
    @Body() body: InvokeAgentDto,
    @CurrentPrincipal() principal: Principal,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    const call = toAgentCall(body);
    const correlationId = correlationIdOf(request);
    // Everything that can be refused is refused here, as a normal JSON error, before any byte.
    const turn = body.session_id ? await this.sessions.begin(name, body.session_id, call, principal, correlationId) : undefined;
    const prepared = turn?.prepared ?? this.agents.prepare(name, call, principal);
    if (!turn) await this.agents.admit(prepared, principal, 'stream', correlationId);

    const sse = new SseWriter(request, response);
    const options = { signal: sse.signal, stream: true, admitted: true, onEvent: (event: RunEvent) => sse.send(event) };
    try {
      if (turn) {
        const completed = await this.sessions.complete(turn, principal, options);
        void sse.send({ type: 'done', usage: toUsageDto(completed.result.usage), turn: completed.turn });
      } else {
        const result = await this.agents.invoke(prepared, principal, 'stream', correlationId, options);
        void sse.send({ type: 'done', usage: toUsageDto(result.usage) });
      }
    } catch (error) {
      if (error instanceof ClientClosedError) {
        response.locals[ERROR_CODE_LOCAL] = error.code;
      } else {
        const answer = toErrorResponse(error);
        if (answer.unexpected) this.logger.error({ ...logFields(requestContext.of(request)), err: error }, 'stream failed');
        response.locals[ERROR_CODE_LOCAL] = answer.body.error.code;
        void sse.send({ type: 'error', code: answer.body.error.code, message: answer.body.error.message });
      }
    } finally {
      sse.end();
    }
  }
}
