import { Module } from '@nestjs/common';
import { AgentsService } from './agents.service.js';
import { InvocationsRepository } from './invocations.repository.js';
import { ModelGateway } from './model-gateway.js';

/** Running agents, without HTTP: used by the agent, session and pipeline features. */
@Module({
  providers: [AgentsService, ModelGateway, InvocationsRepository],
  exports: [AgentsService, ModelGateway],
})
export class AgentRuntimeModule {}
