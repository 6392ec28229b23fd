import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { acceptAgentCall, AgentCallDto } from '../../common/dto/agent-call.dto.js';
import { FAST_ACCEPT, isShortNonEmptyString } from '../../common/validation/fast-acceptance.js';

export class InvokeAgentDto extends AgentCallDto {
  /** Compatibility: makes the call a turn of this session, exactly like continue (409 `session_busy` while another turn runs). */
  @ApiPropertyOptional({ deprecated: true })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  session_id?: string;

  static override [FAST_ACCEPT](body: Record<string, unknown>): InvokeAgentDto | undefined {
    return acceptAgentCall(body, InvokeAgentDto, (key, value) => key === 'session_id' && isShortNonEmptyString(value, 200));
  }
}
