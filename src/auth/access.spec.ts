import { describe, expect, it } from 'vitest';
import {
  ADMIN_ACCESS,
  AUDITOR_ACCESS,
  accessForRole,
  accessFromRoles,
  type Access,
  mayReadSessionsOf,
  maySeePipeline,
  type RoleGrants,
  userAccess,
} from './access.js';

/** The roles the definitions would define: `user "support" { agents [...] }` and friends. */
const grants: RoleGrants = {
  grantFor: (role) =>
    ({
      support: userAccess(['support-assistant', 'faq']),
      billing: userAccess(['billing-bot']),
      ops: ADMIN_ACCESS,
      compliance: AUDITOR_ACCESS,
      nobody: userAccess([]),
    })[role],
};

const agentsOf = (access: Access) => [...access.agents].sort();

describe('accessFromRoles', () => {
  it('maps the role values admin and auditor to those roles', () => {
    expect(accessFromRoles(['admin'], grants)).toBe(ADMIN_ACCESS);
    expect(accessFromRoles(['auditor'], grants)).toBe(AUDITOR_ACCESS);
  });

  it("gives a role named like a user block that block's agents", () => {
    const access = accessFromRoles(['support'], grants);
    expect(access.role).toBe('user');
    expect(agentsOf(access)).toEqual(['faq', 'support-assistant']);
  });

  it('unites the agents of several user roles and ignores roles nothing defines', () => {
    const access = accessFromRoles(['support', 'unknown-group', 'billing', 'nobody'], grants);
    expect(access.role).toBe('user');
    expect(agentsOf(access)).toEqual(['billing-bot', 'faq', 'support-assistant']);
  });

  it('lets admin win over auditor and user, and auditor over user, whatever the order', () => {
    expect(accessFromRoles(['support', 'auditor', 'admin'], grants)).toBe(ADMIN_ACCESS);
    expect(accessFromRoles(['support', 'auditor'], grants)).toBe(AUDITOR_ACCESS);
    expect(accessFromRoles(['compliance', 'support'], grants)).toBe(AUDITOR_ACCESS);
    expect(accessFromRoles(['support', 'ops'], grants)).toBe(ADMIN_ACCESS);
  });

  it('keeps the built-in meaning of admin and auditor even when a block has that name', () => {
    const shadowing: RoleGrants = { grantFor: () => userAccess(['x']) };
    expect(accessFromRoles(['admin'], shadowing)).toBe(ADMIN_ACCESS);
    expect(accessFromRoles(['auditor'], shadowing)).toBe(AUDITOR_ACCESS);
  });

  it('makes a caller without a matching role a user who may use no agent', () => {
    for (const roles of [[], ['Admin'], ['unknown']]) {
      const access = accessFromRoles(roles, grants);
      expect(access.role).toBe('user');
      expect(agentsOf(access)).toEqual([]);
    }
  });
});

describe('accessForRole', () => {
  it('uses the agents for role user only', () => {
    expect(accessForRole('admin', ['a'])).toBe(ADMIN_ACCESS);
    expect(accessForRole('auditor', ['a'])).toBe(AUDITOR_ACCESS);
    expect(agentsOf(accessForRole('user', ['b', 'a']))).toEqual(['a', 'b']);
  });
});

describe('reading sessions and pipelines', () => {
  const user = userAccess(['a', 'b']);

  it('lets users read the sessions of the agents they use, auditors and admins every agent', () => {
    expect(mayReadSessionsOf(user, 'a')).toBe(true);
    expect(mayReadSessionsOf(user, 'c')).toBe(false);
    expect(mayReadSessionsOf(AUDITOR_ACCESS, 'c')).toBe(true);
    expect(mayReadSessionsOf(ADMIN_ACCESS, 'c')).toBe(true);
  });

  it("shows a user a pipeline only when every step's agent is allowed", () => {
    expect(maySeePipeline(user, ['a', 'b', 'a'])).toBe(true);
    expect(maySeePipeline(user, ['a', 'c'])).toBe(false);
    expect(maySeePipeline(AUDITOR_ACCESS, ['c'])).toBe(true);
    expect(maySeePipeline(ADMIN_ACCESS, ['c'])).toBe(true);
  });
});
