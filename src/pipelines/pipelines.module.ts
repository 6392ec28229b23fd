import { Module } from '@nestjs/common';
import type { Logger } from 'pino';
import { LOGGER } from '../common/logging/logging.module.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { AgentRunner } from '../runtime/agent-runner.js';
import { PipelineExecutor } from './pipeline-executor.js';
import { PipelineRunner } from './pipeline-runner.js';
import { PipelineRunsRepository } from './pipeline-runs.repository.js';
import { PipelineWorker } from './pipeline-worker.js';
import { PIPELINE_STEP_RUNNER, PIPELINES_OPTIONS, type PipelinesOptions, type StepRunner } from './pipelines.options.js';
import { PipelinesController } from './pipelines.controller.js';
import { PipelinesService } from './pipelines.service.js';

/**
 * A step is one agent call with the step's input, through the same runner as invoke; its
 * errors keep their codes (src/common/errors/error-table.ts describes them for the run).
 */
function stepRunner(runner: AgentRunner): StepRunner {
  return async (call) => {
    const result = await runner.run(runner.prepare(call.agent, { input: call.input, variables: {} }), {
      signal: call.signal,
      origin: { endpoint: 'pipeline', principal: call.principal, correlationId: call.correlationId, runId: call.runId, step: call.step },
    });
    return { output: result.output, usage: result.usage };
  };
}

@Module({
  controllers: [PipelinesController],
  providers: [
    {
      provide: PIPELINES_OPTIONS,
      inject: [APP_CONFIG, MetricsService, LOGGER],
      useFactory: (config: AppConfig, metrics: MetricsService, logger: Logger): PipelinesOptions => ({
        staleAfterMs: config.pipelines.staleAfterMs,
        workerConcurrency: config.pipelines.workerConcurrency,
        workerEnabled: config.pipelines.workerEnabled,
        logger,
        hooks: {
          onStepFinished: (event) => metrics.recordPipelineStep(event.pipeline, event.step, event.status),
          onRunFinished: (event) => metrics.recordPipelineRun(event.pipeline, event.status, event.durationMs / 1000),
        },
      }),
    },
    { provide: PIPELINE_STEP_RUNNER, inject: [AgentRunner], useFactory: stepRunner },
    PipelineRunsRepository,
    PipelineExecutor,
    PipelineWorker,
    PipelineRunner,
    PipelinesService,
  ],
})
export class PipelinesModule {}
