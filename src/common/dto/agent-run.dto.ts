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

/** The answer of one session turn: continue, and invoke with `session_id`. */
export class ContinueSessionResponseDto {
  output!: string;
  usage!: UsageDto;
  /** This turn's 1-based number in the session. */
  turn!: number;
  tool_calls!: ToolCallDto[];
  duration_ms!: number;
  finish_reason!: string;
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

export function toTurnResponse(result: AgentRunResult, turn: number): ContinueSessionResponseDto {
  return {
    output: result.output,
    usage: toUsageDto(result.usage),
    turn,
    tool_calls: result.toolCalls.map(toToolCallDto),
    duration_ms: result.durationMs,
    finish_reason: result.finishReason,
  };
}
