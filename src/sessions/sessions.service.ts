import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { readableOwner, requireAgentUse, requireSessionsRead, writableOwner } from '../auth/authorization.js';
import type { Principal } from '../auth/principal.js';
import { toToolCallDto, toTurnResponse, toUsageDto, type ContinueSessionResponseDto } from '../common/dto/agent-run.dto.js';
import { NotFoundError, SessionBusyError } from '../common/errors/domain-errors.js';
import { errorCodeOf } from '../common/errors/error-table.js';
import { LOGGER } from '../common/logging/logging.module.js';
import { requestLogFields } from '../common/request-context/request-context.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import type { AgentRunResult } from '../engine/agent-loop.js';
import type { AgentCall } from '../runtime/agent-call.js';
import { originLogFields, type CallOrigin } from '../governance/governance-events.repository.js';
import { AgentRunner, type RunOptions } from '../runtime/agent-runner.js';
import { CatalogService } from '../runtime/catalog.service.js';
import type { ClaimedTurn, SessionTurns } from '../runtime/session-turns.port.js';
import { ListSessionsResponseDto, SessionDto, SessionHistoryDto, SessionSummaryDto } from './dto/session.dto.js';
import {
  SessionLeaseLostError,
  SessionsRepository,
  type MemoryMessage,
  type SessionRecord,
  type TurnFailure,
  type TurnLease,
} from './sessions.repository.js';
import { shorten } from '../common/validation/request-values.js';

export const DEFAULT_MEMORY_MESSAGES = 50;
/** How long a turn may hold its session without renewing; renewed every third of it. */
const LEASE_MS = 60_000;
const BUSY_RETRY_AFTER_SECONDS = 2;

/** A claimed turn: the prepared call and the lease, taken before any answer byte is sent. */
interface TurnStart extends ClaimedTurn {
  lease: TurnLease;
  /** The memory window, read by the claim. */
  history: MemoryMessage[];
  /** The request the turn belongs to: its audit rows and log lines name it. */
  origin: CallOrigin;
}

