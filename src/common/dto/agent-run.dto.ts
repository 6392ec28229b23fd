import { ApiProperty } from '@nestjs/swagger';
import type { AgentRunResult, ToolCallRecord } from '../../engine/agent-loop.js';
import type { Usage } from '../../providers/model-provider.js';

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

/** A guardrail that matched the call's input or its answer (docs/governance.md). */
export class GuardrailMatchDto {
  /** @example content-filter */
  guardrail!: string;
  // Enums spelled out: inferred from a union, their order would follow the compiler's internals.
  @ApiProperty({ enum: ['block', 'warn'], description: "`block`: the answer is the guardrail's fallback; `warn`: the answer passed." })
  mode!: 'block' | 'warn';
  @ApiProperty({
    enum: ['input', 'output', 'tool'],
    description:
      "`input`: the caller's input matched (a blocked input never reaches the model); `output`: the answer did; " +
      '`tool`: a tool\'s arguments or result did (a blocked one is withheld from `tool_calls`).',
  })
  side!: 'input' | 'output' | 'tool';
}

/** A `warning` rule of the agent's `validate` block that the answer breaks (docs/agents.md). */
export class RuleWarningDto {
  /** @example cites-sources */
  rule!: string;
  /** @example Answers should name their sources. */
  message!: string;
}

/** The answer of one session turn: continue, and invoke with `session_id`. */
export class ContinueSessionResponseDto {
  output!: string;
  usage!: UsageDto;
  /** This turn's 1-based number in the session. */
  turn!: number;
  tool_calls!: ToolCallDto[];
  duration_ms!: number;
  /** `content_filter` when a guardrail replaced the answer. */
  finish_reason!: string;
  /** Present when a guardrail matched. */
  guardrails?: GuardrailMatchDto[];
  /** Present when the answer breaks `warning` rules of the agent's `validate` block. */
  warnings?: RuleWarningDto[];
  /** Present when the agent's `on input` block handed the call to another agent: that agent. */
  answered_by?: string;
}

/** A run's result as the answers need it, with what the runtime adds to the engine's. */
export type AnsweredRun = AgentRunResult & {
  guardrails?: readonly GuardrailMatchDto[];
  warnings?: readonly RuleWarningDto[];
  answeredBy?: string;
};

/** The fields governance and behaviour add to an answer, each only when it has something to say. */
export function toAnswerExtras(result: AnsweredRun): Pick<ContinueSessionResponseDto, 'guardrails' | 'warnings' | 'answered_by'> {
  return {
    ...(result.guardrails?.length ? { guardrails: result.guardrails.map(toGuardrailMatchDto) } : {}),
    ...(result.warnings?.length ? { warnings: result.warnings.map((w) => ({ rule: w.rule, message: w.message })) } : {}),
    ...(result.answeredBy !== undefined ? { answered_by: result.answeredBy } : {}),
  };
}

export function toUsageDto(usage: Usage): UsageDto {
  return { input_tokens: usage.inputTokens, output_tokens: usage.outputTokens, total_tokens: usage.totalTokens };
}

export function toToolCallDto(call: ToolCallRecord): ToolCallDto {
  return {
    name: call.name,
    arguments: call.arguments,
    output: call.output,
    duration_ms: call.durationMs,
    ...(call.error !== undefined ? { error: call.error } : {}),
  };
}

export function toTurnResponse(result: AnsweredRun, turn: number): ContinueSessionResponseDto {
  return {
    output: result.output,
    usage: toUsageDto(result.usage),
    turn,
    tool_calls: result.toolCalls.map(toToolCallDto),
    duration_ms: result.durationMs,
    finish_reason: result.finishReason,
    ...toAnswerExtras(result),
  };
}

export function toGuardrailMatchDto(match: GuardrailMatchDto): GuardrailMatchDto {
  return { guardrail: match.guardrail, mode: match.mode, side: match.side };
}
