import { ApiPropertyOptional, type ExamplesObject } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsNotEmpty, IsNumber, IsObject, IsOptional, IsString, Max, Min, ValidateIf, ValidateNested } from 'class-validator';
import { FAST_ACCEPT, isPlainJsonObject, isPlainStringRecord } from '../validation/fast-acceptance.js';
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

  /** A body certainly valid under the rules above, as class-transformer would build it; else undefined. */
  static accept(body: unknown): InvokeOptionsDto | undefined {
    if (!isPlainJsonObject(body)) return undefined;
    for (const key in body) {
      const value = body[key];
      if (key === 'temperature') {
        // NaN and ±Infinity fail the comparison.
        if (typeof value !== 'number' || !(value >= 0 && value <= 2)) return undefined;
      } else if (key === 'max_tokens') {
        if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) return undefined;
      } else if (key === 'variables') {
        if (!isPlainStringRecord(value)) return undefined;
      } else return undefined;
    }
    const options = Object.assign(new InvokeOptionsDto(), body);
    if (options.variables) options.variables = { ...options.variables };
    return options;
  }
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

  static [FAST_ACCEPT](body: Record<string, unknown>): AgentCallDto | undefined {
    return acceptAgentCall(body, AgentCallDto);
  }
}

/**
 * The common valid agent call without class-validator (src/common/validation/fast-acceptance.ts):
 * a non-empty `input`, no `message`, `options` and `variables` certainly valid, other keys only
 * where `extra` vouches for them. Anything else: undefined, and the validation pipe decides.
 */
export function acceptAgentCall<T extends AgentCallDto>(
  body: Record<string, unknown>,
  Dto: new () => T,
  extra?: (key: string, value: unknown) => boolean,
): T | undefined {
  let options: InvokeOptionsDto | undefined;
  let hasInput = false;
  for (const key in body) {
    const value = body[key];
    if (key === 'input') {
      if (typeof value !== 'string' || value.length === 0) return undefined;
      hasInput = true;
    } else if (key === 'options') {
      options = InvokeOptionsDto.accept(value);
      if (!options) return undefined;
    } else if (key === 'variables') {
      if (!isPlainStringRecord(value)) return undefined;
    } else if (!extra?.(key, value)) return undefined;
  }
  if (!hasInput) return undefined;
  const dto = Object.assign(new Dto(), body);
  if (options) dto.options = options;
  if (dto.variables) dto.variables = { ...dto.variables };
  return dto;
}

/** Request examples of the agent calls, valid against the bundled agents (agents/support.ias). */
export const AGENT_CALL_EXAMPLES: ExamplesObject = {
  question: {
    summary: 'A question, with a prompt variable',
    value: { input: 'Where is my order #1234?', options: { temperature: 0.3, variables: { tone: 'friendly' } } },
  },
};
