import { describe, expect, it } from 'vitest';
import type { ChatRequest, ChatResponse, ChatStreamEvent, ModelProvider } from './model-provider.js';
import { ProviderError } from './model-provider.js';
import { ProviderRegistry } from './provider-registry.js';
import { type ModelCallRecord, ResilientModel, type ResilientModelOptions } from './resilient-model.js';
import { providerFailure } from '../../test/support/provider-assertions.js';

type Step =
  | { kind: 'answer'; content: string; tokens?: string[] }
  | { kind: 'fail'; error: ProviderError; afterTokens?: string[] }
  | { kind: 'hang'; afterTokens?: string[] };

/** A provider that plays a script, one step per call, and remembers the signals it got. */
class ScriptedProvider implements ModelProvider {
  readonly signals: AbortSignal[] = [];
  readonly models: string[] = [];
  constructor(
    readonly name: string,
    private readonly steps: Step[],
  ) {}

  async chat(request: ChatRequest): Promise<ChatResponse> {
    const events: ChatStreamEvent[] = [];
    for await (const event of this.stream(request)) events.push(event);
    const end = events.at(-1);
    if (end?.type !== 'end') throw new Error('script produced no end');
    return end.response;
  }

  async *stream(request: ChatRequest): AsyncIterable<ChatStreamEvent> {
    this.models.push(request.model);
    const signal = request.signal as AbortSignal;
    this.signals.push(signal);
    const step = this.steps.shift() ?? { kind: 'fail', error: err(this.name, request.model, 'script exhausted', false) };
    const tokens = step.kind === 'answer' ? (step.tokens ?? []) : (step.afterTokens ?? []);
    for (const token of tokens) yield { type: 'token', content: token };
    if (step.kind === 'fail') throw step.error;
    if (step.kind === 'hang') {
      await new Promise((_, reject) => signal.addEventListener('abort', () => reject(err(this.name, request.model, 'request aborted', false))));
    }
    yield {
      type: 'end',
      response: {
        content: step.kind === 'answer' ? step.content : '',
        toolCalls: [],
        usage: { inputTokens: 3, outputTokens: 2, totalTokens: 5 },
        finishReason: 'stop',
      },
    };
  }
}

function err(provider: string, model: string, reason: string, retryable: boolean, retryAfterMs?: number, status?: number): ProviderError {
  return new ProviderError(`${provider}/${model}: ${reason}`, provider, { retryable, retryAfterMs, status });
}

const serverError = (model = 'gpt-a') => err('openai', model, 'server error at the provider (HTTP 500)', true, undefined, 500);

function setup(providers: { openai?: ScriptedProvider; anthropic?: ScriptedProvider }, options: Partial<ResilientModelOptions> = {}) {
  const sleeps: number[] = [];
  const records: ModelCallRecord[] = [];
  const registry = new ProviderRegistry(
    {},
    {
      ...(providers.openai ? { openai: () => providers.openai as ScriptedProvider } : {}),
      ...(providers.anthropic ? { anthropic: () => providers.anthropic as ScriptedProvider } : {}),
    },
  );
  const model = new ResilientModel(registry, {
    timeoutMs: 10_000,
    random: () => 0,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    onModelCall: (record) => records.push(record),
    ...options,
  });
  return { model, sleeps, records };
}

const messages = [{ role: 'user' as const, content: 'hi' }];

async function drain(events: AsyncIterable<unknown>, onEach?: (event: unknown) => void): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const event of events) {
    out.push(event);
    onEach?.(event);
  }
  return out;
}

