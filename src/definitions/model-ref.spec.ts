import { describe, expect, it } from 'vitest';
import { checkModelRef, InvalidModelError, modelRefProblem, MODEL_USAGE, parseMockModel, parseModelRef } from './model-ref.js';

describe('parseModelRef', () => {
  it.each([
    ['openai/gpt-4o', 'openai', 'gpt-4o'],
    ['openai/meta-llama/Llama-3.1-8B', 'openai', 'meta-llama/Llama-3.1-8B'],
    ['anthropic/claude-haiku-4-5', 'anthropic', 'claude-haiku-4-5'],
    ['ollama/llama3.2:1b', 'ollama', 'llama3.2:1b'],
    ['mock/echo', 'mock', 'echo'],
    ['mock/echo?latency=200ms&token_delay=5ms', 'mock', 'echo?latency=200ms&token_delay=5ms'],
    ['mock/fail', 'mock', 'fail'],
    ['claude-sonnet-4-5', 'anthropic', 'claude-sonnet-4-5'],
    ['gpt-4o-mini', 'openai', 'gpt-4o-mini'],
    ['o1', 'openai', 'o1'],
    ['o1-preview', 'openai', 'o1-preview'],
    ['o3-mini', 'openai', 'o3-mini'],
    ['o4-mini', 'openai', 'o4-mini'],
    ['  gpt-4o  ', 'openai', 'gpt-4o'],
  ])('%j → %s / %s', (value, provider, model) => {
    expect(parseModelRef(value)).toEqual({ provider, model, ref: `${provider}/${model}` });
  });

  it.each([
    ['llama3', 'no provider can be told from the name'],
    ['o2-mini', 'no provider can be told from the name'],
    ['Claude-3', 'no provider can be told from the name'],
    ['', 'empty'],
    ['azure/gpt-4o', 'unknown provider "azure"'],
    ['OpenAI/gpt-4o', 'unknown provider "OpenAI"'],
    ['openai/', 'the model id after "openai/" is empty'],
    ['mock/echo?latency=soon', 'mock option "latency" must be a duration'],
    ['mock/echo?colour=red', 'unknown mock option "colour"'],
    ['openai/gpt 4o', 'the model id contains whitespace'],
  ])('rejects %j', (value, reason) => {
    expect(() => parseModelRef(value)).toThrow(InvalidModelError);
    expect(() => parseModelRef(value)).toThrow(`invalid model "${value}": ${reason}`);
  });

  it('explains how to write a model when the provider cannot be told', () => {
    expect(modelRefProblem('mistral-large')).toBe(
      'invalid model "mistral-large": no provider can be told from the name; use "<provider>/<model-id>" with provider ' +
        'openai, anthropic, ollama or mock, or a bare id starting with "claude-", "gpt-", "o1", "o3" or "o4"',
    );
    expect(modelRefProblem('mock/echo')).toBeUndefined();
  });

  it('keeps the reason and the advice apart for diagnostics', () => {
    const unknown = checkModelRef('azure/gpt-4o');
    expect(unknown?.reason).toBe('unknown provider "azure"');
    expect(unknown?.hint).toBe(MODEL_USAGE);
    const empty = checkModelRef('openai/');
    expect(empty?.reason).toBe('the model id after "openai/" is empty');
    expect(empty?.hint).toBeUndefined();
    expect(checkModelRef('claude-haiku-4-5')).toBeUndefined();
  });
});

describe('parseMockModel', () => {
  it.each([
    ['echo', { name: 'echo', latencyMs: 0, tokenDelayMs: 0 }],
    ['echo?latency=200ms', { name: 'echo', latencyMs: 200, tokenDelayMs: 0 }],
    ['echo?latency=1.5s&token_delay=50', { name: 'echo', latencyMs: 1500, tokenDelayMs: 50 }],
    ['slow?token_delay=2m', { name: 'slow', latencyMs: 0, tokenDelayMs: 120_000 }],
    ['fail', { name: 'fail', latencyMs: 0, tokenDelayMs: 0, failure: { status: 500 } }],
    ['echo?fail=503&retry_after=1s', { name: 'echo', latencyMs: 0, tokenDelayMs: 0, failure: { status: 503, retryAfterMs: 1000 } }],
    ['echo?fail_after=3', { name: 'echo', latencyMs: 0, tokenDelayMs: 0, failure: { status: 500, afterTokens: 3 } }],
  ])('parses %s', (id, spec) => {
    expect(parseMockModel(id)).toEqual(spec);
  });

  it.each([
    ['', 'invalid mock model name ""'],
    ['-echo', 'invalid mock model name "-echo"'],
    ['echo?latency', 'mock option "latency" needs one value'],
    ['echo?latency=fast', 'mock option "latency" must be a duration up to 10m such as 200ms, 1.5s or 2m, not "fast"'],
    ['echo?latency=11m', 'mock option "latency" must be a duration up to 10m such as 200ms, 1.5s or 2m, not "11m"'],
    ['echo?latency=1s&latency=2s', 'mock option "latency" is given twice'],
    ['echo?fail=200', 'mock option "fail" must be an HTTP status from 400 to 599, not "200"'],
    ['echo?fail_after=-1', 'mock option "fail_after" must be a whole number of tokens, not "-1"'],
    ['echo?retry_after=1s', 'mock option "retry_after" needs a failure ("fail" or "fail_after")'],
    ['echo?a=1?b=2', 'a mock model id has at most one "?"'],
  ])('rejects %j', (id, message) => {
    expect(() => parseMockModel(id)).toThrow(message);
  });
});
