import 'reflect-metadata';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { createApp } from '../../src/app.factory.js';
import { createLogger } from '../../src/common/logging/logger.js';
import { loadInitialDefinitions } from '../../src/runtime/catalog.service.js';
import { type AppConfig, loadConfig } from '../../src/config/configuration.js';
import { underContract } from './contract.js';

/** Collects the JSON log lines an app writes, for assertions. */
export class LogCapture extends Writable {
  readonly lines: Record<string, unknown>[] = [];
  readonly raw: string[] = [];

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (!line) continue;
      this.raw.push(line);
      this.lines.push(JSON.parse(line) as Record<string, unknown>);
    }
    done();
  }

  withCorrelationId(id: string): Record<string, unknown>[] {
    return this.lines.filter((line) => line.correlation_id === id);
  }
}

export interface TestApp {
  app: NestExpressApplication;
  config: AppConfig;
  /** `http://127.0.0.1:<port>` */
  url: string;
  logs: LogCapture;
  close(): Promise<void>;
}

/** The real application, built as main.ts builds it, on a random loopback port. */
export async function startTestApp(options: {
  databaseUrl: string;
  env?: Record<string, string>;
  /** Adjusts Node's HTTP server before it listens (its timeouts, for slow-client tests). */
  beforeListen?: (server: Server) => void;
}): Promise<TestApp> {
  const config = loadConfig({
    LOG_LEVEL: 'info',
    AGENTSPEC_DEFINITIONS: 'agents',
    ...options.env,
    DATABASE_URL: options.databaseUrl,
  });
  const definitions = await loadInitialDefinitions(config.definitionsPath, config.apiKeys, config.environment);
  if (!definitions.ok) throw new Error(`test definitions are invalid:\n${definitions.errors}`);
  const logs = new LogCapture();
  const logger = createLogger(config.logLevel, logs);
  const app = await createApp({ config, logger, databaseUrl: options.databaseUrl, definitions: definitions.definitions });
  options.beforeListen?.(app.getHttpServer());
  await app.listen(0, '127.0.0.1');
  const { port } = app.getHttpServer().address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  underContract(url);
  return { app, config, url, logs, close: () => app.close() };
}
