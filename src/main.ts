import 'reflect-metadata';
import type { AddressInfo } from 'node:net';
import type { NestExpressApplication } from '@nestjs/platform-express';
import type { Logger } from 'pino';
import { createApp } from './app.factory.js';
import { CatalogService, loadInitialDefinitions } from './runtime/catalog.service.js';
import { createLogger } from './common/logging/logger.js';
import { servingSummary } from './common/logging/serving-summary.js';
import { type AppConfig, ConfigError, isDevelopmentMode, loadConfig } from './config/configuration.js';
import { type EmbeddedDatabase, EmbeddedDatabaseError, startEmbeddedDatabase } from './database/embedded-database.js';
import { defaultDeployPort, type Definitions } from './definitions/index.js';
import { PipelineRunner } from './pipelines/pipeline-runner.js';

const DEFAULT_PORT = 8080;
/** At shutdown, how long the last answers get to reach their clients before connections close. */
const ANSWER_FLUSH_MS = 1_000;

async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger(config.logLevel);
  const definitions = await loadDefinitionsOrExit(config);
  if (definitions.warnings) logger.warn({ warnings: definitions.warnings }, 'definitions loaded with warnings');
  let embedded: EmbeddedDatabase | undefined;
  try {
    let databaseUrl = config.databaseUrl;
    if (!databaseUrl) {
      logger.info({ data_dir: config.dataDir }, 'DATABASE_URL is not set: starting the embedded PostgreSQL');
      embedded = await startEmbeddedDatabase({ dataDir: config.dataDir, onLog: (line) => logger.debug({ postgres: line }) });
      databaseUrl = embedded.url;
    }
    const app = await createApp({ config, logger, databaseUrl, definitions: definitions.definitions });
    if (isDevelopmentMode(config) && !app.get(CatalogService).userDirectory().hasKeys) {
      logger.warn(
        'DEVELOPMENT MODE: no API key and no OIDC issuer configured, so every request is accepted without ' +
          'credentials. Set AGENTSPEC_API_KEY (or AGENTSPEC_API_KEYS / OIDC_ISSUER) before exposing this server.',
      );
    }
    const port = config.port ?? defaultDeployPort(definitions.definitions) ?? DEFAULT_PORT;
    await app.listen(port, config.host);
    const serving = servingSummary({
      config,
      address: app.getHttpServer().address() as AddressInfo,
      agents: definitions.definitions.agents.length,
      pipelines: definitions.definitions.pipelines.length,
      userKeys: app.get(CatalogService).userDirectory().hasKeys,
    });
    logger.info(serving.fields, serving.message);
    handleShutdown(app, config, logger, embedded);
    process.on('SIGHUP', () => void app.get(CatalogService).reload());
  } catch (error) {
    if (error instanceof EmbeddedDatabaseError) logger.fatal(`start-up failed: ${error.message}`);
    else logger.fatal({ err: error }, 'start-up failed');
    await embedded?.stop().catch(() => undefined);
    logger.flush(() => process.exit(1));
  }
}

async function loadDefinitionsOrExit(config: AppConfig): Promise<{ definitions: Definitions; warnings: string }> {
  const loaded = await loadInitialDefinitions(config.definitionsPath, config.apiKeys, config.environment);
  if (!loaded.ok) {
    process.stderr.write(`Invalid definitions in ${config.definitionsPath}; nothing is served.\n${loaded.errors}\n`);
    process.exit(1);
  }
  return loaded;
}

function loadConfigOrExit(): AppConfig {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(2);
    }
    throw error;
  }
}

/**
 * SIGTERM/SIGINT: stop accepting, let in-flight requests finish (bounded), close the pool and
 * the embedded database, exit 0.
 */
function handleShutdown(app: NestExpressApplication, config: AppConfig, logger: Logger, embedded?: EmbeddedDatabase): void {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal, grace_ms: config.shutdownTimeoutMs }, 'shutting down');
    const server = app.getHttpServer();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    const idleSweep = setInterval(() => server.closeIdleConnections(), 100);
    server.closeIdleConnections();
    const deadline = setTimeout(() => {
      // Synchronous pipeline callers get their run as it stands (with its run_id) rather than a
      // reset connection; the runs go back to the queue for another replica.
      logger.warn('grace period over: handing synchronous pipeline runs back, then closing the remaining connections');
      void app
        .get(PipelineRunner)
        .handOver()
        .catch((error: unknown) => logger.error({ err: error }, 'could not hand pipeline runs back'))
        .finally(() => setTimeout(() => server.closeAllConnections(), ANSWER_FLUSH_MS).unref());
    }, config.shutdownTimeoutMs);
    await closed;
    clearInterval(idleSweep);
    clearTimeout(deadline);
    try {
      await app.close();
      await embedded?.stop();
      logger.info('stopped');
    } catch (error) {
      logger.error({ err: error }, 'error while stopping');
    }
    logger.flush(() => process.exit(0));
  };
  process.once('SIGTERM', () => void stop('SIGTERM'));
  process.once('SIGINT', () => void stop('SIGINT'));
}

void main();
