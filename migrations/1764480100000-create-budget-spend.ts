import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * What each agent has spent on model calls, per UTC day and per UTC calendar month (issue 12,
 * `budget daily|monthly`), shared by every replica. Dollars are `numeric(20, 9)`: sums are exact
 * to the nano-dollar, where integer micro-dollars would round away most of a short call to a
 * small model (10 tokens of gpt-4.1-nano cost a micro-dollar), and the column reads in dollars.
 * `warned_at` records the one 80 % warning of a window, whichever replica logged it.
 */
export class CreateBudgetSpend1764480100000 implements MigrationInterface {
  name = 'CreateBudgetSpend1764480100000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE budget_spend (
        agent        text           NOT NULL,
        period       text           NOT NULL,
        window_start date           NOT NULL,
        spent_usd    numeric(20, 9) NOT NULL DEFAULT 0,
        warned_at    timestamptz    NULL,
        updated_at   timestamptz    NOT NULL DEFAULT now(),
        CONSTRAINT pk_budget_spend PRIMARY KEY (agent, period, window_start),
        CONSTRAINT ck_budget_spend_agent CHECK (char_length(agent) > 0),
        CONSTRAINT ck_budget_spend_period CHECK (period IN ('daily', 'monthly')),
        CONSTRAINT ck_budget_spend_monthly_window CHECK (period <> 'monthly' OR extract(day FROM window_start) = 1),
        CONSTRAINT ck_budget_spend_spent_usd CHECK (spent_usd >= 0)
      )`);
    // The agent listing reads the current windows of every agent.
    await queryRunner.query('CREATE INDEX ix_budget_spend_period_window_start ON budget_spend (period, window_start)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE budget_spend');
  }
}
