import { type DynamicModule, Global, Module } from '@nestjs/common';
import type { Definitions } from '../definitions/index.js';
import { KNOWN_NAMES } from '../metrics/metrics.service.js';
import { CatalogService, INITIAL_DEFINITIONS } from './catalog.service.js';

@Global()
@Module({})
export class CatalogModule {
  static forRoot(definitions: Definitions): DynamicModule {
    return {
      module: CatalogModule,
      providers: [
        { provide: INITIAL_DEFINITIONS, useValue: definitions },
        CatalogService,
        { provide: KNOWN_NAMES, useExisting: CatalogService },
      ],
      exports: [CatalogService, KNOWN_NAMES],
    };
  }
}
