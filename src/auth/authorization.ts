import { ForbiddenError } from '../common/errors/domain-errors.js';
import { mayReadEverything, mayReadSessionsOf, mayRunPipeline, maySeePipeline, mayUseAgent } from './access.js';
import type { Principal } from './principal.js';

/**
 * The checks the feature services make before doing anything for a caller (docs/security.md
 * "Authorization"). A refusal is 403 `forbidden`; records of other principals are filtered out
 * by the owner the repositories are given, so they answer 404 as if they did not exist.
 */

/** A pipeline as far as authorization cares: the agents its steps run. */
export interface PipelineAgents {
  readonly name: string;
  readonly steps: readonly { readonly agent: string }[];
}

/** Invoke, stream, and create, continue or end sessions of this agent. */
export function requireAgentUse(principal: Principal, agent: string): void {
  if (!mayUseAgent(principal.access, agent)) throw new ForbiddenError(`You may not use agent '${agent}'.`);
}

/** List this agent's sessions and read their history. */
export function requireSessionsRead(principal: Principal, agent: string): void {
  if (!mayReadSessionsOf(principal.access, agent)) throw new ForbiddenError(`You may not read the sessions of agent '${agent}'.`);
}

/** Run or cancel this pipeline. */
export function requirePipelineRun(principal: Principal, pipeline: PipelineAgents): void {
  if (!mayRunPipeline(principal.access, stepAgents(pipeline))) throw new ForbiddenError(`You may not run pipeline '${pipeline.name}'.`);
}

/** Read this pipeline's runs (status, list). */
export function requirePipelineRead(principal: Principal, pipeline: PipelineAgents): void {
  if (!maySeePipeline(principal.access, stepAgents(pipeline))) {
    throw new ForbiddenError(`You may not read the runs of pipeline '${pipeline.name}'.`);
  }
}

/** Whether the pipeline is listed for this caller. */
export function isPipelineVisible(principal: Principal, pipeline: PipelineAgents): boolean {
  return maySeePipeline(principal.access, stepAgents(pipeline));
}

/** Whose sessions and runs a read covers: `null` for everyone's (admin, auditor), else the caller's own. */
export function readableOwner(principal: Principal): string | null {
  return mayReadEverything(principal.access) ? null : principal.id;
}

/** Whose sessions and runs a change may touch: `null` for everyone's (admin), else the caller's own. */
export function writableOwner(principal: Principal): string | null {
  return principal.access.role === 'admin' ? null : principal.id;
}

function stepAgents(pipeline: PipelineAgents): string[] {
  return pipeline.steps.map((step) => step.agent);
}
