import { Injectable } from '@nestjs/common';
import { isPipelineVisible, readableOwner, requirePipelineRead, requirePipelineRun, writableOwner } from '../auth/authorization.js';
import type { Principal } from '../auth/principal.js';
import { CatalogService } from '../runtime/catalog.service.js';
import { NotFoundError } from '../common/errors/domain-errors.js';
import type { Pipeline } from '../definitions/index.js';
import { AcceptedRunDto, ListPipelinesResponseDto, ListRunsResponseDto, RunDocumentDto, RunStatusDto } from './dto/pipeline.dto.js';
import { toAcceptedRunDto, toListRunsResponseDto, toRunDocumentDto, toRunStatusDto } from './pipeline-run.mapper.js';
import { PipelineRunner } from './pipeline-runner.js';
import { PipelineRunsRepository } from './pipeline-runs.repository.js';
import { toSpec } from './pipeline-spec.js';
import { shorten } from '../common/validation/request-values.js';

@Injectable()
export class PipelinesService {
  constructor(
    private readonly catalog: CatalogService,
    private readonly runner: PipelineRunner,
    private readonly runs: PipelineRunsRepository,
  ) {}

  /** The pipelines whose every step's agent the caller may use; all of them for admin and auditor. */
  list(principal: Principal): ListPipelinesResponseDto {
    return {
      pipelines: this.catalog
        .listPipelines()
        .filter((pipeline) => isPipelineVisible(principal, pipeline))
        .map((pipeline) => ({
          name: pipeline.name,
          ...(pipeline.description !== undefined ? { description: pipeline.description } : {}),
          steps: pipeline.steps.map((step) => ({ name: step.name, agent: step.agent, depends_on: step.depends_on })),
        })),
    };
  }

  async runSync(name: string, input: string, principal: Principal, correlationId: string, signal?: AbortSignal): Promise<RunDocumentDto> {
    const run = await this.runner.runSync(this.request(name, input, principal, correlationId), { signal });
    return toRunDocumentDto(run);
  }

  async runAsync(name: string, input: string, principal: Principal, correlationId: string): Promise<AcceptedRunDto> {
    return toAcceptedRunDto(await this.runner.runAsync(this.request(name, input, principal, correlationId)));
  }

  /** A run the caller may see: its own, or any for admin and auditor; another's is "not found". */
  async status(name: string, runId: string | undefined, principal: Principal): Promise<RunStatusDto> {
    requirePipelineRead(principal, this.resolve(name));
    const owner = readableOwner(principal);
    const run =
      runId === undefined ? await this.runs.latestRun(name, owner) : await this.runs.findRun(runId, { pipeline: name, principal: owner });
    if (!run) {
      throw new NotFoundError(
        runId === undefined
          ? `Pipeline '${shorten(name)}' has no runs yet.`
          : `Run '${shorten(runId)}' of pipeline '${shorten(name)}' does not exist.`,
      );
    }
    return toRunStatusDto(run);
  }

  async listRuns(name: string, principal: Principal, limit: number, offset: number): Promise<ListRunsResponseDto> {
    requirePipelineRead(principal, this.resolve(name));
    return toListRunsResponseDto(await this.runs.listRuns(name, readableOwner(principal), { limit, offset }));
  }

  async cancel(name: string, runId: string, principal: Principal): Promise<RunStatusDto> {
    requirePipelineRun(principal, this.resolve(name));
    const run = await this.runner.cancel(runId, { scope: { pipeline: name, principal: writableOwner(principal) } });
    if (!run) throw new NotFoundError(`Run '${shorten(runId)}' of pipeline '${shorten(name)}' does not exist.`);
    return toRunStatusDto(run);
  }

  private resolve(name: string): Pipeline {
    const pipeline = this.catalog.findPipeline(name);
    if (!pipeline) throw new NotFoundError(`Pipeline '${shorten(name)}' does not exist.`);
    return pipeline;
  }

  private request(name: string, input: string, principal: Principal, correlationId: string) {
    const pipeline = this.resolve(name);
    requirePipelineRun(principal, pipeline);
    return {
      pipeline: toSpec(pipeline),
      input,
      principal: principal.id,
      correlationId,
    };
  }
}
