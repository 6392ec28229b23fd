import { AgentCallDto } from '../common/dto/agent-call.dto.js';

/** A call, normalised from a request body and its compatibility aliases. */
export interface AgentCall {
  input: string;
  variables: Record<string, string>;
  temperature?: number;
  maxTokens?: number;
}

/** `message` stands for `input`, top-level `variables` for `options.variables` (older SDKs). */
export function toAgentCall(body: AgentCallDto): AgentCall {
  return {
    // The DTO's validation guarantees one of the two.
    input: (body.input ?? body.message)!,
    variables: { ...body.variables, ...body.options?.variables },
    temperature: body.options?.temperature,
    maxTokens: body.options?.max_tokens,
  };
}
