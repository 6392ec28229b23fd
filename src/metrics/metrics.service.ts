import { Inject, Injectable, Optional } from '@nestjs/common';
import { InjectMetric } from '@willsoto/nestjs-prometheus';
import type { Counter, Histogram } from 'prom-client';
import { REFUSAL_REASONS, type RefusalMetrics, type RefusalReason } from '../auth/refusals/refusal.js';
import type { RequestMetrics } from '../common/http/request-middleware.js';
import { METRIC, NO_AGENT, UNKNOWN } from './metric-names.js';

/** What the metrics need to know of the definitions: which names are real. */
export interface KnownNames {
  isAgent(name: string): boolean;
  isPipeline(name: string): boolean;
}
export const KNOWN_NAMES = Symbol('KNOWN_NAMES');

/** A run's `Usage` (src/providers/model-provider.ts) fits; metrics import no core code. */
export interface TokenCounts {
  inputTokens: number;
  outputTokens: number;
}

/** Records the documented families, keeping label values within defined names. */
@Injectable()
export class MetricsService implements RequestMetrics, RefusalMetrics {
  constructor(
    @InjectMetric(METRIC.requests) private readonly requests: Counter<string>,
    @InjectMetric(METRIC.requestDuration) private readonly duration: Histogram<string>,
    @InjectMetric(METRIC.tokens) private readonly tokens: Counter<string>,
    @InjectMetric(METRIC.pipelineSteps) private readonly pipelineSteps: Counter<string>,
    @InjectMetric(METRIC.errors) private readonly errors: Counter<string>,
    @InjectMetric(METRIC.timeToFirstToken) private readonly firstToken: Histogram<string>,
    @InjectMetric(METRIC.providerCalls) private readonly providerCalls: Counter<string>,
    @InjectMetric(METRIC.providerCallDuration) private readonly providerDuration: Histogram<string>,
    @InjectMetric(METRIC.pipelineRuns) private readonly pipelineRuns: Counter<string>,
    @InjectMetric(METRIC.pipelineRunDuration) private readonly pipelineRunDuration: Histogram<string>,
    @InjectMetric(METRIC.authFailures) private readonly authFailures: Counter<string>,
    @InjectMetric(METRIC.guardrailViolations) private readonly guardrailViolations: Counter<string>,
    @Optional() @Inject(KNOWN_NAMES) private readonly names?: KnownNames,
  ) {
    // Every reason from the start, at 0, so a rate over it exists before the first refusal.
    for (const reason of REFUSAL_REASONS) this.authFailures.inc({ reason }, 0);
  }

  agentLabel(name: string | undefined): string {
    if (name === undefined) return NO_AGENT;
    return this.names?.isAgent(name) ? name : UNKNOWN;
  }

  pipelineLabel(name: string | undefined): string {
    if (name === undefined) return NO_AGENT;
    return this.names?.isPipeline(name) ? name : UNKNOWN;
  }

  recordRequest(agent: string, endpoint: string, status: number, seconds: number): void {
    this.requests.inc({ agent, endpoint, status: String(status) });
    this.duration.observe({ agent, endpoint }, seconds);
  }

  recordError(agent: string, code: string): void {
    this.errors.inc({ agent, code });
  }

  recordTokens(agentName: string, usage: TokenCounts): void {
    const agent = this.agentLabel(agentName);
    if (usage.inputTokens > 0) this.tokens.inc({ agent, type: 'input' }, usage.inputTokens);
    if (usage.outputTokens > 0) this.tokens.inc({ agent, type: 'output' }, usage.outputTokens);
  }

  recordModelCall(agentName: string, provider: string, outcome: string, seconds: number, firstTokenSeconds?: number): void {
    this.providerCalls.inc({ provider, outcome });
    this.providerDuration.observe({ provider }, seconds);
    if (firstTokenSeconds !== undefined) this.firstToken.observe({ agent: this.agentLabel(agentName) }, firstTokenSeconds);
  }

  recordPipelineStep(pipelineName: string, step: string, status: string): void {
    this.pipelineSteps.inc({ pipeline: this.pipelineLabel(pipelineName), step, status });
  }

  recordGuardrail(agentName: string, guardrail: string, mode: string): void {
    this.guardrailViolations.inc({ agent: this.agentLabel(agentName), guardrail, mode });
  }

  recordAuthFailure(reason: RefusalReason): void {
    this.authFailures.inc({ reason });
  }

  recordPipelineRun(pipelineName: string, status: string, seconds: number): void {
    const pipeline = this.pipelineLabel(pipelineName);
    this.pipelineRuns.inc({ pipeline, status });
    this.pipelineRunDuration.observe({ pipeline }, seconds);
  }
}
