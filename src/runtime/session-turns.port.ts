import type { Principal } from '../auth/principal.js';
import { ContinueSessionResponseDto } from '../common/dto/agent-run.dto.js';
import type { AgentRunResult } from '../engine/agent-loop.js';
import type { AgentCall } from './agent-call.js';
import type { PreparedRun, RunOptions } from './agent-runner.js';

/**
 * Session turns, as other features need them: invoke and stream accept a `session_id` that
 * makes the call a turn of that session, exactly like continue (docs/api.md §4). The sessions
 * feature provides this port; the agents feature uses it without importing sessions.
 */
export const SESSION_TURNS = Symbol('SESSION_TURNS');

/** A turn whose session is claimed; nothing has been sent to the caller yet. */
export interface ClaimedTurn {
  readonly prepared: PreparedRun;
}

export interface SessionTurns {
  /** One whole turn of the request `correlationId`, answered as continue answers it. */
  continue(
    agent: string,
    sessionId: string,
    call: AgentCall,
    principal: Principal,
    correlationId: string,
    options?: RunOptions,
  ): Promise<ContinueSessionResponseDto>;
  /** Checks the caller and the call and claims the turn: 400, 403, 404 and 409 come from here, before any byte. */
  begin(agent: string, sessionId: string, call: AgentCall, principal: Principal, correlationId: string): Promise<ClaimedTurn>;
  /** Runs the claimed turn and stores it before returning; on failure the session is released. */
  complete(turn: ClaimedTurn, principal: Principal, options?: RunOptions): Promise<{ result: AgentRunResult; turn: number }>;
}
