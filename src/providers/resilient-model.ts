import { abortableSleep } from './abortable-sleep.js';
import {
  type ChatMessage,
  type ChatResponse,
  ProviderError,
  type ToolSpec,
  type Usage,
} from './model-provider.js';
import type { ResolvedModel } from './provider-registry.js';

export type ModelCallOutcome = 'ok' | 'error' | 'timeout' | 'aborted';

/** One attempt against one model: enough for one log line and the error counters. */
export interface ModelCallRecord {
  /** `provider/model`. */
  ref: string;
  provider: string;
  model: string;
  /** 1 for the first try of this model, 2 and 3 for its retries. */
  attempt: number;
  streamed: boolean;
  durationMs: number;
  /** Streaming only: time from the start of the attempt to its first token. */
  firstTokenMs?: number;
  /** What the provider reported, on success. */
  usage?: Usage;
  outcome: ModelCallOutcome;
  error?: ProviderError;
  /** Set when this model is tried again after this many milliseconds. */
  retryInMs?: number;
}

export type ModelCallHook = (record: ModelCallRecord) => void;

/** Anything that turns a model string into a provider, such as `ProviderRegistry`. */
export interface ModelResolver {
  resolve(value: string): ResolvedModel;
}

export interface ResilientModelOptions {
  /** Default deadline of one call, retries and fallbacks included; 0 or less: none. */
  timeoutMs: number;
  /** Further tries of one model on retryable errors. Default 2. */
  maxRetries?: number;
  /** First backoff step; doubled on each retry, half of it jittered. Default 500 ms. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  /** Longest `Retry-After` obeyed; longer hints are cut to this. Default 30 s. */
  maxRetryAfterMs?: number;
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** Monotonic milliseconds, for durations and the time left before the deadline. */
  now?: () => number;
  /** In [0, 1). */
  random?: () => number;
  /** Called once per attempt; must not throw. */
  onModelCall?: ModelCallHook;
}

export interface ResilientCall {
  /** Fallback chain: the first entry is the agent's model, the others are tried in order. */
  models: readonly string[];
  messages: ChatMessage[];
  tools?: ToolSpec[];
  temperature?: number;
  maxTokens?: number;
  /** The caller's signal (client disconnected): aborts at once, never retried. */
  signal?: AbortSignal;
  /** Overrides the default deadline (an agent's `timeout`). */
  timeoutMs?: number;
  /** Per-call hook, called after the one given in the options. */
  onModelCall?: ModelCallHook;
}

export interface ResilientChatResponse extends ChatResponse {
  /** The model that answered, `provider/model`. */
  ref: string;
  provider: string;
  model: string;
}

export type ResilientStreamEvent =
  | { type: 'token'; content: string }
  | { type: 'end'; response: ResilientChatResponse };

interface Failure {
  ref: string;
  attempts: number;
  error: ProviderError;
}

type Target = ResolvedModel;

/**
 * Calls a fallback chain of models with retries, a deadline and the caller's abort signal.
 *
 * - Retryable errors (429, 5xx, network) are tried again at most `maxRetries` times per
 *   model, after `Retry-After` when given (capped), else after exponential backoff with
 *   jitter. A wait that would end past the deadline is not started.
 * - When a model fails for good, the next one in the chain is tried; a stream moves on only
 *   if it has not emitted a token yet.
 * - The deadline covers the whole call. When it passes, or when the caller aborts, the
 *   in-flight request is aborted and the call ends with no further retry or fallback.
 * - Every failure is a `ProviderError` whose message names the model(s) and the reason.
 */
export class ResilientModel {
  private readonly maxRetries: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly maxRetryAfterMs: number;
  private readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  private readonly now: () => number;
  private readonly random: () => number;

  constructor(
    private readonly resolver: ModelResolver,
    private readonly options: ResilientModelOptions,
  ) {
    this.maxRetries = options.maxRetries ?? 2;
    this.baseDelayMs = options.baseDelayMs ?? 500;
    this.maxDelayMs = options.maxDelayMs ?? 8_000;
    this.maxRetryAfterMs = options.maxRetryAfterMs ?? 30_000;
    this.sleep = options.sleep ?? abortableSleep;
    this.now = options.now ?? (() => performance.now());
    this.random = options.random ?? Math.random;
  }

  async chat(call: ResilientCall): Promise<ResilientChatResponse> {
    const scope = this.open(call);
    const failures: Failure[] = [];
    try {
      for (const value of call.models) {
        const target = this.target(value, failures);
        if (!target) continue;
        for (let attempt = 1; ; attempt++) {
          const started = this.now();
          try {
            const response = await target.client.chat({ ...request(call), model: target.model, signal: scope.signal });
            this.report(call, {
              ...base(target, attempt, false),
              durationMs: Math.round(this.now() - started),
              usage: response.usage,
              outcome: 'ok',
            });
            return answered(response, target);
          } catch (err) {
            const delay = await this.afterFailure(call, scope, target, attempt, started, err, false, failures);
            if (delay === undefined) break;
          }
        }
      }
      throw finalError(failures);
    } finally {
      scope.dispose(false);
    }
  }

