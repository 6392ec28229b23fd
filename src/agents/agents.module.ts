import { Module } from '@nestjs/common';
import { SessionsModule } from '../sessions/sessions.module.js';
import { AgentRuntimeModule } from './agent-runtime.module.js';
import { AgentsController } from './agents.controller.js';

@Module({
  imports: [AgentRuntimeModule, SessionsModule],
  controllers: [AgentsController],
})
export class AgentsModule {}
