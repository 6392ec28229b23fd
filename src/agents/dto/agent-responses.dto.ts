export class UsageDto {
  input_tokens!: number;
  output_tokens!: number;
  /** Always `input_tokens + output_tokens`. */
  total_tokens!: number;
}

export class ToolCallDto {
  /** The skill's name. */
  name!: string;
  arguments!: Record<string, unknown>;
  output!: string;
  duration_ms!: number;
  /** Set when the tool failed; the model was told. */
  error?: string;
}

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

export class ErrorBodyDto {
  /** @example not_found */
  code!: string;
  /** @example Agent 'unknown-agent' does not exist. */
  message!: string;
}

export class ErrorResponseDto {
  error!: ErrorBodyDto;
}
