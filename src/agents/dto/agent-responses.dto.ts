import { ToolCallDto, UsageDto } from '../../common/dto/agent-run.dto.js';

export class InvokeAgentResponseDto {
  output!: string;
  usage!: UsageDto;
  /** Skills the agent called, in order. */
  tool_calls!: ToolCallDto[];
  /** Model calls made. */
  turns!: number;
  duration_ms!: number;
  /** `stop`, `length`, `max_turns`, `token_budget`, … */
  finish_reason!: string;
}

export class AgentSummaryDto {
  /** @example support-assistant */
  name!: string;
  /** @example mock/echo */
  model!: string;
  skills!: string[];
  /** @example ready */
  status!: 'ready';
  description?: string;
  strategy?: string;
  /** Fallback chain, first preferred. */
  models!: string[];
  /** Pipelines with a step that uses this agent. */
  pipelines!: string[];
}

export class ListAgentsResponseDto {
  agents!: AgentSummaryDto[];
}
