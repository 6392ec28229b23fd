import { ApiPropertyOptional, type ExamplesObject } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsNotEmpty, IsNumber, IsObject, IsOptional, IsString, Max, Min, ValidateIf, ValidateNested } from 'class-validator';
import { IsStringRecord } from '../validation/is-string-record.js';

export class InvokeOptionsDto {
  /** Sampling temperature, 0..2. Overrides the agent's `temperature`. */
  @IsOptional()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @Min(0)
  @Max(2)
  temperature?: number;

  /** Upper bound on the answer's tokens (per model call). */
  @IsOptional()
  @IsInt()
  @Min(1)
  max_tokens?: number;

  /**
   * Values for the prompt's `{{variables}}`.
   * @example { "tone": "friendly" }
   */
  @IsOptional()
  @IsStringRecord()
  variables?: Record<string, string>;
}

/** The body of every agent call (invoke, stream, continue): `input` plus `options`. */
export class AgentCallDto {
  /**
   * The user's message.
   * @example Where is my order #1234?
   */
  @ValidateIf((body: AgentCallDto) => body.message === undefined)
  @IsString()
  @IsNotEmpty()
  input?: string;

  @IsOptional()
  @IsObject()
  @ValidateNested()
  @Type(() => InvokeOptionsDto)
  options?: InvokeOptionsDto;

  /** Compatibility alias of `input` (older SDKs). */
  @ApiPropertyOptional({ deprecated: true })
  @ValidateIf((body: AgentCallDto) => body.input === undefined && body.message !== undefined)
  @IsString()
  @IsNotEmpty()
  message?: string;

  /** Compatibility alias of `options.variables`. */
  @ApiPropertyOptional({ deprecated: true })
  @IsOptional()
  @IsStringRecord()
  variables?: Record<string, string>;
}

/** Request examples of the agent calls, valid against the bundled agents (agents/support.ias). */
export const AGENT_CALL_EXAMPLES: ExamplesObject = {
  question: {
    summary: 'A question, with a prompt variable',
    value: { input: 'Where is my order #1234?', options: { temperature: 0.3, variables: { tone: 'friendly' } } },
  },
};
