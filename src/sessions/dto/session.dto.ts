import { OmitType } from '@nestjs/swagger';
import { IsOptional } from 'class-validator';
import { PaginationQueryDto } from '../../common/pagination.dto.js';
import { IsStringRecord } from '../../common/validation/is-string-record.js';
import { ToolCallDto, UsageDto } from '../../agents/dto/agent-responses.dto.js';
import { InvokeAgentDto } from '../../agents/dto/invoke-agent.dto.js';

/** `{ "input" }` (or the older `{ "message" }`) plus `options` as in invoke. */
export class ContinueSessionDto extends OmitType(InvokeAgentDto, ['session_id'] as const) {}

export class CreateSessionDto {
  /**
   * Free-form labels stored with the session and echoed back.
   * @example { "customer_id": "c-42" }
   */
  @IsOptional()
  @IsStringRecord()
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

export class ContinueSessionResponseDto {
  output!: string;
  usage!: UsageDto;
  /** This turn's 1-based number in the session. */
  turn!: number;
  tool_calls!: ToolCallDto[];
  duration_ms!: number;
  finish_reason!: string;
}
