import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { AgentsService, type AgentCall, type RunOptions } from '../agents/agents.service.js';
import type { Principal } from '../auth/principal.js';
import { NotFoundError, SessionBusyError } from '../common/errors/api-error.js';
import { LOGGER } from '../common/logging/logging.module.js';
import { requestContext } from '../common/request-context/request-context.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import type { AgentProfile, AgentRunResult } from '../engine/agent-loop.js';
import type {
  ContinueSessionResponseDto,
  ListSessionsResponseDto,
  SessionDto,
  SessionHistoryDto,
  SessionSummaryDto,
} from './dto/session.dto.js';
import { SessionLeaseLostError, SessionsRepository, type SessionRecord, type TurnLease } from './sessions.repository.js';

export const DEFAULT_MEMORY_MESSAGES = 50;
/** How long a turn may hold its session without renewing; renewed every third of it. */
const LEASE_MS = 60_000;
const BUSY_RETRY_AFTER_SECONDS = 2;

/** A claimed turn: the agent and the lease, taken before any answer byte is sent. */
export interface TurnStart {
  agentName: string;
  profile: AgentProfile;
  memoryMessages: number;
  lease: TurnLease;
}

@Injectable()
export class SessionsService {
  constructor(
    private readonly repository: SessionsRepository,
    private readonly agents: AgentsService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async create(agentName: string, metadata: Record<string, string> | undefined, principal: Principal): Promise<SessionDto> {
    this.agents.resolve(agentName);
    const session = await this.repository.create({
      agent: agentName,
      metadata: metadata ?? {},
      principal: principal.id,
      correlationId: requestContext.correlationId() ?? '',
    });
    return { session_id: session.id, agent: session.agent, created_at: session.createdAt.toISOString(), metadata: session.metadata };
  }

  async list(agentName: string, limit: number, offset: number): Promise<ListSessionsResponseDto> {
    this.agents.resolve(agentName);
    const page = await this.repository.list(agentName, { limit, offset }, this.config.sessionIdleTimeoutMs);
    return { sessions: page.sessions.map(summary), total: page.total };
  }

  async history(agentName: string, id: string): Promise<SessionHistoryDto> {
    this.agents.resolve(agentName);
    const session = await this.repository.history(agentName, id, this.config.sessionIdleTimeoutMs);
    if (!session) throw sessionNotFound(id);
    return {
      ...summary(session),
      messages: session.messages.map((message) => ({
        turn: message.turn,
        role: message.role,
        content: message.content,
        created_at: message.createdAt.toISOString(),
        ...(message.usage ? { usage: message.usage } : {}),
        ...(message.toolCalls ? { tool_calls: message.toolCalls as SessionHistoryDto['messages'][number]['tool_calls'] } : {}),
      })),
    };
  }

  async delete(agentName: string, id: string): Promise<void> {
    this.agents.resolve(agentName);
    if (!(await this.repository.softDelete(agentName, id))) throw sessionNotFound(id);
  }

  /** One turn, answered as JSON. */
  async continue(agentName: string, id: string, call: AgentCall, principal: Principal, options: RunOptions = {}): Promise<ContinueSessionResponseDto> {
    const start = await this.begin(agentName, id, call);
    const { result, turn } = await this.complete(start, call, principal, options);
    return {
      output: result.output,
      usage: result.usage,
      turn,
      tool_calls: result.tool_calls,
      duration_ms: result.duration_ms,
      finish_reason: result.finish_reason,
    };
  }

  /** Checks the call and claims the session's turn; 400/404/409 come from here. */
  async begin(agentName: string, id: string, call: AgentCall): Promise<TurnStart> {
    const { agent, profile } = this.agents.prepare(agentName, call);
    const claim = await this.repository.claimTurn(agentName, id, { leaseMs: LEASE_MS, idleTimeoutMs: this.config.sessionIdleTimeoutMs });
    if (claim.status === 'not_found') throw sessionNotFound(id);
    if (claim.status === 'busy') {
      throw new SessionBusyError(`Session '${id}' is answering another turn; try again when it is done.`, BUSY_RETRY_AFTER_SECONDS);
    }
    return { agentName, profile, memoryMessages: agent.memory?.max_messages ?? DEFAULT_MEMORY_MESSAGES, lease: claim.lease };
  }

  /**
   * Runs the claimed turn with the session's memory window and stores it before returning.
   * On any failure nothing is stored and the session is released for the next turn.
   */
  async complete(start: TurnStart, call: AgentCall, principal: Principal, options: RunOptions = {}): Promise<{ result: AgentRunResult; turn: number }> {
    const { lease } = start;
    const heartbeat = setInterval(() => {
      this.repository.renewLease(lease.sessionId, lease.token, LEASE_MS).catch((error: unknown) => {
        this.logger.warn({ session_id: lease.sessionId, err_message: (error as Error).message }, 'could not renew a session lease');
      });
    }, LEASE_MS / 3);
    heartbeat.unref();
    try {
      const history = await this.repository.memoryWindow(lease.sessionId, start.memoryMessages);
      const result = await this.agents.run(start.profile, call, { ...options, history });
      const turn = await this.repository.appendTurn(lease.sessionId, lease.token, {
        user: { content: call.input },
        assistant: { content: result.output, usage: result.usage, toolCalls: result.tool_calls },
        principal: principal.id,
        correlationId: requestContext.correlationId() ?? '',
      });
      return { result, turn };
    } catch (error) {
      this.release(lease);
      // Deleted (or expired) while this turn ran: the session is gone, not busy.
      if (error instanceof SessionLeaseLostError && !(await this.isLive(start.agentName, lease.sessionId))) {
        throw sessionNotFound(lease.sessionId);
      }
      throw error;
    } finally {
      clearInterval(heartbeat);
    }
  }

  private async isLive(agentName: string, id: string): Promise<boolean> {
    return (await this.repository.findLive(agentName, id, this.config.sessionIdleTimeoutMs)) !== undefined;
  }

  /** Frees the session after a failed turn; keeps trying for a while if the database is down. */
  private release(lease: TurnLease, attempt = 1): void {
    this.repository.releaseTurn(lease.sessionId, lease.token).catch((error: unknown) => {
      if (attempt >= 15) {
        this.logger.warn({ session_id: lease.sessionId, err_message: (error as Error).message }, 'session lease left to expire');
        return;
      }
      setTimeout(() => this.release(lease, attempt + 1), 2_000).unref();
    });
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

function sessionNotFound(id: string): NotFoundError {
  return new NotFoundError(`Session '${id}' does not exist or has expired.`);
}
