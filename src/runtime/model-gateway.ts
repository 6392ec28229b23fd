import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '../common/logging/logging.module.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import type { ModelCaller } from '../engine/agent-loop.js';
import type { CallOrigin } from '../governance/governance-events.repository.js';
import { MetricsService } from '../metrics/metrics.service.js';
import type { ModelCallHook, ResilientCall, ResilientModel } from '../providers/resilient-model.js';
import { createResilientModel } from './resilient-model-factory.js';

/**
 * The one way to call models: providers built once from configuration, retries, fallback and
 * deadlines, plus one log line and metrics per provider call. Prompts are never logged at info.
 */
@Injectable()
export class ModelGateway {
  private readonly model: ResilientModel;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly metrics: MetricsService,
  ) {
    this.model = createResilientModel(config);
  }

  /** A ModelCaller that attributes its calls to one agent (and its log lines to the call's request) in logs and metrics. */
  forAgent(agent: string, origin: CallOrigin): ModelCaller {
    const hook = this.hookFor(agent, origin);
    return {
      chat: (call: ResilientCall) => this.model.chat({ ...call, onModelCall: chain(hook, call.onModelCall) }),
      stream: (call: ResilientCall) => this.model.stream({ ...call, onModelCall: chain(hook, call.onModelCall) }),
    };
  }

  private hookFor(agent: string, origin: CallOrigin): ModelCallHook {
    const { correlationId, principal } = origin;
    return (record) => {
      this.metrics.recordModelCall(
        agent,
        record.provider,
        record.outcome,
        record.durationMs / 1000,
        record.firstTokenMs === undefined ? undefined : record.firstTokenMs / 1000,
      );
      // One shape for every line (absent fields are undefined, which the logger leaves out).
      const line = {
        correlation_id: correlationId,
        principal,
        agent,
        provider: record.provider,
        model: record.model,
        attempt: record.attempt,
        streamed: record.streamed,
        outcome: record.outcome,
        duration_ms: Math.round(record.durationMs),
        first_token_ms: record.firstTokenMs !== undefined ? Math.round(record.firstTokenMs) : undefined,
        input_tokens: record.usage?.inputTokens,
        output_tokens: record.usage?.outputTokens,
        retry_in_ms: record.retryInMs !== undefined ? Math.round(record.retryInMs) : undefined,
        error: record.error?.message,
      };
      if (record.outcome === 'ok') this.logger.info(line, 'model call');
      else this.logger.warn(line, 'model call failed');
    };
  }
}

function chain(first: ModelCallHook, second: ModelCallHook | undefined): ModelCallHook {
  return second ? (record) => (first(record), second(record)) : first;
}
