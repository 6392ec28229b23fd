import { Controller, Get, HttpCode, Post, Query, StreamableFile, UseGuards } from '@nestjs/common';
import { ApiBadRequestResponse, ApiForbiddenResponse, ApiOkResponse, ApiTags } from '@nestjs/swagger';
import { ErrorResponseDto } from '../common/dto/error-response.dto.js';
import { ApiCredentialRefusals, ApiJsonBodyRefusals } from '../common/http/swagger.js';
import { AuditReaderGuard } from './audit-reader.guard.js';
import { AuditService } from './audit.service.js';
import { AuditChainDto, AuditEventsPageDto, ExportAuditEventsQueryDto, ListAuditEventsQueryDto } from './dto/audit.dto.js';

const BAD_FILTER = '`invalid_request`: an unknown or invalid query parameter, or a cursor this list did not make.';

/** The audit events and their hash chain (docs/audit.md). Administrators and auditors only. */
@ApiTags('audit')
@ApiCredentialRefusals()
@ApiForbiddenResponse({ type: ErrorResponseDto, description: '`forbidden`: the caller is not an administrator or an auditor.' })
@UseGuards(AuditReaderGuard)
@Controller('v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditService) {}

  /** Audit events, newest first, a page at a time. */
  @Get('events')
  @ApiOkResponse({ type: AuditEventsPageDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: BAD_FILTER })
  events(@Query() query: ListAuditEventsQueryDto): Promise<AuditEventsPageDto> {
    return this.audit.list(query);
  }

  /** Every event the filters select, newest first, streamed as JSON lines or CSV. */
  @Get('export')
  @ApiOkResponse({
    description: 'An attachment: one event per line (jsonl), or a header line and one row per event (csv, `detail` as JSON text).',
    content: {
      'application/x-ndjson': { schema: { type: 'string' } },
      'text/csv': { schema: { type: 'string' } },
    },
  })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: BAD_FILTER })
  async export(@Query() query: ExportAuditEventsQueryDto): Promise<StreamableFile> {
    const file = await this.audit.export(query, query.format ?? 'jsonl');
    return new StreamableFile(file.stream, { type: file.contentType, disposition: `attachment; filename="${file.filename}"` });
  }

  /** How much of the audit is sealed into the hash chain, and the last verification. */
  @Get('chain')
  @ApiOkResponse({ type: AuditChainDto })
  chain(): Promise<AuditChainDto> {
    return this.audit.chainState();
  }

  /**
   * Seals pending events, then walks the whole chain and names the first broken link. One
   * verification runs at a time across replicas: while one runs, this waits for it and answers its outcome.
   */
  @Post('chain/verify')
  @HttpCode(200)
  @ApiJsonBodyRefusals()
  @ApiOkResponse({ type: AuditChainDto })
  verify(): Promise<AuditChainDto> {
    return this.audit.verify();
  }
}
