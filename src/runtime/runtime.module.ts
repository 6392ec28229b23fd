import { type DynamicModule, Global, Module } from '@nestjs/common';
import { PRINCIPAL_DIRECTORY } from '../auth/principal-directory.js';
import type { Definitions } from '../definitions/index.js';
import { KNOWN_NAMES } from '../metrics/metrics.service.js';
import { AgentRunner } from './agent-runner.js';
import { CatalogService, INITIAL_DEFINITIONS } from './catalog.service.js';
import { ModelGateway } from './model-gateway.js';

/**
 * Running agents, without HTTP: the definitions being served, agent resolution, prompt
 * rendering, the model gateway and the one `AgentRunner` every feature uses.
 */
@Global()
@Module({})
export class RuntimeModule {
  static forRoot(definitions: Definitions): DynamicModule {
    return {
      module: RuntimeModule,
      providers: [
        { provide: INITIAL_DEFINITIONS, useValue: definitions },
        CatalogService,
        { provide: KNOWN_NAMES, useExisting: CatalogService },
        { provide: PRINCIPAL_DIRECTORY, useExisting: CatalogService },
        ModelGateway,
        AgentRunner,
      ],
      exports: [CatalogService, KNOWN_NAMES, PRINCIPAL_DIRECTORY, AgentRunner],
    };
  }
}
