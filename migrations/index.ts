import { CreateInvocations1764460800000 } from './1764460800000-create-invocations.js';
import { CreateSessions1764460900000 } from './1764460900000-create-sessions.js';
import { CreatePipelineRuns1764461000000 } from './1764461000000-create-pipeline-runs.js';

/** Every migration, oldest first. `npm run migration:create` appends here. */
export const MIGRATIONS = [CreateInvocations1764460800000, CreateSessions1764460900000, CreatePipelineRuns1764461000000];
