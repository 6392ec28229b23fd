import { Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { NotFoundError } from '../common/errors/domain-errors.js';
import { LOGGER } from '../common/logging/logging.module.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { AppConfig } from '../config/configuration.js';
import { type ConsoleAsset, ConsoleAssets } from './console-assets.js';
import { consolePolicy } from './console-policy.js';
import { ConsoleConfigDto } from './dto/console-config.dto.js';
import { IdentityProvider } from './identity-provider.js';

export const CONSOLE_DIRECTORY = Symbol('CONSOLE_DIRECTORY');

/** The console's files and the settings its page reads (docs/console.md). */
@Injectable()
export class ConsoleService implements OnModuleInit {
  private assets?: ConsoleAssets;
  private missingLogged = false;
  /** The build broke a limit (a symlink-free tree of bounded size): not looked at again. */
  private unusable = false;
  private readonly identityProvider?: IdentityProvider;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(CONSOLE_DIRECTORY) private readonly directory: string,
  ) {
    const issuer = config.oidc.issuer;
    if (issuer && config.console.oidcClientId) {
      this.identityProvider = new IdentityProvider({
        issuer,
        onFailure: (reason) => logger.warn({ issuer, reason }, 'console: could not read the issuer discovery document'),
      });
    }
  }

  /** The build is read (and compressed) once here, not on the first request; discovery starts too. */
  onModuleInit(): void {
    this.assets = this.load();
    void this.identityProvider?.endpoints();
  }

  async settings(): Promise<ConsoleConfigDto> {
    const { issuer } = this.config.oidc;
    const clientId = this.config.console.oidcClientId;
    if (!issuer || !clientId || !this.identityProvider) return { version: this.config.version };
    const endpoints = await this.identityProvider.endpoints();
    return { version: this.config.version, sso: { issuer, client_id: clientId, scope: this.config.console.oidcScope, ...endpoints } };
  }

  /** The file for a path under /console/; a build that was missing at start is looked for again. */
  asset(path: string): ConsoleAsset {
    if (!this.assets && !this.unusable) this.assets = this.load();
    const asset = this.assets?.resolve(path);
    if (!asset) {
      throw new NotFoundError(this.assets ? `Path '/console/${path}' does not exist.` : 'The console is not built: run npm run build.');
    }
    return asset;
  }

  /**
   * The page's policy; the SSO's token endpoint is known once discovery has answered. Waits
   * only while discovery has never answered; later the known answer is used (and refreshed in
   * the background when stale).
   */
  async policy(): Promise<string> {
    if (!this.identityProvider) return consolePolicy([]);
    await this.identityProvider.endpoints();
    return consolePolicy(this.identityProvider.connectOrigins());
  }

  private load(): ConsoleAssets | undefined {
    let assets: ConsoleAssets | undefined;
    try {
      assets = ConsoleAssets.load(this.directory);
    } catch (error) {
      this.unusable = true;
      this.logger.error({ directory: this.directory, reason: (error as Error).message }, 'console: the build cannot be served');
      return undefined;
    }
    if (!assets && !this.missingLogged) {
      this.missingLogged = true;
      this.logger.warn({ directory: this.directory }, 'console: not built (no index.html); /console answers 404 until it is');
    }
    return assets;
  }
}