  async *stream(call: ResilientCall): AsyncIterable<ResilientStreamEvent> {
    const scope = this.open(call);
    const failures: Failure[] = [];
    let leftEarly = false;
    try {
      for (const value of call.models) {
        const target = this.target(value, failures);
        if (!target) continue;
        for (let attempt = 1; ; attempt++) {
          const started = this.now();
          let firstTokenAt: number | undefined;
          let settled = false;
          try {
            let end: ChatResponse | undefined;
            const events = target.client.stream({ ...request(call), model: target.model, signal: scope.signal });
            for await (const event of events) {
              if (event.type === 'token') {
                firstTokenAt ??= this.now();
                yield event;
              } else {
                end = event.response;
              }
            }
            if (!end) {
              throw new ProviderError(`${target.ref}: the stream ended without a final response`, target.client.name, {
                retryable: false,
              });
            }
            settled = true;
            this.report(call, {
              ...base(target, attempt, true),
              durationMs: Math.round(this.now() - started),
              firstTokenMs: firstTokenAt === undefined ? undefined : Math.round(firstTokenAt - started),
              usage: end.usage,
              outcome: 'ok',
            });
            yield { type: 'end', response: answered(end, target) };
            return;
          } catch (err) {
            settled = true;
            if (firstTokenAt !== undefined) {
              const error = this.classify(scope, target, err);
              this.report(call, {
                ...base(target, attempt, true),
                durationMs: Math.round(this.now() - started),
                firstTokenMs: Math.round(firstTokenAt - started),
                outcome: scope.outcome(),
                error,
              });
              if (scope.outcome() !== 'error') throw error;
              // Tokens already reached the caller: another attempt would repeat them.
              const message = `${target.ref} failed mid-stream: ${reasonOf(error, target.ref)}`;
              throw new ProviderError(message, error.provider, { ...error.options, cause: error });
            }
            const delay = await this.afterFailure(call, scope, target, attempt, started, err, true, failures);
            if (delay === undefined) break;
          } finally {
            if (!settled) {
              // The consumer stopped reading (client gone): the scope's disposal aborts the request.
              leftEarly = true;
              this.report(call, {
                ...base(target, attempt, true),
                durationMs: Math.round(this.now() - started),
                firstTokenMs: firstTokenAt === undefined ? undefined : Math.round(firstTokenAt - started),
                outcome: 'aborted',
              });
            }
          }
        }
      }
      throw finalError(failures);
    } finally {
      scope.dispose(leftEarly);
    }
  }

  private open(call: ResilientCall): CallScope {
    if (!call.models.length) throw new ProviderError('no model configured for this call', 'none', { retryable: false });
    return new CallScope(call.signal, call.timeoutMs ?? this.options.timeoutMs, this.now);
  }

  private target(value: string, failures: Failure[]): Target | undefined {
    try {
      return this.resolver.resolve(value);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const error = new ProviderError(message, 'none', { retryable: false, cause: err });
      failures.push({ ref: value, attempts: 0, error });
      return undefined;
    }
  }

  /**
   * Reports the failed attempt and, when the model deserves another try, waits for it and
   * returns the delay; returns undefined when the chain should move on. Throws when the
   * call as a whole is over (caller abort, deadline).
   */
  private async afterFailure(
    call: ResilientCall,
    scope: CallScope,
    target: Target,
    attempt: number,
    started: number,
    err: unknown,
    streamed: boolean,
    failures: Failure[],
  ): Promise<number | undefined> {
    const error = this.classify(scope, target, err);
    const outcome = scope.outcome();
    const delay = outcome === 'error' ? this.retryDelay(error, attempt, scope) : undefined;
    this.report(call, {
      ...base(target, attempt, streamed),
      durationMs: Math.round(this.now() - started),
      outcome,
      error,
      ...(delay !== undefined ? { retryInMs: delay } : {}),
    });
    if (outcome !== 'error') throw error;
    if (delay === undefined) {
      failures.push({ ref: target.ref, attempts: attempt, error });
      return undefined;
    }
    try {
      await this.sleep(delay, scope.signal);
    } catch (sleepErr) {
      throw this.classify(scope, target, sleepErr, error);
    }
    if (scope.outcome() !== 'error') throw this.classify(scope, target, undefined, error);
    return delay;
  }

  private retryDelay(error: ProviderError, attempt: number, scope: CallScope): number | undefined {
    if (!error.retryable || attempt > this.maxRetries) return undefined;
    let delay: number;
    if (error.retryAfterMs !== undefined) {
      delay = Math.min(Math.max(0, error.retryAfterMs), this.maxRetryAfterMs);
    } else {
      const step = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
      delay = step / 2 + (this.random() * step) / 2;
    }
    delay = Math.round(delay);
    return delay < scope.remaining() ? delay : undefined;
  }

