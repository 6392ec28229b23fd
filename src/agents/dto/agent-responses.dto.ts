import { GuardrailMatchDto, RuleWarningDto, ToolCallDto, UsageDto } from '../../common/dto/agent-run.dto.js';

export class InvokeAgentResponseDto {
  output!: string;
  usage!: UsageDto;
  /** Skills the agent called, in order. */
  tool_calls!: ToolCallDto[];
  /** Model calls made. */
  turns!: number;
  duration_ms!: number;
  /** `stop`, `length`, `max_turns`, `token_budget`, `content_filter` (a guardrail replaced the answer), … */
  finish_reason!: string;
  /** Present when a guardrail matched the input or the answer. */
  guardrails?: GuardrailMatchDto[];
  /** Present when the answer breaks `warning` rules of the agent's `validate` block. */
  warnings?: RuleWarningDto[];
  /** Present when the agent's `on input` block handed the call to another agent: that agent. */
  answered_by?: string;
}

/** One budget window of an agent (docs/governance.md "Budgets"). */
export class WindowSpendDto {
  /** US dollars spent in the current UTC window, by every replica. @example 0.0123 */
  spent_usd!: number;
  /** The agent's `budget daily|monthly` limit; absent without one. @example 10 */
  limit_usd?: number;
  /** When the window starts again (ISO 8601, UTC). @example 2026-12-01T00:00:00.000Z */
  resets_at!: string;
}

export class AgentSpendDto {
  daily!: WindowSpendDto;
  monthly!: WindowSpendDto;
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
  /** The guardrails checking its input and answers, in order. */
  guardrails!: string[];
  /** Model spend in the current windows; absent while the database cannot be read. */
  spend?: AgentSpendDto;
}

export class ListAgentsResponseDto {
  agents!: AgentSummaryDto[];
  /** The `environment` overlay applied (AGENTSPEC_ENVIRONMENT); absent when none is. @example prod */
  environment?: string;
}
