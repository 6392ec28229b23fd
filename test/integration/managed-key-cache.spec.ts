import type pg from 'pg';
import type { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManagedKeyCache } from '../../src/auth/managed-keys/managed-key-cache.js';
import type { ManagedKeyStore } from '../../src/auth/managed-keys/managed-key-store.port.js';
import { generateManagedKey } from '../../src/auth/managed-keys/managed-key.js';
import { UnavailableError } from '../../src/common/errors/domain-errors.js';
import { createLogger } from '../../src/common/logging/logger.js';
import { loadConfig } from '../../src/config/configuration.js';
import { ApiKeysRepository } from '../../src/keys/api-keys.repository.js';
import { KeysService } from '../../src/keys/keys.service.js';
import { connect, createMigratedDatabase, openDataSource } from '../support/database.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { LogCapture } from '../support/test-app.js';

/** The real repository, counting the statements the cache sends it. */
class CountingStore implements ManagedKeyStore {
  versionReads = 0;
  loads = 0;
  constructor(private readonly repository: ApiKeysRepository) {}
  changeVersion() {
    this.versionReads++;
    return this.repository.changeVersion();
  }
  activeKeys() {
    this.loads++;
    return this.repository.activeKeys();
  }
}

const CONFIG = loadConfig({ AGENTSPEC_API_KEY: 'service-key-0123456789', LOG_LEVEL: 'silent' });

describe('ManagedKeyCache over the real repository', () => {
  let url: string;
  let dataSource: DataSource;
  let client: pg.Client;
  let keys: KeysService;

  beforeAll(async () => {
    const database = await createMigratedDatabase(4);
    ({ url, dataSource } = database);
    client = await connect(url);
    keys = new KeysService(new ApiKeysRepository(dataSource));
  });
  afterAll(async () => {
    await client?.end();
    await dataSource?.destroy();
  });

  function cacheOver(store: ManagedKeyStore, logs = new LogCapture()): ManagedKeyCache {
    return new ManagedKeyCache(CONFIG, createLogger('info', logs), store);
  }

  it('cannot check a managed key before its first load (503, not 401), and ignores other keys', async () => {
    const cache = cacheOver(new ApiKeysRepository(dataSource));
    const { key } = await keys.create({ name: 'early' }, 'test');

    expect(() => cache.verify(key)).toThrow(UnavailableError);
    expect(cache.verify('service-key-0123456789')).toBeUndefined();
    expect(cache.verify('ask_short')).toBeUndefined();
  });

  it('turns a usable key into its principal, with access from role and agents', async () => {
    const cache = cacheOver(new ApiKeysRepository(dataSource));
    const user = await keys.create({ name: 'chat user', role: 'user', agents: ['chat', 'support'] }, 'test');
    const auditor = await keys.create({ name: 'audit', role: 'auditor' }, 'test');
    await cache.refresh();

    const principal = cache.verify(user.key);
    expect(principal).toEqual({
      kind: 'managed_key',
      id: `mkey:${user.id}`,
      name: 'chat user',
      roles: ['user'],
      access: { role: 'user', agents: new Set(['chat', 'support']) },
    });
    expect(JSON.stringify(principal)).not.toContain(user.key);
    expect(cache.verify(auditor.key)).toMatchObject({ id: `mkey:${auditor.id}`, roles: ['auditor'], access: { role: 'auditor' } });
    // One character off is another key.
    const altered = user.key.slice(0, -1) + (user.key.endsWith('A') ? 'B' : 'A');
    expect(cache.verify(altered)).toBeUndefined();
  });

  it('reads the keys again only when the counter moved, and a revocation is refused after the next refresh', async () => {
    const store = new CountingStore(new ApiKeysRepository(dataSource));
    const cache = cacheOver(store);
    const created = await keys.create({ name: 'to revoke' }, 'test');
    await cache.refresh();
    await cache.refresh();
    expect(store.loads).toBe(1);
    expect(store.versionReads).toBe(2);
    expect(cache.verify(created.key)?.id).toBe(`mkey:${created.id}`);

    await keys.revoke(created.prefix);
    await cache.refresh();

    expect(store.loads).toBe(2);
    expect(cache.verify(created.key)).toBeUndefined();
  });

  it('honours a change made through this replica at once, without waiting for the next poll', async () => {
    const cache = cacheOver(new ApiKeysRepository(dataSource));
    await cache.refresh();
    const local = new KeysService(new ApiKeysRepository(dataSource), cache);

    const created = await local.create({ name: 'local' }, 'test');
    expect(cache.verify(created.key)?.id).toBe(`mkey:${created.id}`);

    await local.revoke(created.id);
    expect(cache.verify(created.key)).toBeUndefined();
  });

  it('sends no statement at all for presented keys, known or random', async () => {
    const store = new CountingStore(new ApiKeysRepository(dataSource));
    const cache = cacheOver(store);
    const { key } = await keys.create({ name: 'busy' }, 'test');
    await cache.refresh();
    const statements = store.versionReads + store.loads;

    for (let i = 0; i < 1_000; i++) expect(cache.verify(generateManagedKey().key)).toBeUndefined();
    for (let i = 0; i < 100; i++) expect(cache.verify(key)).toBeDefined();

    expect(store.versionReads + store.loads).toBe(statements);
  });

  it('refuses a key once its expiry passes, without waiting for a refresh', async () => {
    const cache = cacheOver(new ApiKeysRepository(dataSource));
    const { id, key } = await keys.create({ name: 'short-lived', expires_in: '1s' }, 'test');
    await cache.refresh();
    expect(cache.verify(key)?.id).toBe(`mkey:${id}`);

    await new Promise((resolve) => setTimeout(resolve, 1_200));

    expect(cache.verify(key)).toBeUndefined();
  });

  it('keeps the keys it has while the database is unreachable, and catches up when it is back', async () => {
    const proxy = TcpProxy.forUrl(url);
    await proxy.start();
    const replica = await openDataSource(proxy.rewrite(url), 2);
    const logs = new LogCapture();
    const cache = cacheOver(new ApiKeysRepository(replica), logs);
    try {
      const kept = await keys.create({ name: 'kept during outage' }, 'test');
      await cache.refresh();

      await proxy.cut();
      // Written through another replica's connection while this one cannot see the database.
      await keys.revoke(kept.id);
      const during = await keys.create({ name: 'created during outage' }, 'test');
      await expect(cache.refresh()).rejects.toThrow();
      await expect(cache.refresh()).rejects.toThrow();

      expect(cache.verify(kept.key)?.id).toBe(`mkey:${kept.id}`);
      expect(cache.verify(during.key)).toBeUndefined();
      const warnings = logs.lines.filter((line) => String(line.msg).startsWith('managed keys: could not refresh'));
      expect(warnings).toHaveLength(1);

      await proxy.restore();
      await cache.refresh();

      expect(cache.verify(kept.key)).toBeUndefined();
      expect(cache.verify(during.key)?.id).toBe(`mkey:${during.id}`);
      expect(logs.lines.some((line) => line.msg === 'managed keys: refreshed again')).toBe(true);
    } finally {
      await proxy.restore();
      await replica.destroy();
      await proxy.cut();
    }
  });
});
