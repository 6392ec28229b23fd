import type { AgentProfile, AgentRunRequest, AgentRunResult, ModelCaller } from '../agent-loop.js';
import { AgentRun } from './agent-run.js';
import { runMapReduce } from './map-reduce.js';
import { runPlanAndExecute } from './plan-and-execute.js';
import { runReact } from './react.js';
import { runReflexion } from './reflexion.js';
import { runRouter } from './router.js';

/** How an agent turns a call into model calls (docs/agents.md, "Strategies"). */
export type AgentStrategy = 'react' | 'plan-and-execute' | 'reflexion' | 'router' | 'map-reduce';

const STRATEGIES: Record<AgentStrategy, (run: AgentRun) => Promise<AgentRunResult>> = {
  react: runReact,
  'plan-and-execute': runPlanAndExecute,
  reflexion: runReflexion,
  router: runRouter,
  'map-reduce': runMapReduce,
};

/**
 * The strategy an agent's `strategy` (or `loop`) attribute names: absent and `loop` mean
 * `react`. The validator refuses other values at load, so an unknown one here is a bug.
 */
export function agentStrategy(value: string | undefined): AgentStrategy {
  if (value === undefined || value === 'loop') return 'react';
  if (Object.hasOwn(STRATEGIES, value)) return value as AgentStrategy;
  throw new Error(`Unknown agent strategy "${value}".`);
}

export async function runStrategy(model: ModelCaller, agent: AgentProfile, request: AgentRunRequest): Promise<AgentRunResult> {
  return STRATEGIES[agent.strategy ?? 'react'](new AgentRun(model, agent, request));
}