describe('ResilientModel retries', () => {
  it('backs off exponentially with jitter between retries', async () => {
    const jitters = [0, 0.5];
    const openai = new ScriptedProvider('openai', [
      { kind: 'fail', error: serverError() },
      { kind: 'fail', error: serverError() },
      { kind: 'answer', content: 'third time lucky' },
    ]);
    const { model, sleeps, records } = setup({ openai }, { random: () => jitters.shift() ?? 0, baseDelayMs: 1000 });

    const response = await model.chat({ models: ['openai/gpt-a'], messages });

    expect(response.content).toBe('third time lucky');
    // Steps of 1000 then 2000 ms, the upper half jittered: 500 + 0 * 500, 1000 + 0.5 * 1000.
    expect(sleeps).toEqual([500, 1500]);
    expect(records.map((r) => [r.attempt, r.outcome, r.retryInMs])).toEqual([
      [1, 'error', 500],
      [2, 'error', 1500],
      [3, 'ok', undefined],
    ]);
    expect(records[2]?.usage).toEqual({ inputTokens: 3, outputTokens: 2, totalTokens: 5 });
  });

  it('caps a long Retry-After', async () => {
    const openai = new ScriptedProvider('openai', [
      { kind: 'fail', error: err('openai', 'gpt-a', 'rate limited by the provider (HTTP 429)', true, 120_000, 429) },
      { kind: 'answer', content: 'ok' },
    ]);
    const { model, sleeps } = setup({ openai }, { maxRetryAfterMs: 30_000, timeoutMs: 60_000 });

    await model.chat({ models: ['openai/gpt-a'], messages });

    expect(sleeps).toEqual([30_000]);
  });

  it('does not wait past the deadline: it moves on to the next model instead', async () => {
    const openai = new ScriptedProvider('openai', [
      { kind: 'fail', error: err('openai', 'gpt-a', 'rate limited by the provider (HTTP 429)', true, 5_000, 429) },
      { kind: 'answer', content: 'backup' },
    ]);
    const { model, sleeps } = setup({ openai }, { timeoutMs: 4_000, now: () => 0 });

    const response = await model.chat({ models: ['openai/gpt-a', 'openai/gpt-b'], messages });

    expect(sleeps).toEqual([]);
    expect(response.content).toBe('backup');
    expect(openai.models).toEqual(['gpt-a', 'gpt-b']);
  });

  it('does not retry a non-retryable error but still falls back', async () => {
    const openai = new ScriptedProvider('openai', [
      { kind: 'fail', error: err('openai', 'gpt-a', 'the API key was rejected (HTTP 401)', false, undefined, 401) },
    ]);
    const anthropic = new ScriptedProvider('anthropic', [{ kind: 'answer', content: 'claude here' }]);
    const { model, sleeps, records } = setup({ openai, anthropic });

    const response = await model.chat({ models: ['openai/gpt-a', 'claude-x'], messages });

    expect(response).toMatchObject({ content: 'claude here', ref: 'anthropic/claude-x', provider: 'anthropic', model: 'claude-x' });
    expect(sleeps).toEqual([]);
    expect(records.map((r) => [r.ref, r.attempt, r.outcome])).toEqual([
      ['openai/gpt-a', 1, 'error'],
      ['anthropic/claude-x', 1, 'ok'],
    ]);
  });

  it('keeps the last failure status and retryability on the final error', async () => {
    const openai = new ScriptedProvider('openai', [
      { kind: 'fail', error: serverError() },
      { kind: 'fail', error: serverError() },
      { kind: 'fail', error: serverError() },
    ]);
    const { model } = setup({ openai });

    const error = await providerFailure(model.chat({ models: ['openai/gpt-a'], messages }));

    expect(error.message).toBe('openai/gpt-a failed after 3 attempts: server error at the provider (HTTP 500)');
    expect(error.status).toBe(500);
    expect(error.provider).toBe('openai');
  });

  it('reports an unusable model string of the chain and goes on', async () => {
    const openai = new ScriptedProvider('openai', [{ kind: 'fail', error: err('openai', 'gpt-a', 'the API key was rejected (HTTP 401)', false) }]);
    const { model } = setup({ openai });

    const error = await providerFailure(model.chat({ models: ['llama3', 'openai/gpt-a'], messages }));

    expect(error.message).toMatch(
      /^all 2 models failed: invalid model "llama3": no provider can be told from the name; .*; openai\/gpt-a failed after 1 attempt: the API key was rejected \(HTTP 401\)$/,
    );
  });

  it('refuses an empty chain', async () => {
    const { model } = setup({});
    const error = await providerFailure(model.chat({ models: [], messages }));
    expect(error.message).toBe('no model configured for this call');
  });
});

