import { describe, expect, it } from 'vitest';
import { NotFoundError } from '../common/errors/api-error.js';
import { ProviderError } from '../providers/model-provider.js';
import { describeStepError, StepError } from './step-errors.js';

describe('describeStepError', () => {
  it('maps provider failures to provider_error with the provider’s (already safe) message', () => {
    const failure = new ProviderError('openai/gpt-4o: rate limited by the provider (HTTP 429)', 'openai', { retryable: true });
    expect(describeStepError(failure)).toEqual({
      code: 'provider_error',
      message: 'openai/gpt-4o: rate limited by the provider (HTTP 429)',
    });
  });

  it('keeps the code and message of errors made to be shown', () => {
    expect(describeStepError(new StepError('token_budget', 'The token budget of the agent was spent.'))).toEqual({
      code: 'token_budget',
      message: 'The token budget of the agent was spent.',
    });
    expect(describeStepError(new NotFoundError("Agent 'ghost' does not exist."))).toEqual({
      code: 'not_found',
      message: "Agent 'ghost' does not exist.",
    });
  });

  it('never echoes anything else', () => {
    const described = describeStepError(new Error('postgres://admin:s3cret@db/prod refused'));
    expect(described).toEqual({ code: 'internal_error', message: 'The step failed with an unexpected error.' });
    expect(describeStepError('a string')).toEqual(described);
  });
});
