import 'reflect-metadata';
import { Test } from '@nestjs/testing';
import { DataSource } from 'typeorm';
import { describe, expect, it, vi } from 'vitest';
import { createDataSource } from '../database/data-source.js';
import { PipelineExecutor } from './pipeline-executor.js';
import { PipelineRunner } from './pipeline-runner.js';
import { PipelineRunsRepository } from './pipeline-runs.repository.js';
import { PipelineWorker } from './pipeline-worker.js';
import { PIPELINE_STEP_RUNNER, PIPELINES_OPTIONS, type StepRunner } from './pipelines.options.js';

describe('pipelines providers in a Nest module', () => {
  it('resolve with their tokens, and the worker waits for the database before claiming', async () => {
    // Never initialized: the worker must not touch it.
    const dataSource = createDataSource({ url: 'postgres://nobody@127.0.0.1:1/none', poolSize: 1 });
    const runStep: StepRunner = vi.fn();
    const module = await Test.createTestingModule({
      providers: [
        { provide: DataSource, useValue: dataSource },
        PipelineRunsRepository,
        PipelineExecutor,
        PipelineWorker,
        PipelineRunner,
        { provide: PIPELINE_STEP_RUNNER, useValue: runStep },
        { provide: PIPELINES_OPTIONS, useValue: { replicaId: 'replica-wired', pollIntervalMs: 5 } },
      ],
    }).compile();
    const claim = vi.spyOn(module.get(PipelineRunsRepository), 'claimNext');

    await module.init();
    const worker = module.get(PipelineWorker);
    expect(worker.replicaId).toBe('replica-wired');
    expect(module.get(PipelineRunner)).toBeInstanceOf(PipelineRunner);
    await new Promise((resolve) => setTimeout(resolve, 40));
    expect(claim).not.toHaveBeenCalled();
    expect(await worker.pollOnce()).toBe(0);

    await module.close();
    expect(worker.activeRuns).toBe(0);
    expect(runStep).not.toHaveBeenCalled();
  });
});
