import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * Managed API keys (docs/security.md "Managed keys"). Only the SHA-256 digest of a key is
 * stored, never the key. Every replica keeps the usable keys in memory and polls
 * `api_keys_version`, which a statement trigger bumps on any change to `api_keys` (made by the
 * service, the CLI or by hand); the row lock on the counter orders concurrent changes, so a
 * replica that reads version N and then the keys never misses a change committed before N.
 */
export class CreateApiKeys1764470200000 implements MigrationInterface {
  name = 'CreateApiKeys1764470200000';

  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query(`
      CREATE TABLE api_keys (
        id         text        NOT NULL,
        name       text        NOT NULL,
        hash       text        NOT NULL,
        prefix     text        NOT NULL,
        role       text        NOT NULL,
        agents     text[]      NOT NULL DEFAULT '{}',
        expires_at timestamptz NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        created_by text        NOT NULL,
        revoked_at timestamptz NULL,
        CONSTRAINT pk_api_keys PRIMARY KEY (id),
        CONSTRAINT uq_api_keys_hash UNIQUE (hash),
        CONSTRAINT uq_api_keys_prefix UNIQUE (prefix),
        CONSTRAINT ck_api_keys_id CHECK (id ~ '^mk_[0-9A-Z]{26}$'),
        CONSTRAINT ck_api_keys_name CHECK (char_length(name) BETWEEN 1 AND 200),
        CONSTRAINT ck_api_keys_hash CHECK (hash ~ '^[0-9a-f]{64}$'),
        CONSTRAINT ck_api_keys_prefix CHECK (prefix ~ '^ask_[A-Za-z0-9_-]{8}$'),
        CONSTRAINT ck_api_keys_role CHECK (role IN ('admin', 'auditor', 'user')),
        CONSTRAINT ck_api_keys_agents CHECK (array_position(agents, NULL) IS NULL AND (role = 'user' OR cardinality(agents) = 0)),
        CONSTRAINT ck_api_keys_created_by CHECK (char_length(created_by) > 0),
        CONSTRAINT ck_api_keys_expires_at CHECK (expires_at IS NULL OR expires_at > created_at),
        CONSTRAINT ck_api_keys_revoked_at CHECK (revoked_at IS NULL OR revoked_at >= created_at)
      )`);
    // The reload every replica runs after a change reads only keys not revoked.
    await queryRunner.query('CREATE INDEX ix_api_keys_unrevoked ON api_keys (expires_at) WHERE revoked_at IS NULL');
    await queryRunner.query('CREATE INDEX ix_api_keys_created_at ON api_keys (created_at DESC, id DESC)');

    await queryRunner.query(`
      CREATE TABLE api_keys_version (
        id      smallint NOT NULL DEFAULT 1,
        version bigint   NOT NULL DEFAULT 0,
        CONSTRAINT pk_api_keys_version PRIMARY KEY (id),
        CONSTRAINT ck_api_keys_version_single_row CHECK (id = 1)
      )`);
    await queryRunner.query('INSERT INTO api_keys_version (id, version) VALUES (1, 0)');
    await queryRunner.query(`
      CREATE FUNCTION api_keys_bump_version() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        UPDATE api_keys_version SET version = version + 1 WHERE id = 1;
        RETURN NULL;
      END
      $$`);
    await queryRunner.query(`
      CREATE TRIGGER tg_api_keys_bump_version
        AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON api_keys
        FOR EACH STATEMENT EXECUTE FUNCTION api_keys_bump_version()`);
  }

  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TRIGGER tg_api_keys_bump_version ON api_keys');
    await queryRunner.query('DROP FUNCTION api_keys_bump_version()');
    await queryRunner.query('DROP TABLE api_keys_version');
    await queryRunner.query('DROP TABLE api_keys');
  }
}