describe('ResilientModel deadline and abort', () => {
  it('aborts the provider at the deadline and neither retries nor falls back', async () => {
    const openai = new ScriptedProvider('openai', [{ kind: 'hang' }, { kind: 'answer', content: 'too late' }]);
    const { model, records } = setup({ openai });
    const started = Date.now();

    const error = await providerFailure(model.chat({ models: ['openai/gpt-a', 'openai/gpt-b'], messages, timeoutMs: 50 }));

    expect(error.message).toBe('openai/gpt-a: timed out, no answer within the 50 ms deadline');
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(openai.signals[0]?.aborted).toBe(true);
    expect(openai.models).toEqual(['gpt-a']);
    expect(records.map((r) => r.outcome)).toEqual(['timeout']);
  });

  it('lets the per-call timeout override the default', async () => {
    const openai = new ScriptedProvider('openai', [{ kind: 'hang' }]);
    const { model } = setup({ openai }, { timeoutMs: 30 });
    const started = Date.now();

    const error = await providerFailure(model.chat({ models: ['openai/gpt-a'], messages, timeoutMs: 300 }));

    expect(error.message).toBe('openai/gpt-a: timed out, no answer within the 300 ms deadline');
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
  });

  it('ends at the deadline while waiting to retry, naming the last failure', async () => {
    const openai = new ScriptedProvider('openai', [{ kind: 'fail', error: serverError() }]);
    const { model } = setup({ openai }, { sleep: (_ms, signal) => new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))), baseDelayMs: 100 });

    const error = await providerFailure(model.chat({ models: ['openai/gpt-a'], messages, timeoutMs: 60 }));

    expect(error.message).toBe('openai/gpt-a: timed out, no answer within the 60 ms deadline (last failure: server error at the provider (HTTP 500))');
    expect(openai.models).toEqual(['gpt-a']);
  });

  it('stops at once when the caller aborts, without retrying', async () => {
    const openai = new ScriptedProvider('openai', [{ kind: 'hang' }, { kind: 'answer', content: 'never' }]);
    const { model, records } = setup({ openai });
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 20);

    const error = await providerFailure(model.chat({ models: ['openai/gpt-a', 'openai/gpt-b'], messages, signal: controller.signal }));

    expect(error.message).toBe('openai/gpt-a: cancelled by the caller');
    expect(error.retryable).toBe(false);
    expect(openai.signals[0]?.aborted).toBe(true);
    expect(openai.models).toEqual(['gpt-a']);
    expect(records.map((r) => r.outcome)).toEqual(['aborted']);
  });

  it('stops during a backoff wait when the caller aborts', async () => {
    const openai = new ScriptedProvider('openai', [{ kind: 'fail', error: serverError() }, { kind: 'answer', content: 'never' }]);
    const controller = new AbortController();
    const { model } = setup(
      { openai },
      {
        sleep: (_ms, signal) => {
          controller.abort();
          return Promise.reject(signal.reason);
        },
      },
    );

    const error = await providerFailure(model.chat({ models: ['openai/gpt-a'], messages, signal: controller.signal }));

    expect(error.message).toBe('openai/gpt-a: cancelled by the caller');
    expect(openai.models).toEqual(['gpt-a']);
  });
});

describe('ResilientModel streaming', () => {
  it('passes tokens through and ends with the answering model', async () => {
    const openai = new ScriptedProvider('openai', [{ kind: 'answer', content: 'a b', tokens: ['a ', 'b'] }]);
    const { model, records } = setup({ openai });

    const events = await drain(model.stream({ models: ['gpt-4o'], messages }));

    expect(events).toEqual([
      { type: 'token', content: 'a ' },
      { type: 'token', content: 'b' },
      {
        type: 'end',
        response: {
          content: 'a b',
          toolCalls: [],
          usage: { inputTokens: 3, outputTokens: 2, totalTokens: 5 },
          finishReason: 'stop',
          ref: 'openai/gpt-4o',
          provider: 'openai',
          model: 'gpt-4o',
        },
      },
    ]);
    expect(records).toHaveLength(1);
    expect(records[0]).toMatchObject({ outcome: 'ok', streamed: true, attempt: 1 });
    expect(records[0]?.firstTokenMs).toBeGreaterThanOrEqual(0);
  });

  it('retries and falls back while no token was emitted', async () => {
    const openai = new ScriptedProvider('openai', [
      { kind: 'fail', error: serverError() },
      { kind: 'fail', error: serverError() },
      { kind: 'fail', error: serverError() },
      { kind: 'answer', content: 'b', tokens: ['b'] },
    ]);
    const { model } = setup({ openai });

    const events = await drain(model.stream({ models: ['openai/gpt-a', 'openai/gpt-b'], messages }));

    expect(events[0]).toEqual({ type: 'token', content: 'b' });
    expect(openai.models).toEqual(['gpt-a', 'gpt-a', 'gpt-a', 'gpt-b']);
  });

  it('neither retries nor falls back after a token was emitted', async () => {
    const openai = new ScriptedProvider('openai', [
      { kind: 'fail', error: serverError(), afterTokens: ['par'] },
      { kind: 'answer', content: 'never' },
    ]);
    const { model, records } = setup({ openai });
    const tokens: unknown[] = [];

    const error = await providerFailure(drain(model.stream({ models: ['openai/gpt-a', 'openai/gpt-b'], messages }), (e) => tokens.push(e)));

    expect(tokens).toEqual([{ type: 'token', content: 'par' }]);
    expect(error.message).toBe('openai/gpt-a failed mid-stream: server error at the provider (HTTP 500)');
    expect(openai.models).toEqual(['gpt-a']);
    expect(records.map((r) => r.outcome)).toEqual(['error']);
  });

  it('aborts the provider when the consumer stops reading', async () => {
    const openai = new ScriptedProvider('openai', [{ kind: 'hang', afterTokens: ['first '] }]);
    const { model, records } = setup({ openai });

    for await (const event of model.stream({ models: ['openai/gpt-a'], messages })) {
      expect(event).toEqual({ type: 'token', content: 'first ' });
      break;
    }

    expect(openai.signals[0]?.aborted).toBe(true);
    expect(records.map((r) => r.outcome)).toEqual(['aborted']);
  });
});
