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

/** List and read this agent's sessions: the caller's own (user), or everyone's (admin, auditor). */
export function mayReadSessionsOf(access: Access, agent: string): boolean {
  return mayReadEverything(access) || mayUseAgent(access, agent);
}

/** Whether a pipeline appears in `GET /v1/pipelines` and its status and runs can be read. */
export function maySeePipeline(access: Access, stepAgents: Iterable<string>): boolean {
  return mayReadEverything(access) || mayRunPipeline(access, stepAgents);
}

/** The access of one role; `agents` counts for `user` only. */
export function accessForRole(role: Role, agents: Iterable<string>): Access {
  if (role === 'admin') return ADMIN_ACCESS;
  if (role === 'auditor') return AUDITOR_ACCESS;
  return userAccess(agents);
}

/** What a role name other than `admin` and `auditor` grants: the `user` block of that name. */
export interface RoleGrants {
  grantFor(role: string): Access | undefined;
}

/**
 * The access of a token holder from the roles its token states (docs/security.md "Principals
 * and roles"): `admin` and `auditor` are those roles; any other role that names a `user` block
 * grants what that block grants. The strongest role wins (admin, then auditor); users get the
 * union of their roles' agents. No matching role: a user who may use no agent.
 */
export function accessFromRoles(roles: Iterable<string>, grants: RoleGrants): Access {
  let auditor = false;
  const agents = new Set<string>();
  for (const role of roles) {
    const granted = role === 'admin' ? ADMIN_ACCESS : role === 'auditor' ? AUDITOR_ACCESS : grants.grantFor(role);
    if (granted === undefined) continue;
    if (granted.role === 'admin') return ADMIN_ACCESS;
    if (granted.role === 'auditor') auditor = true;
    else for (const agent of granted.agents) agents.add(agent);
  }
  return auditor ? AUDITOR_ACCESS : userAccess(agents);
}

/** Read the audit events and the state of their hash chain (docs/audit.md). */
export function mayReadAudit(access: Access): boolean {
  return access.role === 'admin' || access.role === 'auditor';
}

/** Managed keys and other administration. */
export function mayAdminister(access: Access): boolean {
  return access.role === 'admin';
}
