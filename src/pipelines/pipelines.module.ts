import { Module } from '@nestjs/common';
import type { Logger } from 'pino';
import { AgentRuntimeModule } from '../agents/agent-runtime.module.js';
import { AgentsService } from '../agents/agents.service.js';
import { CatalogService } from '../catalog/catalog.service.js';
import { LOGGER } from '../common/logging/logging.module.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { MissingPromptVariableError } from '../engine/prompt-template.js';
import { MetricsService } from '../metrics/metrics.service.js';
import { PipelineExecutor } from './pipeline-executor.js';
import { PipelineRunner } from './pipeline-runner.js';
import { PipelineRunsRepository } from './pipeline-runs.repository.js';
import { PipelineWorker } from './pipeline-worker.js';
import { PIPELINE_STEP_RUNNER, PIPELINES_OPTIONS, type PipelinesOptions, type StepRunner } from './pipelines.options.js';
import { PipelinesController } from './pipelines.controller.js';
import { PipelinesService } from './pipelines.service.js';
import { StepError } from './step-errors.js';

/** A step is one agent call with the step's input, through the same loop as invoke. */
function stepRunner(catalog: CatalogService, agents: AgentsService): StepRunner {
  return async (call) => {
    const found = catalog.findAgent(call.agent);
    if (!found) throw new StepError('not_found', `Agent '${call.agent}' does not exist.`);
    try {
      const result = await agents.execute(found.profile, { input: call.input, variables: {} }, { signal: call.signal });
      return { output: result.output, usage: result.usage };
    } catch (error) {
      if (error instanceof MissingPromptVariableError) throw new StepError('invalid_request', error.message);
      throw error;
    }
  };
}

@Module({
  imports: [AgentRuntimeModule],
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
    { provide: PIPELINE_STEP_RUNNER, inject: [CatalogService, AgentsService], useFactory: stepRunner },
    PipelineRunsRepository,
    PipelineExecutor,
    PipelineWorker,
    PipelineRunner,
    PipelinesService,
  ],
})
export class PipelinesModule {}