@Injectable()
export class SessionsService implements SessionTurns {
  constructor(
    private readonly repository: SessionsRepository,
    private readonly catalog: CatalogService,
    private readonly runner: AgentRunner,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async create(
    agentName: string,
    metadata: Record<string, string> | undefined,
    principal: Principal,
    correlationId: string,
  ): Promise<SessionDto> {
    this.requireAgent(agentName);
    requireAgentUse(principal, agentName);
    const session = await this.repository.create({
      agent: agentName,
      metadata: metadata ?? {},
      principal: principal.id,
      correlationId,
    });
    return { session_id: session.id, agent: session.agent, created_at: session.createdAt.toISOString(), metadata: session.metadata };
  }

  /** The caller's own sessions; every principal's for admin and auditor. */
  async list(agentName: string, principal: Principal, limit: number, offset: number): Promise<ListSessionsResponseDto> {
    this.requireAgent(agentName);
    requireSessionsRead(principal, agentName);
    const page = await this.repository.list(agentName, readableOwner(principal), { limit, offset }, this.config.sessionIdleTimeoutMs);
    return { sessions: page.sessions.map(summary), total: page.total };
  }

  async history(agentName: string, id: string, principal: Principal): Promise<SessionHistoryDto> {
    this.requireAgent(agentName);
    requireSessionsRead(principal, agentName);
    const session = await this.repository.history(agentName, id, readableOwner(principal), this.config.sessionIdleTimeoutMs);
    if (!session) throw sessionNotFound(id);
    return {
      ...summary(session),
      messages: session.messages.map((message) => ({
        turn: message.turn,
        role: message.role,
        content: message.content,
        created_at: message.createdAt.toISOString(),
        ...(message.usage ? { usage: message.usage } : {}),
        ...(message.toolCalls ? { tool_calls: message.toolCalls } : {}),
      })),
    };
  }

  async delete(agentName: string, id: string, principal: Principal): Promise<void> {
    this.requireAgent(agentName);
    requireAgentUse(principal, agentName);
    if (!(await this.repository.softDelete(agentName, id, writableOwner(principal)))) throw sessionNotFound(id);
  }

  /** One turn, answered as JSON. */
  async continue(
    agentName: string,
    id: string,
    call: AgentCall,
    principal: Principal,
    correlationId: string,
    options: RunOptions = {},
  ): Promise<ContinueSessionResponseDto> {
    const start = await this.begin(agentName, id, call, principal, correlationId);
    const { result, turn } = await this.complete(start, principal, options);
    return toTurnResponse(result, turn);
  }

  /** Checks the caller and the call, and claims the session's turn; 400/403/404/409 come from here. */
  async begin(agentName: string, id: string, call: AgentCall, principal: Principal, correlationId: string): Promise<TurnStart> {
    this.requireAgent(agentName);
    requireAgentUse(principal, agentName);
    const prepared = this.runner.prepare(agentName, call);
    // Over budget: refused before the claim, so the session is not held for a refusal.
    await this.runner.admit(prepared, { endpoint: 'session', principal: principal.id, correlationId });
    const claim = await this.repository.claimTurn(agentName, id, writableOwner(principal), {
      leaseMs: LEASE_MS,
      idleTimeoutMs: this.config.sessionIdleTimeoutMs,
      memoryMessages: prepared.agent.memory?.max_messages ?? DEFAULT_MEMORY_MESSAGES,
    });
    if (claim.status === 'not_found') throw sessionNotFound(id);
    if (claim.status === 'busy') {
      throw new SessionBusyError(`Session '${id}' is answering another turn; try again when it is done.`, BUSY_RETRY_AFTER_SECONDS);
    }
    const origin: CallOrigin = { endpoint: 'session', principal: principal.id, correlationId, sessionId: claim.lease.sessionId };
    return { prepared, lease: claim.lease, history: claim.memory ?? [], origin };
  }

  /**
   * Runs the claimed turn with the session's memory window and stores it before returning.
   * On any failure nothing is stored and the session is released for the next turn.
   */
  async complete(claimed: ClaimedTurn, principal: Principal, options: RunOptions = {}): Promise<{ result: AgentRunResult; turn: number }> {
    const start = claimed as TurnStart;
    const { lease, prepared, origin } = start;
    const heartbeat = setInterval(() => {
      this.repository.renewLease(lease.sessionId, lease.token, LEASE_MS).catch((error: unknown) => {
        this.logger.warn(
          { ...originLogFields(origin), session_id: lease.sessionId, err_message: (error as Error).message },
          'could not renew a session lease',
        );
      });
    }, LEASE_MS / 3);
    heartbeat.unref();
    try {
      const result = await this.runner.run(prepared, {
        ...options,
        history: start.history,
        origin,
        admitted: true,
        session: { id: lease.sessionId, turn: lease.turn, metadata: lease.metadata },
      });
      const turn = await this.repository.appendTurn(lease.sessionId, lease.token, {
        user: { content: result.storedInput },
        assistant: { content: result.output, usage: toUsageDto(result.usage), toolCalls: result.toolCalls.map(toToolCallDto) },
        principal: principal.id,
        correlationId: origin.correlationId,
      });
      return { result, turn };
    } catch (error) {
      // Deleted (or expired) while this turn ran: the session is gone, not busy.
      const answered =
        error instanceof SessionLeaseLostError && !(await this.isLive(prepared.agent.name, lease.sessionId))
          ? sessionNotFound(lease.sessionId)
          : error;
      // Freed before the answer, so a caller who retries at once is not told the session is busy;
      // the failed turn is recorded with it, with the code the caller gets.
      await this.release(lease, turnFailure(answered, lease.turn, origin));
      throw answered;
    } finally {
      clearInterval(heartbeat);
    }
  }

  private requireAgent(name: string): void {
    if (!this.catalog.isAgent(name)) throw new NotFoundError(`Agent '${shorten(name)}' does not exist.`);
  }

  private async isLive(agentName: string, id: string): Promise<boolean> {
    return (await this.repository.findLive(agentName, id, this.config.sessionIdleTimeoutMs)) !== undefined;
  }

  /**
   * Frees the session after a failed turn. The first attempt is awaited; when the database is
   * down, the retries go on in the background for a while, then the lease is left to expire.
   */
  private async release(lease: TurnLease, failure: TurnFailure, attempt = 1): Promise<void> {
    try {
      await this.repository.releaseTurn(lease.sessionId, lease.token, failure);
    } catch (error) {
      if (attempt >= 15) {
        this.logger.warn(
          {
            ...requestLogFields(failure.correlationId, failure.principal),
            session_id: lease.sessionId,
            err_message: (error as Error).message,
          },
          'session lease left to expire',
        );
        return;
      }
      setTimeout(() => void this.release(lease, failure, attempt + 1), 2_000).unref();
    }
  }
}

function summary(session: SessionRecord): SessionSummaryDto {
  return {
    session_id: session.id,
    agent: session.agent,
    turns: session.turns,
    created_at: session.createdAt.toISOString(),
    last_active_at: session.lastActiveAt.toISOString(),
    metadata: session.metadata,
  };
}

function turnFailure(error: unknown, turn: number, origin: CallOrigin): TurnFailure {
  const errorCode = errorCodeOf(error);
  const outcome =
    errorCode === 'client_closed' ? 'cancelled' : errorCode === 'budget_exceeded' || errorCode === 'rate_limited' ? 'refused' : 'error';
  return { turn, principal: origin.principal, outcome, errorCode, correlationId: origin.correlationId, at: new Date() };
}

function sessionNotFound(id: string): NotFoundError {
  return new NotFoundError(`Session '${shorten(id)}' does not exist or has expired.`);
}
