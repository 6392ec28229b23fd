import { IsOptional } from 'class-validator';
import { acceptAgentCall, AgentCallDto } from '../../common/dto/agent-call.dto.js';
import { ToolCallDto, UsageDto } from '../../common/dto/agent-run.dto.js';
import { PaginationQueryDto } from '../../common/pagination.dto.js';
import { FAST_ACCEPT } from '../../common/validation/fast-acceptance.js';
import { IsStringRecord } from '../../common/validation/is-string-record.js';

/** `{ "input" }` (or the older `{ "message" }`) plus `options` as in invoke. */
export class ContinueSessionDto extends AgentCallDto {
  // Declared here too: the validation pipe takes the fast path only from the class itself.
  static override [FAST_ACCEPT](body: Record<string, unknown>): ContinueSessionDto | undefined {
    return acceptAgentCall(body, ContinueSessionDto);
  }
}

/** Bounds on session metadata (docs/api.md §6.1). */
export const SESSION_METADATA_LIMITS = { maxKeys: 32, maxKeyLength: 64, maxValueLength: 1024 } as const;

export class CreateSessionDto {
  /**
   * Free-form labels stored with the session and echoed back: at most 32 keys of at most 64
   * characters, values of at most 1,024 characters.
   * @example { "customer_id": "c-42" }
   */
  @IsOptional()
  @IsStringRecord(SESSION_METADATA_LIMITS)
  metadata?: Record<string, string>;
}

/** `?limit=&offset=`. */
export class ListSessionsQueryDto extends PaginationQueryDto {}

export class SessionDto {
  /** @example sess_3q2W8n1pXyZ0aBcDeFgHiJ */
  session_id!: string;
  agent!: string;
  /** RFC 3339, UTC. */
  created_at!: string;
  metadata!: Record<string, string>;
}

export class SessionSummaryDto extends SessionDto {
  /** Turns stored so far. */
  turns!: number;
  last_active_at!: string;
}

export class ListSessionsResponseDto {
  sessions!: SessionSummaryDto[];
  /** All live sessions of the agent. */
  total!: number;
}

export class SessionMessageDto {
  turn!: number;
  role!: 'user' | 'assistant';
  content!: string;
  created_at!: string;
  usage?: UsageDto;
  tool_calls?: ToolCallDto[];
}

export class SessionHistoryDto extends SessionSummaryDto {
  messages!: SessionMessageDto[];
}
