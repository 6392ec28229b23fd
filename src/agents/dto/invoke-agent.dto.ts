import { ApiPropertyOptional } from '@nestjs/swagger';
import { IsNotEmpty, IsOptional, IsString, MaxLength } from 'class-validator';
import { AgentCallDto } from '../../common/dto/agent-call.dto.js';

export class InvokeAgentDto extends AgentCallDto {
  /** Compatibility: makes the call a turn of this session, exactly like continue (409 `session_busy` while another turn runs). */
  @ApiPropertyOptional({ deprecated: true })
  @IsOptional()
  @IsString()
  @IsNotEmpty()
  @MaxLength(200)
  session_id?: string;
}
