import { Injectable } from '@nestjs/common';
import type { Principal } from '../auth/principal.js';
import { CatalogService } from '../runtime/catalog.service.js';
import { NotFoundError } from '../common/errors/domain-errors.js';
import { requestContext } from '../common/request-context/request-context.js';
import type { Pipeline } from '../definitions/index.js';
import { AcceptedRunDto, ListPipelinesResponseDto, ListRunsResponseDto, RunDocumentDto, RunStatusDto } from './dto/pipeline.dto.js';
import { toAcceptedRunDto, toListRunsResponseDto, toRunDocumentDto, toRunStatusDto } from './pipeline-run.mapper.js';
import { PipelineRunner } from './pipeline-runner.js';
import { PipelineRunsRepository } from './pipeline-runs.repository.js';
import { toSpec } from './pipeline-spec.js';

@Injectable()
export class PipelinesService {
  constructor(
    private readonly catalog: CatalogService,
    private readonly runner: PipelineRunner,
    private readonly runs: PipelineRunsRepository,
  ) {}

  list(): ListPipelinesResponseDto {
    return {
      pipelines: this.catalog.listPipelines().map((pipeline) => ({
        name: pipeline.name,
        ...(pipeline.description !== undefined ? { description: pipeline.description } : {}),
        steps: pipeline.steps.map((step) => ({ name: step.name, agent: step.agent, depends_on: step.depends_on })),
      })),
    };
  }

  async runSync(name: string, input: string, principal: Principal, signal?: AbortSignal): Promise<RunDocumentDto> {
    const run = await this.runner.runSync(this.request(name, input, principal), { signal });
    return toRunDocumentDto(run);
  }

  async runAsync(name: string, input: string, principal: Principal): Promise<AcceptedRunDto> {
    return toAcceptedRunDto(await this.runner.runAsync(this.request(name, input, principal)));
  }

  async status(name: string, runId: string | undefined): Promise<RunStatusDto> {
    this.resolve(name);
    const run = runId === undefined ? await this.runs.latestRun(name) : await this.runs.findRun(runId, name);
    if (!run) {
      throw new NotFoundError(runId === undefined ? `Pipeline '${name}' has no runs yet.` : `Run '${runId}' of pipeline '${name}' does not exist.`);
    }
    return toRunStatusDto(run);
  }

  async listRuns(name: string, limit: number, offset: number): Promise<ListRunsResponseDto> {
    this.resolve(name);
    return toListRunsResponseDto(await this.runs.listRuns(name, { limit, offset }));
  }

  async cancel(name: string, runId: string): Promise<RunStatusDto> {
    this.resolve(name);
    const run = await this.runner.cancel(runId, { pipeline: name });
    if (!run) throw new NotFoundError(`Run '${runId}' of pipeline '${name}' does not exist.`);
    return toRunStatusDto(run);
  }

  private resolve(name: string): Pipeline {
    const pipeline = this.catalog.findPipeline(name);
    if (!pipeline) throw new NotFoundError(`Pipeline '${name}' does not exist.`);
    return pipeline;
  }

  private request(name: string, input: string, principal: Principal) {
    return {
      pipeline: toSpec(this.resolve(name)),
      input,
      principal: principal.id,
      correlationId: requestContext.correlationId() ?? '',
    };
  }
}
