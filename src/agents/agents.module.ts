import { Module } from '@nestjs/common';
import { AgentsController } from './agents.controller.js';
import { AgentsService } from './agents.service.js';
import { InvocationsRepository } from './invocations.repository.js';

/** Agent routes; session turns through `session_id` use the SESSION_TURNS port (src/runtime). */
@Module({
  controllers: [AgentsController],
  providers: [AgentsService, InvocationsRepository],
})
export class AgentsModule {}
