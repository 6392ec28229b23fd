import { CreateInvocations1764460800000 } from './1764460800000-create-invocations.js';
import { CreateSessions1764460900000 } from './1764460900000-create-sessions.js';
import { CreatePipelineRuns1764461000000 } from './1764461000000-create-pipeline-runs.js';
import { OwnerIndexes1764470100000 } from './1764470100000-owner-indexes.js';
import { CreateApiKeys1764470200000 } from './1764470200000-create-api-keys.js';
import { CreateAuthRefusalsAndRateLimits1764470300000 } from './1764470300000-create-auth-refusals-and-rate-limits.js';
import { CreateBudgetSpend1764480100000 } from './1764480100000-create-budget-spend.js';
import { CreateGovernanceEvents1764480200000 } from './1764480200000-create-governance-events.js';
import { SessionCounts1764490100000 } from './1764490100000-session-counts.js';
import { CreateAuditEvents1764490200000 } from './1764490200000-create-audit-events.js';
import { SessionTurnFailures1764490300000 } from './1764490300000-session-turn-failures.js';

/** Every migration, oldest first. `npm run migration:create` appends here. */
export const MIGRATIONS = [CreateInvocations1764460800000, CreateSessions1764460900000, CreatePipelineRuns1764461000000, OwnerIndexes1764470100000, CreateApiKeys1764470200000, CreateAuthRefusalsAndRateLimits1764470300000, CreateBudgetSpend1764480100000, CreateGovernanceEvents1764480200000, SessionCounts1764490100000, CreateAuditEvents1764490200000, SessionTurnFailures1764490300000];
