import { Global, Module } from '@nestjs/common';
import { AuthModule } from '../auth/auth.module.js';
import { MANAGED_KEY_STORE } from '../auth/managed-keys/managed-key-store.port.js';
import { ApiKeysRepository } from './api-keys.repository.js';
import { KeysController } from './keys.controller.js';
import { KeysService } from './keys.service.js';

/** Global so that its MANAGED_KEY_STORE port reaches the auth module's key cache without an import. */
@Global()
@Module({
  imports: [AuthModule],
  controllers: [KeysController],
  providers: [ApiKeysRepository, KeysService, { provide: MANAGED_KEY_STORE, useExisting: ApiKeysRepository }],
  exports: [MANAGED_KEY_STORE],
})
export class KeysModule {}
