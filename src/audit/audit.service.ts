import { Readable } from 'node:stream';
import { Injectable } from '@nestjs/common';
import { InvalidRequestError } from '../common/errors/domain-errors.js';
import { AuditChainRepository, type ChainState, type Verification } from './audit-chain.repository.js';
import { decodeCursor, encodeCursor, filterKey } from './audit-cursor.js';
import { parseTimestamp } from './audit-timestamp.js';
import { type AuditEventRecord, AuditEventsRepository, type AuditFilter, type AuditPosition } from './audit-events.repository.js';
import { CSV_HEADER, csvLine, jsonLine } from './audit-export.js';
import {
  AUDIT_PAGE_LIMIT,
  type AuditChainDto,
  type AuditEventDto,
  type AuditEventsPageDto,
  type AuditFilterQueryDto,
  type ExportFormat,
  type ListAuditEventsQueryDto,
  type VerificationDto,
} from './dto/audit.dto.js';

/** Events per query of an export: one index range each, whatever the export's length. */
const EXPORT_BATCH = 1_000;

export interface AuditExport {
  stream: Readable;
  contentType: string;
  filename: string;
}

@Injectable()
export class AuditService {
  constructor(
    private readonly events: AuditEventsRepository,
    private readonly chain: AuditChainRepository,
  ) {}

  async list(query: ListAuditEventsQueryDto): Promise<AuditEventsPageDto> {
    const filter = toFilter(query);
    const key = filterKey(filter);
    const after = query.cursor === undefined ? undefined : parseCursor(query.cursor, key);
    const limit = query.limit ?? AUDIT_PAGE_LIMIT.default;
    const rows = await this.events.page(filter, after, limit + 1);
    const page = rows.slice(0, limit);
    return {
      events: page.map(toDto),
      next_cursor: rows.length > limit ? encodeCursor(position(page[page.length - 1]), key) : null,
    };
  }

  /**
   * The events as a stream that reads one batch at a time, as fast as the client takes them:
   * memory stays flat however many there are, and a client that goes away stops the reads.
   * The first batch is read before answering, so that a failure up to then (database down) is
   * an error answer; a later one can only end the stream early (docs/audit.md "Reading").
   */
  async export(query: AuditFilterQueryDto, format: ExportFormat, now = new Date()): Promise<AuditExport> {
    const filter = toFilter(query);
    const line = format === 'csv' ? csvLine : jsonLine;
    const events = this.events;
    const first = await events.page(filter, undefined, EXPORT_BATCH);
    async function* chunks(): AsyncGenerator<string> {
      let rows = first;
      for (;;) {
        const text = rows.map((row) => line(toDto(row))).join('');
        if (rows === first && format === 'csv') yield CSV_HEADER + text;
        else if (text.length > 0) yield text;
        if (rows.length < EXPORT_BATCH) return;
        rows = await events.page(filter, position(rows[rows.length - 1]), EXPORT_BATCH);
      }
    }
    const stamp = now
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z');
    return {
      stream: Readable.from(chunks(), { objectMode: false, highWaterMark: 64 * 1024 }),
      contentType: format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
      filename: `audit-${stamp}.${format}`,
    };
  }

  async chainState(): Promise<AuditChainDto> {
    return toChainDto(await this.chain.state());
  }

  /**
   * Seals what is pending (unless another replica is at it), then walks the whole chain; while
   * another verification runs, on any replica, waits for it and answers its outcome.
   */
  async verify(): Promise<AuditChainDto> {
    await this.chain.seal();
    const verification = await this.chain.verify();
    return { ...toChainDto(await this.chain.state()), last_verification: toVerificationDto(verification) };
  }
}

function parseCursor(cursor: string, key: string): AuditPosition {
  const decoded = decodeCursor(cursor);
  if (!decoded) {
    throw new InvalidRequestError('cursor is not a cursor of this list; pass next_cursor of the previous page as is.', [
      { field: 'cursor', message: 'not a cursor of this list' },
    ]);
  }
  if (decoded.key !== key) {
    throw new InvalidRequestError('cursor was made for other filters; repeat the filters of the first page with next_cursor.', [
      { field: 'cursor', message: 'made for other filters' },
    ]);
  }
  return decoded.position;
}

function toFilter(query: AuditFilterQueryDto): AuditFilter {
  return {
    principal: query.principal,
    agent: query.agent,
    pipeline: query.pipeline,
    kinds: query.kind,
    outcomes: query.outcome,
    sinceUs: query.since === undefined ? undefined : timestamp(query.since, 'since'),
    untilUs: query.until === undefined ? undefined : timestamp(query.until, 'until'),
  };
}

/** The DTO validated it already; this keeps a caller that skipped validation from reaching SQL with it. */
function timestamp(value: string, field: string): bigint {
  const us = parseTimestamp(value);
  if (us === undefined) throw new InvalidRequestError(`${field} is not an RFC 3339 timestamp of a real instant.`, [{ field, message: 'invalid timestamp' }]);
  return us;
}

function position(row: AuditEventRecord): AuditPosition {
  return { atUs: row.at_us, id: row.id };
}

function toDto(row: AuditEventRecord): AuditEventDto {
  return {
    id: row.id,
    seq: row.seq === null ? null : Number(row.seq),
    at: row.at.toISOString(),
    kind: row.kind,
    outcome: row.outcome,
    principal: row.principal,
    agent: row.agent,
    pipeline: row.pipeline,
    session_id: row.session_id,
    run_id: row.run_id,
    correlation_id: row.correlation_id,
    detail: row.detail,
  };
}

function toChainDto(state: ChainState): AuditChainDto {
  return {
    sealed: Number(state.headSeq - state.anchorSeq),
    pending: state.pending,
    orphaned_pending: state.orphanedPending,
    head_seq: state.headSeq === 0n ? null : Number(state.headSeq),
    head_hash: state.headSeq === 0n ? null : state.headHash,
    last_verification: state.lastVerification && toVerificationDto(state.lastVerification),
  };
}

function toVerificationDto(verification: Verification): VerificationDto {
  return { ...verification, at: verification.at.toISOString() };
}
