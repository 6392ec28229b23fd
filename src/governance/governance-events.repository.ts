import { Injectable } from '@nestjs/common';
import { DataSource } from 'typeorm';
import { requestLogFields, type RequestLogFields } from '../common/request-context/request-context.js';

/** Where a governed call came from: the audit names it so a row can be traced back. */
export interface CallOrigin {
  endpoint: 'invoke' | 'stream' | 'session' | 'pipeline';
  principal: string;
  /** The request's correlation id (a pipeline step: its run's). */
  correlationId: string;
  sessionId?: string;
  runId?: string;
  step?: string;
}

/** What a log line written for this call carries (as the logger adds it inside a request). */
export function originLogFields(origin: CallOrigin): RequestLogFields {
  return requestLogFields(origin.correlationId, origin.principal);
}

export interface GovernanceEvent {
  kind: 'guardrail' | 'budget' | 'validation' | 'delegation';
  agent: string;
  /** The guardrail's name, the budget's period, the validate rule's name, or the delegate agent. */
  name: string;
  action: 'block' | 'warn' | 'refuse' | 'retry' | 'delegate';
  side?: 'input' | 'output' | 'tool';
  /** Who called, through which route, in which request (its correlation id). */
  origin: CallOrigin;
  detail?: Record<string, unknown>;
}

/** All SQL of the `governance_events` table (migration 1764480200000). */
@Injectable()
export class GovernanceEventsRepository {
  constructor(private readonly dataSource: DataSource) {}

  /** One statement for the events of one call, whatever their number. */
  async insertMany(events: readonly GovernanceEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.dataSource.query(
      `INSERT INTO governance_events (kind, agent, name, action, side, endpoint, principal, correlation_id, session_id, run_id, step, detail)
       SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[],
                            $9::text[], $10::text[], $11::text[], $12::jsonb[])`,
      [
        events.map((event) => event.kind),
        events.map((event) => event.agent),
        events.map((event) => event.name),
        events.map((event) => event.action),
        events.map((event) => event.side ?? null),
        events.map((event) => event.origin.endpoint),
        events.map((event) => event.origin.principal),
        events.map((event) => event.origin.correlationId),
        events.map((event) => event.origin.sessionId ?? null),
        events.map((event) => event.origin.runId ?? null),
        events.map((event) => event.origin.step ?? null),
        events.map((event) => (event.detail === undefined ? null : JSON.stringify(event.detail))),
      ],
    );
  }
}
