import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { queryRows } from '../database/query-rows.js';

export const AUDIT_KINDS = [
  'invocation',
  'session_turn',
  'session_created',
  'session_deleted',
  'pipeline_run',
  'auth_refusal',
  'guardrail',
  'budget',
  'validation',
  'delegation',
] as const;
export type AuditKind = (typeof AUDIT_KINDS)[number];

export const AUDIT_OUTCOMES = ['ok', 'error', 'refused', 'blocked', 'warned', 'cancelled'] as const;
export type AuditOutcome = (typeof AUDIT_OUTCOMES)[number];

/** Which events to read; every field narrows, absent ones do not. */
export interface AuditFilter {
  principal?: string;
  agent?: string;
  pipeline?: string;
  kinds?: readonly AuditKind[];
  outcomes?: readonly AuditOutcome[];
  /** Inclusive, in microseconds since the epoch (exact: `at` has microsecond precision). */
  sinceUs?: bigint;
  /** Exclusive, in microseconds since the epoch. */
  untilUs?: bigint;
  /** Inclusive, to the millisecond; ignored when sinceUs is given. */
  since?: Date;
  /** Exclusive, to the millisecond; ignored when untilUs is given. */
  until?: Date;
}

/** The position after which a page starts: the last row of the previous page. */
export interface AuditPosition {
  /** `at` in microseconds since the epoch, as decimal digits. */
  atUs: string;
  id: string;
}

export interface AuditEventRecord {
  id: string;
  seq: string | null;
  at: Date;
  at_us: string;
  kind: AuditKind;
  outcome: AuditOutcome;
  principal: string | null;
  agent: string | null;
  pipeline: string | null;
  session_id: string | null;
  run_id: string | null;
  correlation_id: string | null;
  detail: Record<string, unknown>;
}

const COLUMNS =
  'e.id, e.at, (extract(epoch FROM e.at) * 1000000)::bigint::text AS at_us, e.kind, e.outcome, ' +
  'e.principal, e.agent, e.pipeline, e.session_id, e.run_id, e.correlation_id, e.detail';

/**
 * Reads `audit_events` newest first, `(at, id)` descending, a page at a time (keyset
 * pagination: every page is one index range, however deep), with each event's position in the
 * hash chain. Rows are written by the triggers of migration 1764490200000 only.
 */
@Injectable()
export class AuditEventsRepository {
  constructor(private readonly dataSource: DataSource) {}

  async page(filter: AuditFilter, after: AuditPosition | undefined, limit: number): Promise<AuditEventRecord[]> {
    const { sql, parameters } = pageQuery(filter, after, limit);
    return queryRows<AuditEventRecord>(this.dataSource, sql, parameters);
  }
}

/** The statement of one page; exported for the plan test (test/integration/audit-indexes.spec.ts). */
export function pageQuery(filter: AuditFilter, after: AuditPosition | undefined, limit: number): { sql: string; parameters: unknown[] } {
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`limit must be a positive integer, got ${limit}`);
  const parameters: unknown[] = [];
  const where: string[] = [];
  const bind = (value: unknown): string => {
    parameters.push(value);
    return `$${parameters.length}`;
  };
  // Explicit `!== undefined`: an empty string is a filter too (it matches nothing), never "all".
  if (filter.principal !== undefined) where.push(`e.principal = ${bind(filter.principal)}`);
  if (filter.agent !== undefined) where.push(`e.agent = ${bind(filter.agent)}`);
  if (filter.pipeline !== undefined) where.push(`e.pipeline = ${bind(filter.pipeline)}`);
  if (filter.kinds?.length) where.push(oneOf('e.kind', filter.kinds, bind));
  if (filter.outcomes?.length) where.push(oneOf('e.outcome', filter.outcomes, bind));
  const sinceUs = filter.sinceUs ?? microseconds(filter.since);
  const untilUs = filter.untilUs ?? microseconds(filter.until);
  if (sinceUs !== undefined) where.push(`e.at >= ${instant(bind(sinceUs.toString()))}`);
  if (untilUs !== undefined) where.push(`e.at < ${instant(bind(untilUs.toString()))}`);
  if (after) {
    where.push(`(e.at, e.id) < (${instant(bind(after.atUs))}, ${bind(after.id)}::bigint)`);
  }
  // The page first, then the chain positions of its rows only.
  const sql =
    `SELECT p.id::text AS id, l.seq::text AS seq, p.at, p.at_us, p.kind, p.outcome, p.principal, p.agent, p.pipeline, ` +
    `p.session_id, p.run_id, p.correlation_id, p.detail FROM (` +
    `SELECT ${COLUMNS} FROM audit_events e` +
    (where.length ? ` WHERE ${where.join(' AND ')}` : '') +
    ` ORDER BY e.at DESC, e.id DESC LIMIT ${bind(limit)}` +
    `) p LEFT JOIN audit_chain_links l ON l.event_id = p.id ORDER BY p.at DESC, p.id DESC`;
  return { sql, parameters };
}

function microseconds(date: Date | undefined): bigint | undefined {
  if (date === undefined) return undefined;
  if (Number.isNaN(date.getTime())) throw new RangeError('invalid date in an audit filter');
  return BigInt(date.getTime()) * 1000n;
}

/**
 * The timestamptz of a parameter in microseconds since the epoch, exact whatever the session's
 * time zone: whole seconds and the remainder apart, as `interval * bigint` goes through float8.
 */
function instant(parameter: string): string {
  return `('epoch'::timestamptz + (${parameter}::bigint / 1000000) * interval '1 second' + (${parameter}::bigint % 1000000) * interval '1 microsecond')`;
}

/** One value as `=`, so the planner can use the (column, at, id) index for the order too. */
function oneOf(column: string, values: readonly string[], bind: (value: unknown) => string): string {
  return values.length === 1 ? `${column} = ${bind(values[0])}` : `${column} = ANY(${bind(values)}::text[])`;
}
