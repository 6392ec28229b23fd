import { Inject, Injectable, type OnApplicationBootstrap, type OnModuleDestroy, Optional } from '@nestjs/common';
import type { Logger } from 'pino';
import { UnavailableError } from '../../common/errors/domain-errors.js';
import { LOGGER } from '../../common/logging/logging.module.js';
import { APP_CONFIG } from '../../config/config.module.js';
import { type AppConfig, isDevelopmentMode } from '../../config/configuration.js';
import type { Principal } from '../principal.js';
import { PRINCIPAL_DIRECTORY, type PrincipalDirectory } from '../principal-directory.js';
import { type ActiveManagedKey, hashManagedKey, isManagedKeyFormat, managedKeyPrincipal } from './managed-key.js';
import { MANAGED_KEY_STORE, type ManagedKeyStore } from './managed-key-store.port.js';

/** How often each replica asks whether a key changed; a revocation is honoured within this plus one query. */
export const MANAGED_KEY_REFRESH_MS = 1_000;

interface Entry {
  principal: Principal;
  /** Milliseconds since the epoch on the database's clock; undefined: never expires. */
  expiresAt?: number;
}

/**
 * The managed keys this replica accepts, in memory. A request never queries the database: a
 * presented key is looked up by its SHA-256 digest among the keys of the last refresh, so random
 * keys cost no query. Every second one statement reads the change counter; only when it moved are
 * the usable keys read again. While the database is unreachable the last set stays in force
 * (docs/security.md "Managed keys").
 */
@Injectable()
export class ManagedKeyCache implements OnApplicationBootstrap, OnModuleDestroy {
  private keys = new Map<string, Entry>();
  /** Undefined until the first successful load: until then a managed key cannot be checked. */
  private version: string | undefined;
  /** Database clock minus local clock, so expiry follows the database like every other replica. */
  private clockOffsetMs = 0;
  private timer: NodeJS.Timeout | undefined;
  private queue: Promise<void> = Promise.resolve();
  private pending = 0;
  private failing = false;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() @Inject(MANAGED_KEY_STORE) private readonly store?: ManagedKeyStore,
    @Optional() @Inject(PRINCIPAL_DIRECTORY) private readonly users?: PrincipalDirectory,
  ) {}

  /** After the database module has migrated (onModuleInit), before the server listens. */
  async onApplicationBootstrap(): Promise<void> {
    if (!this.store) return;
    await this.refresh().catch(() => undefined);
    // Development mode is decided by the configuration at start, as AuthenticationGuard decides
    // it (variables, and user keys in the definitions); keys in the database do not end it.
    if (isDevelopmentMode(this.config) && !this.users?.userDirectory().hasKeys && this.keys.size > 0) {
      this.logger.warn(
        { managed_keys: this.keys.size },
        'DEVELOPMENT MODE with managed keys in the database: they are NOT required and every request is accepted. ' +
          'Set AGENTSPEC_API_KEY (or AGENTSPEC_API_KEYS / OIDC_ISSUER) to require credentials.',
      );
    }
    this.timer = setInterval(() => {
      if (this.pending === 0) void this.refresh().catch(() => undefined);
    }, MANAGED_KEY_REFRESH_MS);
    this.timer.unref();
  }

  /** A poll still running is not waited for: a database that stopped answering must not delay shutdown. */
  onModuleDestroy(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The principal of a usable managed key; undefined for any other value. */
  verify(presented: string): Principal | undefined {
    if (!this.store || !isManagedKeyFormat(presented)) return undefined;
    // "Could not check" is not "bad credentials" (503, not 401).
    if (this.version === undefined) throw new UnavailableError('Managed API keys cannot be checked yet: the database is unavailable.');
    const entry = this.keys.get(hashManagedKey(presented));
    if (!entry) return undefined;
    if (entry.expiresAt !== undefined && entry.expiresAt <= Date.now() + this.clockOffsetMs) return undefined;
    return entry.principal;
  }

  /**
   * Brings the set up to date with the database. Calls run one after another, and each starts
   * after it was made, so a change this replica just wrote is in force once the promise resolves.
   * Rejects when the database could not be read (the previous set stays).
   */
  refresh(): Promise<void> {
    this.pending++;
    const run = this.queue.then(() => this.poll());
    this.queue = run.then(
      () => undefined,
      () => undefined,
    );
    return run.finally(() => this.pending--);
  }

  private async poll(): Promise<void> {
    const store = this.store;
    if (!store) return;
    try {
      const sentAt = Date.now();
      const { version, now } = await store.changeVersion();
      this.clockOffsetMs = now.getTime() - (sentAt + Date.now()) / 2;
      if (version !== this.version) this.replace(await store.activeKeys());
      if (this.failing) this.logger.info({ managed_keys: this.keys.size }, 'managed keys: refreshed again');
      this.failing = false;
    } catch (error) {
      if (!this.failing) {
        this.logger.warn(
          { err_message: (error as Error).message, managed_keys: this.keys.size, loaded: this.version !== undefined },
          'managed keys: could not refresh from the database; the keys loaded last stay in force',
        );
      }
      this.failing = true;
      throw error;
    }
  }

  private replace(snapshot: { version: string; keys: ActiveManagedKey[] }): void {
    const keys = new Map<string, Entry>();
    for (const key of snapshot.keys) {
      keys.set(key.hash, { principal: managedKeyPrincipal(key), expiresAt: key.expiresAt?.getTime() });
    }
    this.keys = keys;
    this.version = snapshot.version;
  }
}
