import { describe, expect, it } from 'vitest';
import { ADMIN_ACCESS, AUDITOR_ACCESS } from './access.js';
import { keyDigest } from './key-digest.js';
import { type UserBlock, UserDirectory, UserKeyError } from './principal-directory.js';

const ENV: Record<string, string> = {
  ALICE_KEY: 'alice-key-0123456789',
  BOB_KEY: 'bob-key-0123456789',
  SHORT_KEY: 'short',
  SAME_AS_ALICE: 'alice-key-0123456789',
};
const readKey = (variable: string) => ENV[variable];

const alice: UserBlock = { name: 'alice', key_env: 'ALICE_KEY', agents: ['support'], role: 'user' };
const bob: UserBlock = { name: 'bob', key_env: 'BOB_KEY', agents: ['ignored'], role: 'auditor' };
const support: UserBlock = { name: 'support', agents: ['support', 'faq'], role: 'user' };

function problemsOf(build: () => unknown): readonly string[] {
  try {
    build();
  } catch (error) {
    if (error instanceof UserKeyError) return error.problems;
    throw error;
  }
  throw new Error('expected a UserKeyError');
}

describe('UserDirectory.build', () => {
  it('keeps the digest of each key and the principal it authenticates, never the key', () => {
    const directory = UserDirectory.build([alice, bob, support], { readKey });

    expect(directory.hasKeys).toBe(true);
    expect(directory.keys.map((key) => key.principal.id)).toEqual(['user:alice', 'user:bob']);
    expect(directory.keys[0].digest.equals(keyDigest(ENV.ALICE_KEY))).toBe(true);
    expect(directory.keys[0].principal).toMatchObject({ kind: 'user_key', name: 'alice', roles: ['user'] });
    expect([...directory.keys[0].principal.access.agents]).toEqual(['support']);
    expect(directory.keys[1].principal.access).toBe(AUDITOR_ACCESS);
    expect(JSON.stringify(directory.keys.map((key) => key.principal))).not.toContain(ENV.ALICE_KEY);
  });

  it('turns every block, with or without a key, into a role token holders may carry', () => {
    const directory = UserDirectory.build([alice, support, { name: 'ops', agents: [], role: 'admin' }], { readKey });

    expect([...(directory.grantFor('support')?.agents ?? [])]).toEqual(['support', 'faq']);
    expect(directory.grantFor('ops')).toBe(ADMIN_ACCESS);
    expect(directory.grantFor('alice')?.role).toBe('user');
    expect(directory.grantFor('nobody')).toBeUndefined();
  });

  it('has no keys when no block has one', () => {
    expect(UserDirectory.build([support], { readKey }).hasKeys).toBe(false);
    expect(UserDirectory.EMPTY.hasKeys).toBe(false);
  });

  it('refuses, naming each user and variable, unset variables, short keys and shared keys', () => {
    const problems = problemsOf(() =>
      UserDirectory.build(
        [
          alice,
          { name: 'carol', key_env: 'CAROL_KEY', agents: [], role: 'user' },
          { name: 'dave', key_env: 'SHORT_KEY', agents: [], role: 'user' },
          { name: 'erin', key_env: 'SAME_AS_ALICE', agents: [], role: 'admin' },
          { name: 'frank', key_env: 'BOB_KEY', agents: [], role: 'user' },
        ],
        { readKey, serviceKeys: [ENV.BOB_KEY] },
      ),
    );

    expect(problems).toEqual([
      'user "carol": the environment variable CAROL_KEY that holds its key is not set',
      'user "dave": the key in SHORT_KEY is shorter than 8 characters',
      'user "erin": the key in SAME_AS_ALICE is also the key of user "alice" (ALICE_KEY); each principal needs its own',
      'user "frank": the key in BOB_KEY is also the key of AGENTSPEC_API_KEY(S); each principal needs its own',
    ]);
    expect(problems.join('\n')).not.toContain(ENV.ALICE_KEY);
  });
});
