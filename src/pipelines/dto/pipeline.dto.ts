import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsBoolean, IsObject, IsOptional, IsString, ValidateIf, ValidateNested } from 'class-validator';
import { UsageDto } from '../../common/dto/agent-run.dto.js';
import { PaginationQueryDto } from '../../common/pagination.dto.js';
import { STEP_STATUSES, type StepStatus } from '../pipeline-graph.js';
import { CLIENT_RUN_STATUSES, type ClientRunStatus, type RunMode } from '../pipeline-run.js';

export class RunPipelineOptionsDto {
  /** Answer 202 at once and run in the background (any replica may execute it). */
  @IsOptional()
  @IsBoolean()
  async?: boolean;
}

export class RunPipelineDto {
  /**
   * The run's input, given to the root steps.
   * @example Renewable energy storage in 2026
   */
  @ValidateIf((body: RunPipelineDto) => body.trigger === undefined || body.trigger === null)
  @IsString()
  input?: string;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => RunPipelineOptionsDto)
  options?: RunPipelineOptionsDto;

  /** Compatibility: an object whose JSON text becomes the input. */
  @ApiPropertyOptional({ deprecated: true })
  @ValidateIf((body: RunPipelineDto) => body.trigger !== undefined)
  @IsObject()
  trigger?: Record<string, unknown>;
}

export class StatusQueryDto {
  /** A run of this pipeline; without it, the most recent run. */
  @IsOptional()
  @IsString()
  run_id?: string;
}

/** `?limit=&offset=`. */
export class ListRunsQueryDto extends PaginationQueryDto {}

export class RunErrorDto {
  /** @example pipeline_error */
  code!: string;
  message!: string;
}

export class RunStepDto {
  name!: string;
  agent!: string;
  /** pending, running, completed, failed or skipped. */
  @ApiProperty({ enum: STEP_STATUSES })
  status!: StepStatus;
  output!: string | null;
  usage!: UsageDto;
  duration_ms!: number | null;
  error?: RunErrorDto;
}

export class RunDocumentDto {
  pipeline!: string;
  /** @example run_01JD2X3Y4Z5A6B7C8D9E0F1G2H */
  run_id!: string;
  /** completed, failed, cancelled (running only while it runs). */
  @ApiProperty({ enum: CLIENT_RUN_STATUSES })
  status!: ClientRunStatus;
  steps!: RunStepDto[];
  /** The final step's output; null unless completed. */
  output!: string | null;
  total_duration_ms!: number;
  usage!: UsageDto;
  error?: RunErrorDto;
}

export class AcceptedRunDto {
  pipeline!: string;
  run_id!: string;
  status!: 'running';
  started_at!: string;
}

export class StatusStepDto {
  name!: string;
  @ApiProperty({ enum: STEP_STATUSES })
  status!: StepStatus;
  duration_ms!: number | null;
  /** [ext] The agent the step calls. */
  agent?: string;
  /** [ext] When the step started; null while it is pending or when it was skipped. */
  started_at?: string | null;
  /** [ext] What was sent to the step's agent (its `input` template rendered); null until it starts. */
  input?: string | null;
  /** [ext] The step's answer once it completed, else null. */
  output?: string | null;
  /** [ext] Why the step failed. */
  error?: RunErrorDto;
}

export class RunStatusDto {
  pipeline!: string;
  run_id!: string;
  /** running, completed, failed or cancelled. */
  @ApiProperty({ enum: CLIENT_RUN_STATUSES })
  status!: ClientRunStatus;
  steps!: StatusStepDto[];
  started_at!: string;
  elapsed_ms!: number;
  /** [ext] The run's input as it was sent. */
  input?: string;
  finished_at?: string;
  output?: string | null;
  usage?: UsageDto;
  error?: RunErrorDto;
}

export class RunSummaryDto {
  run_id!: string;
  pipeline!: string;
  @ApiProperty({ enum: CLIENT_RUN_STATUSES })
  status!: ClientRunStatus;
  mode!: RunMode;
  started_at!: string;
  finished_at!: string | null;
  elapsed_ms!: number;
  usage!: UsageDto;
  error?: RunErrorDto;
}

export class ListRunsResponseDto {
  runs!: RunSummaryDto[];
  total!: number;
}

export class PipelineStepSummaryDto {
  name!: string;
  agent!: string;
  depends_on!: string[];
}

export class PipelineSummaryDto {
  name!: string;
  description?: string;
  steps!: PipelineStepSummaryDto[];
}

export class ListPipelinesResponseDto {
  pipelines!: PipelineSummaryDto[];
}
