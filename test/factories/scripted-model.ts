import type { AgentProfile, ModelCaller } from '../../src/engine/agent-loop.js';
import type { Tool } from '../../src/engine/tools/tool.js';
import { splitWords } from '../../src/providers/mock.provider.js';
import type { ChatMessage, FinishReason, ToolCall, Usage } from '../../src/providers/model-provider.js';
import { ProviderRegistry } from '../../src/providers/provider-registry.js';
import {
  ResilientModel,
  type ResilientCall,
  type ResilientChatResponse,
  type ResilientStreamEvent,
} from '../../src/providers/resilient-model.js';

/** One scripted model answer; usage defaults to 10 tokens (6 in, 4 out). */
export interface ScriptedAnswer {
  content?: string;
  toolCalls?: ToolCall[];
  finishReason?: FinishReason;
  usage?: Usage;
  /** Rejects with this instead of answering. */
  fail?: Error;
  /** Answers only once this settles; the call's abort signal rejects it first. */
  hold?: Promise<void>;
}

/** What the model was sent, one entry per call, in the order the calls started. */
export interface RecordedCall {
  messages: ChatMessage[];
  /** Names of the tools offered; undefined when none were. */
  tools: string[] | undefined;
  stream: boolean;
  maxTokens?: number;
  temperature?: number;
  timeoutMs?: number;
}

export type ScriptedModel = ModelCaller & { calls: RecordedCall[] };

const DEFAULT_USAGE: Usage = { inputTokens: 6, outputTokens: 4, totalTokens: 10 };

/**
 * A ModelCaller that answers from a script (answer n for call n, or a function of the call)
 * and records every call. Streams an answer word by word, like the mock provider.
 */
export function scriptedModel(script: ScriptedAnswer[] | ((call: RecordedCall, index: number) => ScriptedAnswer)): ScriptedModel {
  const calls: RecordedCall[] = [];
  const answer = async (call: ResilientCall, stream: boolean): Promise<ResilientChatResponse> => {
    const recorded: RecordedCall = {
      messages: call.messages.map((message) => ({ ...message })),
      tools: call.tools?.map((tool) => tool.name),
      stream,
      maxTokens: call.maxTokens,
      temperature: call.temperature,
      timeoutMs: call.timeoutMs,
    };
    const index = calls.push(recorded) - 1;
    const scripted = typeof script === 'function' ? script(recorded, index) : script[index];
    if (scripted === undefined) throw new Error(`the script has no answer for call ${index + 1}`);
    if (scripted.hold) await untilSettledOrAborted(scripted.hold, call.signal);
    call.signal?.throwIfAborted();
    if (scripted.fail) throw scripted.fail;
    const toolCalls = scripted.toolCalls ?? [];
    return {
      content: scripted.content ?? '',
      toolCalls,
      usage: scripted.usage ?? DEFAULT_USAGE,
      finishReason: scripted.finishReason ?? (toolCalls.length > 0 ? 'tool_calls' : 'stop'),
      ref: 'scripted/model',
      provider: 'scripted',
      model: 'model',
    };
  };
  return {
    calls,
    chat: (call) => answer(call, false),
    async *stream(call: ResilientCall): AsyncIterable<ResilientStreamEvent> {
      const response = await answer(call, true);
      for (const word of splitWords(response.content)) yield { type: 'token', content: word };
      yield { type: 'end', response };
    },
  };
}

function untilSettledOrAborted(hold: Promise<void>, signal: AbortSignal | undefined): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const onAbort = (): void => reject(signal?.reason);
    if (signal?.aborted) return onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    hold.then(resolve, reject).finally(() => signal?.removeEventListener('abort', onAbort));
  });
}

/** A tool that answers `output(args)` and records its calls. */
export function scriptedTool(name: string, output: (args: Record<string, unknown>) => string = () => `${name} result`) {
  const calls: Record<string, unknown>[] = [];
  const tool: Tool = {
    name,
    run: (args) => {
      calls.push(args);
      return Promise.resolve({ output: output(args) });
    },
  };
  return {
    calls,
    entry: {
      spec: { name, description: `The ${name} tool`, parameters: { type: 'object', properties: { query: { type: 'string' } } } },
      tool,
    },
  };
}

export function toolCall(name: string, args: Record<string, unknown> = {}, id = `call_${name}`): ToolCall {
  return { id, name, arguments: args };
}

export function agentProfile(overrides: Partial<AgentProfile> = {}): AgentProfile {
  return { name: 'worker', models: ['scripted/model'], tools: [], maxTurns: 10, ...overrides };
}

/** The text of a call's last user message: what the call asks. */
export function userText(call: RecordedCall): string {
  return call.messages.findLast((message) => message.role === 'user')?.content ?? '';
}

/** The system messages of a call, in order. */
export function systemTexts(call: RecordedCall): string[] {
  return call.messages.filter((message) => message.role === 'system').map((message) => message.content);
}

/** The real model layer over the built-in mock provider, as the runtime builds it (no network). */
export function mockProviderModel(): ModelCaller {
  return new ResilientModel(new ProviderRegistry({}), { timeoutMs: 5_000 });
}
