/**
 * What a principal may do (docs/security.md). Pure: the routes ask these questions, and the
 * answers depend only on the principal's access and the names involved.
 *
 * - `admin`: everything.
 * - `auditor`: reads every session, run and audit record; invokes nothing.
 * - `user`: invokes the agents in its list, runs the pipelines whose every step's agent is
 *   in it, and reads only what it created.
 */
export type Role = 'admin' | 'auditor' | 'user';

export interface Access {
  readonly role: Role;
  /** The agents a `user` may use; ignored for the other roles. */
  readonly agents: ReadonlySet<string>;
}

export const ADMIN_ACCESS: Access = Object.freeze({ role: 'admin', agents: new Set<string>() });
export const AUDITOR_ACCESS: Access = Object.freeze({ role: 'auditor', agents: new Set<string>() });

export function userAccess(agents: Iterable<string>): Access {
  return Object.freeze({ role: 'user', agents: new Set(agents) });
}

/** Invoke, stream, and start or continue a session of this agent. */
export function mayUseAgent(access: Access, agent: string): boolean {
  return access.role === 'admin' || (access.role === 'user' && access.agents.has(agent));
}

/** Run a pipeline: every step's agent must be usable. */
export function mayRunPipeline(access: Access, stepAgents: Iterable<string>): boolean {
  if (access.role === 'admin') return true;
  if (access.role !== 'user') return false;
  for (const agent of stepAgents) if (!access.agents.has(agent)) return false;
  return true;
}

/** Whether lists and reads cover every principal's sessions and runs, not only the caller's. */
export function mayReadEverything(access: Access): boolean {
  return access.role === 'admin' || access.role === 'auditor';
}

/** Whether an agent appears in `GET /v1/agents` for this caller. */
export function maySeeAgent(access: Access, agent: string): boolean {
  return mayReadEverything(access) || access.agents.has(agent);
}

/** Managed keys and other administration. */
export function mayAdminister(access: Access): boolean {
  return access.role === 'admin';
}
