import { type DynamicModule, Global, Module } from '@nestjs/common';
import {
  makeCounterProvider,
  makeGaugeProvider,
  makeHistogramProvider,
  PrometheusModule,
} from '@willsoto/nestjs-prometheus';
import { register } from 'prom-client';
import { REFUSAL_METRICS } from '../auth/refusals/refusal.js';
import { BUDGET_METRICS } from './budget-metrics.js';
import { METRIC } from './metric-names.js';
import { MetricsController } from './metrics.controller.js';
import { MetricsService } from './metrics.service.js';

const families = [
  makeCounterProvider({
    name: METRIC.requests,
    help: 'HTTP requests served, by agent, endpoint and status code.',
    labelNames: ['agent', 'endpoint', 'status'],
  }),
  makeHistogramProvider({
    name: METRIC.requestDuration,
    help: 'HTTP request duration in seconds, by agent and endpoint.',
    labelNames: ['agent', 'endpoint'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  }),
  makeCounterProvider({
    name: METRIC.tokens,
    help: 'Model tokens used, by agent and type (input/output).',
    labelNames: ['agent', 'type'],
  }),
  makeGaugeProvider({
    name: METRIC.sessionsActive,
    help: 'Live sessions per agent, read from the database (the same on every replica).',
    labelNames: ['agent'],
  }),
  makeCounterProvider({
    name: METRIC.pipelineSteps,
    help: 'Pipeline steps finished, by pipeline, step and status.',
    labelNames: ['pipeline', 'step', 'status'],
  }),
  makeCounterProvider({
    name: METRIC.errors,
    help: 'Error answers, by agent and error code.',
    labelNames: ['agent', 'code'],
  }),
  makeHistogramProvider({
    name: METRIC.timeToFirstToken,
    help: 'Time from the start of a streamed model call to its first token, by agent.',
    labelNames: ['agent'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30],
  }),
  makeCounterProvider({
    name: METRIC.providerCalls,
    help: 'Model provider calls (each retry counts), by provider and outcome.',
    labelNames: ['provider', 'outcome'],
  }),
  makeHistogramProvider({
    name: METRIC.providerCallDuration,
    help: 'Model provider call duration in seconds, by provider.',
    labelNames: ['provider'],
    buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  }),
  makeCounterProvider({
    name: METRIC.pipelineRuns,
    help: 'Pipeline runs finished, by pipeline and status.',
    labelNames: ['pipeline', 'status'],
  }),
  makeHistogramProvider({
    name: METRIC.pipelineRunDuration,
    help: 'Pipeline run duration in seconds (from acceptance to the end), by pipeline.',
    labelNames: ['pipeline'],
    buckets: [0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600],
  }),
  makeCounterProvider({
    name: METRIC.authFailures,
    help: 'Requests refused with 401, 403 or 429, by reason (missing_credentials, invalid_credentials, forbidden, rate_limited, auth_throttled).',
    labelNames: ['reason'],
  }),
  makeCounterProvider({
    name: METRIC.guardrailViolations,
    help: "Guardrail matches on a call's input or answer, by agent, guardrail and mode (block replaced the answer, warn let it pass).",
    labelNames: ['agent', 'guardrail', 'mode'],
  }),
  makeCounterProvider(BUDGET_METRICS.cost),
  makeGaugeProvider(BUDGET_METRICS.usedRatio),
];

@Global()
@Module({})
export class MetricsModule {
  static forRoot(): DynamicModule {
    // prom-client's registry is process-wide; several app instances in one process (tests)
    // must not register the default process metrics twice.
    const defaultsRegistered = register.getSingleMetric('process_cpu_user_seconds_total') !== undefined;
    return {
      module: MetricsModule,
      imports: [
        PrometheusModule.register({
          path: '/v1/metrics',
          controller: MetricsController,
          defaultMetrics: { enabled: !defaultsRegistered },
        }),
      ],
      providers: [...families, MetricsService, { provide: REFUSAL_METRICS, useExisting: MetricsService }],
      exports: [MetricsService, REFUSAL_METRICS, ...families],
    };
  }
}
