import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The governance audit (docs/governance.md "In the audit"): one row per guardrail finding
 * (block or warn, on the input, the output or a tool of a call), per call refused by a budget,
 * per `validate` outcome (a broken warning rule, a re-prompt, a 422), and per hand-over of a
 * call to another agent (delegation).
 * Rows name the agent, the guardrail or budget period, the caller and where the call came
 * from (a stateless call, a session turn or a pipeline step); never the matched text.
 */
export class CreateGovernanceEvents1764480200000 implements MigrationInterface {
  name = 'CreateGovernanceEvents1764480200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE governance_events (
        id             bigint      GENERATED ALWAYS AS IDENTITY,
        at             timestamptz NOT NULL DEFAULT now(),
        kind           text        NOT NULL,
        agent          text        NOT NULL,
        name           text        NOT NULL,
        action         text        NOT NULL,
        side           text        NULL,
        endpoint       text        NOT NULL,
        principal      text        NOT NULL,
        correlation_id text        NOT NULL,
        session_id     text        NULL,
        run_id         text        NULL,
        step           text        NULL,
        detail         jsonb       NULL,
        CONSTRAINT pk_governance_events PRIMARY KEY (id),
        CONSTRAINT ck_governance_events_kind CHECK (kind IN ('guardrail', 'budget', 'validation', 'delegation')),
        CONSTRAINT ck_governance_events_action CHECK (action IN ('block', 'warn', 'refuse', 'retry', 'delegate')),
        CONSTRAINT ck_governance_events_side CHECK (side IS NULL OR side IN ('input', 'output', 'tool')),
        CONSTRAINT ck_governance_events_endpoint CHECK (endpoint IN ('invoke', 'stream', 'session', 'pipeline'))
      )`);
    await queryRunner.query('CREATE INDEX ix_governance_events_at ON governance_events (at)');
    await queryRunner.query('CREATE INDEX ix_governance_events_agent_at ON governance_events (agent, at)');
    await queryRunner.query('CREATE INDEX ix_governance_events_correlation_id ON governance_events (correlation_id)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE governance_events');
  }
}