  /** The caller's abort and the deadline take precedence over whatever the provider threw. */
  private classify(scope: CallScope, target: Target, err: unknown, previous?: ProviderError): ProviderError {
    const provider = target.client.name;
    if (scope.callerAborted()) {
      return new ProviderError(`${target.ref}: cancelled by the caller`, provider, { retryable: false, cause: err });
    }
    if (scope.timedOut()) {
      const last = previous ? ` (last failure: ${reasonOf(previous, target.ref)})` : '';
      const message = `${target.ref}: timed out, no answer within the ${scope.timeoutMs} ms deadline${last}`;
      return new ProviderError(message, provider, { retryable: false, cause: err ?? previous });
    }
    if (err instanceof ProviderError) return err;
    const kind = err instanceof Error ? err.name : typeof err;
    return new ProviderError(`${target.ref}: unexpected failure in the provider adapter (${kind})`, provider, {
      retryable: false,
      cause: err,
    });
  }

  private report(call: ResilientCall, record: ModelCallRecord): void {
    this.options.onModelCall?.(record);
    call.onModelCall?.(record);
  }
}

type RequestBody = Pick<ResilientCall, 'messages' | 'tools' | 'temperature' | 'maxTokens'>;

function request(call: ResilientCall): RequestBody {
  return { messages: call.messages, tools: call.tools, temperature: call.temperature, maxTokens: call.maxTokens };
}

function answered(response: ChatResponse, target: Target): ResilientChatResponse {
  return { ...response, ref: target.ref, provider: target.client.name, model: target.model };
}

function base(target: Target, attempt: number, streamed: boolean) {
  return { ref: target.ref, provider: target.client.name, model: target.model, attempt, streamed };
}

/** Provider messages read `<provider>/<model>: <reason>`; the summary restates the model once. */
function reasonOf(error: ProviderError, ref: string): string {
  return error.message.startsWith(`${ref}: `) ? error.message.slice(ref.length + 2) : error.message;
}

function attemptsText(attempts: number): string {
  return attempts === 1 ? '1 attempt' : `${attempts} attempts`;
}

function finalError(failures: Failure[]): ProviderError {
  const last = failures.at(-1);
  if (!last) return new ProviderError('no model could be called', 'none', { retryable: false });
  const describe = (failure: Failure): string =>
    failure.attempts === 0
      ? failure.error.message
      : `${failure.ref} failed after ${attemptsText(failure.attempts)}: ${reasonOf(failure.error, failure.ref)}`;
  const message =
    failures.length === 1
      ? describe(last)
      : `all ${failures.length} models failed: ${failures.map(describe).join('; ')}`;
  return new ProviderError(message, last.error.provider, { ...last.error.options, cause: last.error });
}

/**
 * One abort signal for the whole call, fired by the caller's signal, the deadline or an
 * early exit. Wired by hand rather than with `AbortSignal.any`/`AbortSignal.timeout`: on
 * Node 20 those cost about 100 µs per call and keep unexpired timeout signals alive for the
 * whole default deadline, which showed under the invoke benchmark.
 */
class CallScope {
  private readonly controller = new AbortController();
  private readonly timer: ReturnType<typeof setTimeout> | undefined;
  private readonly deadlineAt: number;
  private readonly onCallerAbort: (() => void) | undefined;
  private expired = false;

  constructor(
    private readonly caller: AbortSignal | undefined,
    readonly timeoutMs: number,
    private readonly now: () => number,
  ) {
    const limited = timeoutMs > 0 && Number.isFinite(timeoutMs);
    this.deadlineAt = limited ? now() + timeoutMs : Number.POSITIVE_INFINITY;
    if (caller?.aborted) {
      this.controller.abort(caller.reason);
    } else if (caller) {
      this.onCallerAbort = () => this.controller.abort(caller.reason);
      caller.addEventListener('abort', this.onCallerAbort, { once: true });
    }
    this.timer = limited
      ? setTimeout(() => {
          this.expired = true;
          this.controller.abort(new DOMException('model call deadline exceeded', 'TimeoutError'));
        }, timeoutMs)
      : undefined;
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  callerAborted(): boolean {
    return this.caller?.aborted ?? false;
  }

  timedOut(): boolean {
    return this.expired;
  }

  outcome(): ModelCallOutcome {
    if (this.callerAborted()) return 'aborted';
    if (this.expired) return 'timeout';
    return this.controller.signal.aborted ? 'aborted' : 'error';
  }

  remaining(): number {
    return this.deadlineAt - this.now();
  }

  /** `abortInFlight` when leaving while a provider request may still be running. */
  dispose(abortInFlight: boolean): void {
    clearTimeout(this.timer);
    if (this.onCallerAbort) this.caller?.removeEventListener('abort', this.onCallerAbort);
    if (abortInFlight && !this.controller.signal.aborted) {
      this.controller.abort(new DOMException('model call left early', 'AbortError'));
    }
  }
}
