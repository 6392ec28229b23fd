import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Transform } from 'class-transformer';
import { IsIn, IsInt, IsOptional, IsString, Max, MaxLength, Min } from 'class-validator';
import { AUDIT_KINDS, AUDIT_OUTCOMES, type AuditKind, type AuditOutcome } from '../audit-events.repository.js';
import { IsAuditTimestamp } from '../audit-timestamp.js';

export const AUDIT_PAGE_LIMIT = { default: 50, max: 500 } as const;
export const EXPORT_FORMATS = ['jsonl', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

/** `kind=a&kind=b` and `kind=a,b` alike: a list of trimmed values (anything else stays, to be refused). */
const commaList = Transform(({ value }: { value: unknown }) => {
  const values = Array.isArray(value) ? value : [value];
  if (!values.every((item) => typeof item === 'string')) return value;
  return values.flatMap((item) => item.split(',')).map((item) => item.trim());
});
const decimal = Transform(({ value }: { value: unknown }) =>
  typeof value === 'string' && /^[0-9]{1,6}$/.test(value) ? Number(value) : value,
);

/** The filters of `GET /v1/audit/events` and `GET /v1/audit/export` (docs/audit.md "Reading"). */
export class AuditFilterQueryDto {
  /** Only events of this principal (`key:…`, `oidc:…#…`, a user block's name as recorded). */
  @IsOptional()
  @IsString()
  @MaxLength(500)
  principal?: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  agent?: string;

  @IsOptional()
  @IsString()
  @MaxLength(200)
  pipeline?: string;

  /** One or more kinds: repeat the parameter or separate with commas. */
  @ApiPropertyOptional({ type: 'array', items: { type: 'string', enum: [...AUDIT_KINDS] } })
  @IsOptional()
  @commaList
  @IsIn(AUDIT_KINDS, { each: true })
  kind?: AuditKind[];

  /** One or more outcomes: repeat the parameter or separate with commas. */
  @ApiPropertyOptional({ type: 'array', items: { type: 'string', enum: [...AUDIT_OUTCOMES] } })
  @IsOptional()
  @commaList
  @IsIn(AUDIT_OUTCOMES, { each: true })
  outcome?: AuditOutcome[];

  /** RFC 3339 (or a date alone: midnight UTC), at most 6 fractional digits; events at or after it. @example 2026-11-30T00:00:00Z */
  @IsOptional()
  @IsString()
  @IsAuditTimestamp()
  since?: string;

  /** RFC 3339 (or a date alone: midnight UTC), at most 6 fractional digits; events before it. @example 2026-12-01T00:00:00Z */
  @IsOptional()
  @IsString()
  @IsAuditTimestamp()
  until?: string;
}

export class ListAuditEventsQueryDto extends AuditFilterQueryDto {
  /** 1..500, default 50. */
  @ApiPropertyOptional({ type: 'integer', minimum: 1, maximum: AUDIT_PAGE_LIMIT.max })
  @IsOptional()
  @decimal
  @IsInt()
  @Min(1)
  @Max(AUDIT_PAGE_LIMIT.max)
  limit?: number;

  /** `next_cursor` of the previous page. */
  @IsOptional()
  @IsString()
  @MaxLength(200)
  cursor?: string;
}

export class ExportAuditEventsQueryDto extends AuditFilterQueryDto {
  /** `jsonl` (default): one event per line; `csv`: a header line, then one row per event. */
  @ApiPropertyOptional({ enum: EXPORT_FORMATS })
  @IsOptional()
  @IsIn(EXPORT_FORMATS)
  format?: ExportFormat;
}

export class AuditEventDto {
  /** Stable id of the audit row. @example 1024 */
  id!: string;
  /** Position in the hash chain; null until sealed. */
  @ApiProperty({ type: 'integer', nullable: true })
  seq!: number | null;
  /** RFC 3339, UTC. */
  at!: string;
  @ApiProperty({ enum: AUDIT_KINDS })
  kind!: AuditKind;
  @ApiProperty({ enum: AUDIT_OUTCOMES })
  outcome!: AuditOutcome;
  principal!: string | null;
  agent!: string | null;
  pipeline!: string | null;
  session_id!: string | null;
  run_id!: string | null;
  correlation_id!: string | null;
  /** Kind-specific facts (docs/audit.md "Events"); never message text. */
  @ApiProperty({ type: 'object', additionalProperties: true })
  detail!: Record<string, unknown>;
}

export class AuditEventsPageDto {
  events!: AuditEventDto[];
  /** Pass as `cursor` for the next page; null on the last page. */
  @ApiProperty({ type: 'string', nullable: true })
  next_cursor!: string | null;
}

export class BrokenLinkDto {
  @ApiProperty({ type: 'integer' })
  seq!: number;
  /** The event found at (or, for a gap, right after) that position. */
  id!: string;
  /** `gap`, `missing_event`, `prev_mismatch`, `hash_mismatch` or `head_mismatch` (docs/audit.md "Verification"). */
  reason!: string;
}

export class VerificationDto {
  /** RFC 3339, UTC. */
  at!: string;
  @ApiProperty({ enum: ['ok', 'broken'] })
  status!: 'ok' | 'broken';
  /** Links checked. */
  @ApiProperty({ type: 'integer' })
  checked!: number;
  @ApiProperty({ type: BrokenLinkDto, nullable: true })
  first_broken!: BrokenLinkDto | null;
  /** The retention anchor the walk started from: links up to it were purged and are not verified (0: none); null in a verification stored by an older version. */
  @ApiProperty({ type: 'integer', nullable: true })
  anchor_seq!: number | null;
  /** RFC 3339 time of the oldest sealed event still stored (the first link after the anchor); null when none. Compare with AGENTSPEC_AUDIT_RETENTION. */
  @ApiProperty({ type: 'string', nullable: true })
  oldest_at!: string | null;
}

export class AuditChainDto {
  /** Sealed events still stored (after the retention anchor). */
  @ApiProperty({ type: 'integer' })
  sealed!: number;
  /** Events not sealed yet. */
  @ApiProperty({ type: 'integer' })
  pending!: number;
  /** Queued events whose row no longer exists: deleted before sealing, broken evidence (docs/audit.md "Verification"). Normally 0. */
  @ApiProperty({ type: 'integer' })
  orphaned_pending!: number;
  /** The last sealed position; null while nothing was ever sealed. */
  @ApiProperty({ type: 'integer', nullable: true })
  head_seq!: number | null;
  /** SHA-256 of the head link, hex: record it elsewhere to detect a rewritten chain. */
  @ApiProperty({ type: 'string', nullable: true })
  head_hash!: string | null;
  @ApiProperty({ type: VerificationDto, nullable: true })
  last_verification!: VerificationDto | null;
}
