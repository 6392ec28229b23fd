import { ApiError } from '../common/errors/api-error.js';
import { ProviderError } from '../providers/model-provider.js';
import type { RunError } from './pipeline-run.js';

/** A step failure whose code and message are safe to show to API callers as they are. */
export class StepError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'StepError';
  }
}

/**
 * The `{ code, message }` stored for a failed step. Provider failures become
 * `provider_error` with the provider's message, which providers keep free of keys and prompt
 * text; messages of unknown errors are never echoed, as they may hold anything.
 */
export function describeStepError(error: unknown): RunError {
  if (error instanceof ProviderError || (error instanceof Error && error.name === 'ProviderError')) {
    return { code: 'provider_error', message: error.message };
  }
  if (error instanceof StepError || error instanceof ApiError) return { code: error.code, message: error.message };
  return { code: 'internal_error', message: 'The step failed with an unexpected error.' };
}
