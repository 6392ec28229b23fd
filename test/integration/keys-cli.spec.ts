import { userInfo } from 'node:os';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runKeysCli } from '../../scripts/keys.js';
import { hashManagedKey } from '../../src/auth/managed-keys/managed-key.js';
import { connect, createTestDatabase } from '../support/database.js';

interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

describe('npm run keys (scripts/keys.ts, in-process)', () => {
  let databaseUrl: string;
  let client: pg.Client;

  async function keys(...args: string[]): Promise<CliRun> {
    let stdout = '';
    let stderr = '';
    const code = await runKeysCli(args, {
      env: { DATABASE_URL: databaseUrl },
      stdout: (text) => (stdout += text),
      stderr: (text) => (stderr += text),
    });
    return { code, stdout, stderr };
  }

  beforeAll(async () => {
    // Empty: the CLI migrates it first.
    databaseUrl = await createTestDatabase();
    client = await connect(databaseUrl);
  });
  afterAll(() => client?.end());

  it('creates a key on an unmigrated database: prints the key once with its id and prefix, stores only its digest', async () => {
    const run = await keys('create', '--name', 'ci', '--agents', 'chat, support', '--expires', '30d');

    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toContain('applied migrations: ');
    expect(run.stderr).toContain('shown only this once');
    const key = /^key +(ask_[A-Za-z0-9_-]{43})$/m.exec(run.stdout)?.[1];
    const id = /^id +(mk_[0-9A-Z]{26})$/m.exec(run.stdout)?.[1];
    expect(key).toBeDefined();
    expect(run.stdout).toMatch(new RegExp(`^prefix +${key!.slice(0, 12)}$`, 'm'));
    expect(run.stdout).toMatch(/^role +user$/m);
    expect(run.stdout).toMatch(/^agents +chat, support$/m);
    const { rows } = await client.query('SELECT * FROM api_keys WHERE id = $1', [id]);
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      name: 'ci',
      role: 'user',
      agents: ['chat', 'support'],
      hash: hashManagedKey(key!),
      created_by: `cli:${userInfo().username}`,
    });
    const lifetimeDays = (rows[0].expires_at.getTime() - rows[0].created_at.getTime()) / 86_400_000;
    expect(lifetimeDays).toBeCloseTo(30, 2);
  });

  it('creates with --json for scripts, and lists every key without secrets', async () => {
    const created = await keys('create', '--name', 'ops', '--role', 'admin', '--json');
    expect(created.code, created.stderr).toBe(0);
    const key = JSON.parse(created.stdout);
    expect(key).toMatchObject({
      name: 'ops',
      role: 'admin',
      agents: [],
      status: 'active',
      expires_at: null,
      key: expect.stringMatching(/^ask_/),
    });

    const list = await keys('list');
    expect(list.code, list.stderr).toBe(0);
    expect(list.stdout.split('\n')[0]).toMatch(/^ID +PREFIX +NAME +ROLE +AGENTS +STATUS +EXPIRES +CREATED +CREATED BY$/);
    expect(list.stdout).toContain(key.id);
    expect(list.stdout).toContain(key.prefix);
    expect(list.stdout).not.toContain(key.key);
    expect(list.stdout).not.toContain(hashManagedKey(key.key));

    const json = await keys('list', '--json');
    const listed = JSON.parse(json.stdout) as Record<string, unknown>[];
    expect(listed.find((entry) => entry.id === key.id)).toEqual({ ...key, key: undefined });
    expect(json.stdout).not.toContain(key.key);
  });

  it('revokes by prefix or id; an unknown key is an error (exit 1)', async () => {
    const first = JSON.parse((await keys('create', '--name', 'first', '--json')).stdout);
    const second = JSON.parse((await keys('create', '--name', 'second', '--json')).stdout);

    const byPrefix = await keys('revoke', first.prefix);
    expect(byPrefix.code, byPrefix.stderr).toBe(0);
    expect(byPrefix.stdout).toContain(`revoked ${first.id} (${first.prefix}, "first")`);
    expect((await keys('revoke', second.id)).code).toBe(0);

    const listed = JSON.parse((await keys('list', '--json')).stdout) as { id: string; status: string }[];
    expect(listed.filter((entry) => [first.id, second.id].includes(entry.id)).map((entry) => entry.status)).toEqual(['revoked', 'revoked']);

    const unknown = await keys('revoke', 'mk_01JD3Q8Z4N5V6W7X8Y9Z0A1B2C');
    expect(unknown).toMatchObject({ code: 1, stdout: '' });
    expect(unknown.stderr).toContain("API key 'mk_01JD3Q8Z4N5V6W7X8Y9Z0A1B2C' does not exist.");
  });

  it('refuses agents on a non-user key before storing anything (exit 1)', async () => {
    const before = (await client.query('SELECT count(*)::int AS n FROM api_keys')).rows[0].n;
    const run = await keys('create', '--name', 'x', '--role', 'auditor', '--agents', 'chat');
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('agents applies only to role user');
    expect((await client.query('SELECT count(*)::int AS n FROM api_keys')).rows[0].n).toBe(before);
  });

  it.each([
    [[], 'a command is required'],
    [['rotate'], "unknown command 'rotate'"],
    [['create'], 'create needs --name'],
    [['create', '--name', 'x', '--role', 'owner'], '--role: role must be one of the following values: admin, auditor, user'],
    [['create', '--name', 'x', '--expires', 'soon'], '--expires: expires_in must be a duration'],
    [['create', '--name', ' '], '--name: name must not be empty'],
    [['create', '--name', 'x', '--colour', 'red'], "Unknown option '--colour'"],
    [['list', '--name', 'x'], 'list does not take --name'],
    [['revoke'], 'revoke takes one key id or prefix'],
    [['revoke', 'a', 'b'], 'revoke takes one key id or prefix'],
  ])('%j is a usage error (exit 2): %s', async (args, message) => {
    const run = await keys(...args);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain('usage: npm run keys -- <command>');
  });
});
