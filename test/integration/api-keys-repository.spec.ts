import type pg from 'pg';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateManagedKey, hashManagedKey } from '../../src/auth/managed-keys/managed-key.js';
import { ApiKeyExpiryInPastError, ApiKeyPrefixTakenError, ApiKeysRepository, type NewApiKey } from '../../src/keys/api-keys.repository.js';
import { connect, createMigratedDatabase } from '../support/database.js';

describe('ApiKeysRepository (real PostgreSQL)', () => {
  let dataSource: DataSource;
  let client: pg.Client;
  let repository: ApiKeysRepository;

  beforeAll(async () => {
    const database = await createMigratedDatabase(4);
    dataSource = database.dataSource;
    client = await connect(database.url);
    repository = new ApiKeysRepository(dataSource);
  });
  afterAll(async () => {
    await client?.end();
    await dataSource?.destroy();
  });

  function newKey(overrides: Partial<NewApiKey> = {}): { key: string; input: NewApiKey } {
    const generated = generateManagedKey();
    return {
      key: generated.key,
      input: {
        name: 'ci',
        hash: generated.hash,
        prefix: generated.prefix,
        role: 'user',
        agents: ['chat'],
        expiresAt: null,
        createdBy: 'key:0123456789abcdef',
        ...overrides,
      },
    };
  }

  /** Makes a key expired a minute ago, as if it had been created an hour ago. */
  async function expire(id: string): Promise<void> {
    await client.query(
      "UPDATE api_keys SET created_at = now() - interval '1 hour', expires_at = now() - interval '1 minute' WHERE id = $1",
      [id],
    );
  }

  it('stores a new key by its SHA-256 digest and never the key', async () => {
    const { key, input } = newKey({ name: 'stored', agents: ['chat', 'support'] });

    const record = await repository.create(input);

    expect(record).toEqual({
      id: expect.stringMatching(/^mk_[0-9A-Z]{26}$/),
      name: 'stored',
      prefix: key.slice(0, 12),
      role: 'user',
      agents: ['chat', 'support'],
      status: 'active',
      expiresAt: null,
      createdAt: expect.any(Date),
      createdBy: 'key:0123456789abcdef',
      revokedAt: null,
    });
    const { rows } = await client.query('SELECT * FROM api_keys WHERE id = $1', [record.id]);
    expect(rows[0].hash).toBe(hashManagedKey(key));
    expect(JSON.stringify(rows[0])).not.toContain(key.slice(12));
  });

  it('refuses a second key with the same prefix, and an expiry not after the database clock', async () => {
    const first = newKey();
    await repository.create(first.input);
    const clash = newKey({ prefix: first.input.prefix });

    await expect(repository.create(clash.input)).rejects.toBeInstanceOf(ApiKeyPrefixTakenError);
    await expect(repository.create(newKey({ expiresAt: new Date(Date.now() - 1_000) }).input)).rejects.toBeInstanceOf(
      ApiKeyExpiryInPastError,
    );
  });

  it('keeps the constraints when written by hand: agents only for user keys, no NULL agent, a known role', async () => {
    const { input } = newKey();
    const insert = (role: string, agents: (string | null)[]) =>
      client.query(
        "INSERT INTO api_keys (id, name, hash, prefix, role, agents, created_by) VALUES ('mk_01JD3Q8Z4N5V6W7X8Y9Z0A1B2C', 'x', $1, $2, $3, $4, 'cli')",
        [input.hash, input.prefix, role, agents],
      );

    await expect(insert('admin', ['chat'])).rejects.toMatchObject({ constraint: 'ck_api_keys_agents' });
    await expect(insert('user', ['chat', null])).rejects.toMatchObject({ constraint: 'ck_api_keys_agents' });
    await expect(insert('owner', [])).rejects.toMatchObject({ constraint: 'ck_api_keys_role' });
  });

  it('lists every key newest first with its status: active, expired, revoked (revoked wins)', async () => {
    const active = await repository.create(newKey({ name: 'list-active', expiresAt: new Date(Date.now() + 3_600_000) }).input);
    const expired = await repository.create(newKey({ name: 'list-expired' }).input);
    await expire(expired.id);
    const revoked = await repository.create(newKey({ name: 'list-revoked', role: 'admin', agents: [] }).input);
    await repository.revoke(revoked.id);

    const list = await repository.list();

    const mine = list.filter((key) => key.name.startsWith('list-'));
    // expire() dated the expired key an hour back, so it comes last.
    expect(mine.map((key) => [key.name, key.status])).toEqual([
      ['list-revoked', 'revoked'],
      ['list-active', 'active'],
      ['list-expired', 'expired'],
    ]);
    expect(mine[0].revokedAt).toBeInstanceOf(Date);
    expect(list.map((key) => key.createdAt.getTime())).toEqual([...list.map((key) => key.createdAt.getTime())].sort((a, b) => b - a));
    expect(Object.keys(active)).not.toContain('hash');
  });

  it('revokes by id or by prefix, keeps the first revocation time, and knows no other key', async () => {
    const byId = await repository.create(newKey().input);
    const byPrefix = await repository.create(newKey().input);

    const revoked = await repository.revoke(byId.id);
    expect(revoked).toMatchObject({ id: byId.id, status: 'revoked', revokedAt: expect.any(Date) });
    expect((await repository.revoke(byPrefix.prefix))?.id).toBe(byPrefix.id);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await repository.revoke(byId.id))?.revokedAt).toEqual(revoked!.revokedAt);

    expect(await repository.revoke('mk_01JD3Q8Z4N5V6W7X8Y9Z0A1B2C')).toBeUndefined();
    expect(await repository.revoke('ask_nothere')).toBeUndefined();
    await expect(repository.revoke('')).rejects.toBeInstanceOf(RangeError);
  });

  it('moves the change counter on every change, by the repository or by hand', async () => {
    const before = await repository.changeVersion();
    expect(before.now).toBeInstanceOf(Date);

    const created = await repository.create(newKey().input);
    const afterCreate = await repository.changeVersion();
    expect(BigInt(afterCreate.version)).toBeGreaterThan(BigInt(before.version));

    await client.query("UPDATE api_keys SET name = 'renamed by hand' WHERE id = $1", [created.id]);
    const afterManual = await repository.changeVersion();
    expect(BigInt(afterManual.version)).toBeGreaterThan(BigInt(afterCreate.version));

    await client.query('DELETE FROM api_keys WHERE id = $1', [created.id]);
    expect(BigInt((await repository.changeVersion()).version)).toBeGreaterThan(BigInt(afterManual.version));
  });

  it('hands the cache only usable keys, with their digest and the version of the same snapshot', async () => {
    const usable = newKey({ name: 'usable', expiresAt: new Date(Date.now() + 3_600_000) });
    const usableRecord = await repository.create(usable.input);
    const revoked = await repository.create(newKey().input);
    await repository.revoke(revoked.id);
    const expired = await repository.create(newKey().input);
    await expire(expired.id);

    const snapshot = await repository.activeKeys();

    expect(snapshot.version).toBe((await repository.changeVersion()).version);
    const ids = snapshot.keys.map((key) => key.id);
    expect(ids).toContain(usableRecord.id);
    expect(ids).not.toContain(revoked.id);
    expect(ids).not.toContain(expired.id);
    expect(snapshot.keys.find((key) => key.id === usableRecord.id)).toEqual({
      id: usableRecord.id,
      name: 'usable',
      hash: usable.input.hash,
      prefix: usable.input.prefix,
      role: 'user',
      agents: ['chat'],
      expiresAt: usable.input.expiresAt,
    });
  });

  it('answers an empty key set with the current version', async () => {
    await client.query('DELETE FROM api_keys');
    const snapshot = await repository.activeKeys();
    expect(snapshot.keys).toEqual([]);
    expect(snapshot.version).toBe((await repository.changeVersion()).version);
  });
});
