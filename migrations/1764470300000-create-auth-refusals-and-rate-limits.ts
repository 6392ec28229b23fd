import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * The refusal audit (docs/security.md "Refusals in the audit"): one row per 401, 403 and 429,
 * never a credential. And the shared counters of AGENTSPEC_RATE_LIMIT_STORE=postgres, in the
 * shape rate-limiter-flexible's RateLimiterPostgres queries (key, points, expire in epoch ms);
 * created here so the service never runs DDL at run time.
 */
export class CreateAuthRefusalsAndRateLimits1764470300000 implements MigrationInterface {
  name = 'CreateAuthRefusalsAndRateLimits1764470300000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE auth_refusals (
        id             bigint      GENERATED ALWAYS AS IDENTITY,
        at             timestamptz NOT NULL DEFAULT now(),
        status         smallint    NOT NULL,
        code           text        NOT NULL,
        reason         text        NOT NULL,
        principal      text        NULL,
        ip             inet        NULL,
        method         text        NOT NULL,
        route          text        NULL,
        correlation_id text        NOT NULL,
        CONSTRAINT pk_auth_refusals PRIMARY KEY (id),
        CONSTRAINT ck_auth_refusals_status CHECK (status IN (401, 403, 429)),
        CONSTRAINT ck_auth_refusals_reason
          CHECK (reason IN ('missing_credentials', 'invalid_credentials', 'forbidden', 'rate_limited', 'auth_throttled'))
      )`);
    // Reading the audit: recent refusals, those of one address or one principal, one request.
    await queryRunner.query('CREATE INDEX ix_auth_refusals_at ON auth_refusals (at)');
    await queryRunner.query('CREATE INDEX ix_auth_refusals_ip_at ON auth_refusals (ip, at)');
    await queryRunner.query('CREATE INDEX ix_auth_refusals_principal_at ON auth_refusals (principal, at) WHERE principal IS NOT NULL');
    await queryRunner.query('CREATE INDEX ix_auth_refusals_correlation_id ON auth_refusals (correlation_id)');

    // Unlogged: counters that live for seconds need no WAL; after a crash they start empty.
    await queryRunner.query(`
      CREATE UNLOGGED TABLE rate_limit_buckets (
        key    text    NOT NULL,
        points integer NOT NULL DEFAULT 0,
        expire bigint  NULL,
        CONSTRAINT pk_rate_limit_buckets PRIMARY KEY (key)
      )`);
    // rate-limiter-flexible deletes rows expired for an hour, every 5 minutes, from each replica.
    await queryRunner.query('CREATE INDEX ix_rate_limit_buckets_expire ON rate_limit_buckets (expire)');
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE rate_limit_buckets');
    await queryRunner.query('DROP TABLE auth_refusals');
  }
}
