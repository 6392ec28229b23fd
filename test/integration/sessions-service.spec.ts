import 'reflect-metadata';
import { setTimeout as sleep } from 'node:timers/promises';
import type { DynamicModule } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import type pg from 'pg';
import { pino } from 'pino';
import { DataSource } from 'typeorm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_ACCESS } from '../../src/auth/access.js';
import type { Principal } from '../../src/auth/principal.js';
import { ClientClosedError, NotFoundError, SessionBusyError } from '../../src/common/errors/domain-errors.js';
import { LoggingModule } from '../../src/common/logging/logging.module.js';
import { ConfigModule } from '../../src/config/config.module.js';
import { loadConfig } from '../../src/config/configuration.js';
import { MetricsModule } from '../../src/metrics/metrics.module.js';
import type { AgentCall } from '../../src/runtime/agent-call.js';
import { GovernanceModule } from '../../src/governance/governance.module.js';
import { RuntimeModule } from '../../src/runtime/runtime.module.js';
import { SessionsRepository } from '../../src/sessions/sessions.repository.js';
import { SessionsService } from '../../src/sessions/sessions.service.js';
import { definitionsFrom } from '../factories/agent-run.js';
import { connect, createMigratedDatabase } from '../support/database.js';
import { eventually } from '../support/eventually.js';

/** The test's migrated database, for every module (as DatabaseModule provides it in the app). */
function databaseOf(dataSource: DataSource): DynamicModule {
  return {
    module: class TestDatabaseModule {},
    global: true,
    providers: [{ provide: DataSource, useValue: dataSource }],
    exports: [DataSource],
  };
}

const DEFINITIONS = `
package "sessions-service-spec" version "1.0.0" lang "2.0"

prompt "short" {
  content "Be brief."
}

prompt "greeting" {
  content "Greet {{customer}}."
  variables { customer string required }
}

skill "lookup" {
  description "Looks things up"
  input { query string required }
  tool command { binary "cat" timeout "5s" }
}

agent "chat" {
  uses prompt "short"
  model "mock/echo"
}

agent "researcher" {
  uses prompt "short"
  uses skill "lookup"
  model "mock/echo"
  max_turns 3
}

agent "slow" {
  uses prompt "short"
  model "mock/echo?latency=400ms"
}

agent "refused" {
  uses prompt "short"
  model "mock/echo?fail=400"
}

agent "greeter" {
  uses prompt "greeting"
  model "mock/echo"
}
`;

const PRINCIPAL: Principal = {
  kind: 'api_key',
  id: 'key:0123456789abcdef',
  name: 'API key key:0123456789abcdef',
  roles: [],
  access: ADMIN_ACCESS,
};
const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

const call = (input: string, extra: Partial<AgentCall> = {}): AgentCall => ({ input, variables: {}, ...extra });

describe('SessionsService on PostgreSQL, with the real runner and the mock model', () => {
  let module: TestingModule;
  let dataSource: DataSource;
  let sql: pg.Client;
  let service: SessionsService;

  beforeAll(async () => {
    const migrated = await createMigratedDatabase(5);
    dataSource = migrated.dataSource;
    sql = await connect(migrated.url);
    const config = loadConfig({ LOG_LEVEL: 'silent', AGENTSPEC_COMMAND_ALLOWLIST: 'cat' });
    module = await Test.createTestingModule({
      imports: [
        ConfigModule.forRoot(config),
        LoggingModule.forRoot(pino({ level: 'silent' })),
        MetricsModule.forRoot(),
        databaseOf(dataSource),
        RuntimeModule.forRoot(await definitionsFrom(DEFINITIONS)),
        GovernanceModule,
      ],
      providers: [SessionsRepository, SessionsService],
    }).compile();
    await module.init();
    service = module.get(SessionsService);
  });
  afterAll(async () => {
    await module?.close();
    await sql?.end();
    if (dataSource?.isInitialized) await dataSource.destroy();
  });

  const newSession = async (agent: string) => (await service.create(agent, undefined, PRINCIPAL, 'corr-test')).session_id;

  async function sessionRow(id: string) {
    const { rows } = await sql.query('SELECT principal, correlation_id, turns, status, lease_token FROM sessions WHERE id = $1', [id]);
    return rows[0] as { principal: string; correlation_id: string; turns: number; status: string; lease_token: string | null };
  }

  /** The lease is given back in the background after a failed turn. */
  async function leaseReleased(id: string): Promise<boolean> {
    return eventually(async () => (await sessionRow(id)).lease_token === null, {
      timeoutMs: 1_000,
      intervalMs: 20,
      what: 'the lease to be given back',
    });
  }

  it('creates a session for the caller, then answers turns with the history as context', async () => {
    const created = await service.create('chat', { customer: 'c-42' }, PRINCIPAL, 'corr-create');

    expect(created).toEqual({
      session_id: expect.stringMatching(/^sess_[A-Za-z0-9_-]{24}$/),
      agent: 'chat',
      created_at: expect.stringMatching(ISO),
      metadata: { customer: 'c-42' },
    });
    expect(await sessionRow(created.session_id)).toMatchObject({
      principal: PRINCIPAL.id,
      correlation_id: 'corr-create',
      turns: 0,
      status: 'active',
    });

    const first = await service.continue('chat', created.session_id, call('Hello there'), PRINCIPAL, 'corr-test');
    // The mock counts words: "Be brief." (2) + "Hello there" (2) in, "Echo: Hello there" (3) out.
    expect(first).toEqual({
      output: 'Echo: Hello there',
      usage: { input_tokens: 4, output_tokens: 3, total_tokens: 7 },
      turn: 1,
      tool_calls: [],
      duration_ms: expect.any(Number),
      finish_reason: 'stop',
    });

    const second = await service.continue('chat', created.session_id, call('again'), PRINCIPAL, 'corr-test');
    // The first turn is sent as memory: 2 + 2 + 3 + 1 words in.
    expect(second).toMatchObject({ output: 'Echo: again', turn: 2, usage: { input_tokens: 8, output_tokens: 2, total_tokens: 10 } });

    const history = await service.history('chat', created.session_id, PRINCIPAL);
    expect(history).toEqual({
      session_id: created.session_id,
      agent: 'chat',
      turns: 2,
      created_at: created.created_at,
      last_active_at: expect.stringMatching(ISO),
      metadata: { customer: 'c-42' },
      messages: [
        { turn: 1, role: 'user', content: 'Hello there', created_at: expect.stringMatching(ISO) },
        {
          turn: 1,
          role: 'assistant',
          content: 'Echo: Hello there',
          created_at: expect.stringMatching(ISO),
          usage: { input_tokens: 4, output_tokens: 3, total_tokens: 7 },
        },
        { turn: 2, role: 'user', content: 'again', created_at: expect.stringMatching(ISO) },
        {
          turn: 2,
          role: 'assistant',
          content: 'Echo: again',
          created_at: expect.stringMatching(ISO),
          usage: { input_tokens: 8, output_tokens: 2, total_tokens: 10 },
        },
      ],
    });
    const listed = await service.list('chat', PRINCIPAL, 100, 0);
    expect(listed.sessions.find((session) => session.session_id === created.session_id)).toMatchObject({ turns: 2 });
  });

  it('stores tool calls and usage in snake_case', async () => {
    const id = await newSession('researcher');

    const answer = await service.continue('researcher', id, call('please lookup cats'), PRINCIPAL, 'corr-test');

    const toolCall = {
      name: 'lookup',
      arguments: { query: 'please lookup cats' },
      output: '{"query":"please lookup cats"}',
      duration_ms: expect.any(Number),
    };
    expect(answer).toMatchObject({ turn: 1, output: 'Tool lookup returned: {"query":"please lookup cats"}', tool_calls: [toolCall] });
    const history = await service.history('researcher', id, PRINCIPAL);
    expect(history.messages[1]).toMatchObject({ role: 'assistant', tool_calls: [toolCall] });
    const { rows } = await sql.query("SELECT usage, tool_calls FROM session_messages WHERE session_id = $1 AND role = 'assistant'", [id]);
    expect(Object.keys(rows[0].usage).sort()).toEqual(['input_tokens', 'output_tokens', 'total_tokens']);
    expect(Object.keys(rows[0].tool_calls[0]).sort()).toEqual(['arguments', 'duration_ms', 'name', 'output']);
  });

  describe('not found', () => {
    it('refuses a turn for an unknown agent', async () => {
      const id = await newSession('chat');

      await expect(service.continue('ghost', id, call('hi'), PRINCIPAL, 'corr-test')).rejects.toThrow(
        new NotFoundError("Agent 'ghost' does not exist."),
      );
      expect((await sessionRow(id)).turns).toBe(0);
    });

    it('refuses a turn for an unknown session', async () => {
      const attempt = service.continue('chat', 'sess_doesnotexist000000000000', call('hi'), PRINCIPAL, 'corr-test');

      await expect(attempt).rejects.toBeInstanceOf(NotFoundError);
      await expect(attempt).rejects.toThrow("Session 'sess_doesnotexist000000000000' does not exist or has expired.");
    });

    it("refuses a turn for another agent's session", async () => {
      const id = await newSession('chat');

      await expect(service.continue('researcher', id, call('hi'), PRINCIPAL, 'corr-test')).rejects.toBeInstanceOf(NotFoundError);
      expect((await sessionRow(id)).lease_token).toBeNull();
    });
  });

  it('lets one of two concurrent turns run and answers the other SessionBusyError', async () => {
    const id = await newSession('slow');

    const outcomes = await Promise.allSettled([
      service.continue('slow', id, call('one'), PRINCIPAL, 'corr-test'),
      service.continue('slow', id, call('two'), PRINCIPAL, 'corr-test'),
    ]);

    const fulfilled = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    const rejected = outcomes.filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
    expect(fulfilled).toHaveLength(1);
    expect(rejected).toHaveLength(1);
    expect(rejected[0].reason).toBeInstanceOf(SessionBusyError);
    expect(rejected[0].reason).toMatchObject({ code: 'session_busy', options: { retryAfterSeconds: 2 } });
    const history = await service.history('slow', id, PRINCIPAL);
    expect(history.turns).toBe(1);
    expect(history.messages).toHaveLength(2);
  });

  describe('a failed turn', () => {
    it('stores nothing and releases the session: the next turn runs (and fails the same way)', async () => {
      const id = await newSession('refused');

      const first = service.continue('refused', id, call('hi'), PRINCIPAL, 'corr-test');
      await expect(first).rejects.toMatchObject({ code: 'provider_error' });
      expect(await leaseReleased(id)).toBe(true);

      const second = service.continue('refused', id, call('hi'), PRINCIPAL, 'corr-test');
      await expect(second).rejects.not.toBeInstanceOf(SessionBusyError);
      await expect(second).rejects.toMatchObject({ code: 'provider_error' });
      expect((await service.history('refused', id, PRINCIPAL)).messages).toEqual([]);
    });

    it('is recorded with its outcome, and becomes a session_turn audit event', async () => {
      const id = await newSession('refused');
      await expect(service.continue('refused', id, call('hi'), PRINCIPAL, 'corr-test')).rejects.toMatchObject({ code: 'provider_error' });
      expect(await leaseReleased(id)).toBe(true);

      const { rows: failures } = await sql.query(
        'SELECT turn, principal, outcome, error_code FROM session_turn_failures WHERE session_id = $1',
        [id],
      );
      expect(failures).toEqual([{ turn: 1, principal: PRINCIPAL.id, outcome: 'error', error_code: 'provider_error' }]);
      const { rows: events } = await sql.query(
        "SELECT outcome, principal, agent, detail FROM audit_events WHERE session_id = $1 AND kind = 'session_turn'",
        [id],
      );
      expect(events).toEqual([
        { outcome: 'error', principal: PRINCIPAL.id, agent: 'refused', detail: { turn: 1, error_code: 'provider_error' } },
      ]);
    });

    // Before the first release attempt was awaited, 141 of 200 immediate retries were answered busy.
    it('lets a retry made right after a failed turn run, instead of answering it busy', async () => {
      const id = await newSession('refused');

      for (let attempt = 0; attempt < 100; attempt++) {
        await expect(service.continue('refused', id, call('hi'), PRINCIPAL, 'corr-test')).rejects.toMatchObject({ code: 'provider_error' });
      }
    });

    it('releases the session when the caller goes away, so the next turn succeeds', async () => {
      const id = await newSession('slow');
      const controller = new AbortController();

      const abandoned = service.continue('slow', id, call('gone'), PRINCIPAL, 'corr-test', { signal: controller.signal });
      setTimeout(() => controller.abort(new Error('client disconnected')), 50);
      await expect(abandoned).rejects.toBeInstanceOf(ClientClosedError);
      expect(await leaseReleased(id)).toBe(true);
      const { rows: failures } = await sql.query('SELECT outcome, error_code FROM session_turn_failures WHERE session_id = $1', [id]);
      expect(failures).toEqual([{ outcome: 'cancelled', error_code: 'client_closed' }]);

      const next = await service.continue('slow', id, call('back'), PRINCIPAL, 'corr-test');
      expect(next).toMatchObject({ turn: 1, output: 'Echo: back' });
    });

    it('refuses a missing prompt variable before claiming the session', async () => {
      const id = await newSession('greeter');

      await expect(service.continue('greeter', id, call('hi'), PRINCIPAL, 'corr-test')).rejects.toMatchObject({ code: 'invalid_request' });
      expect((await sessionRow(id)).lease_token).toBeNull();

      const next = await service.continue('greeter', id, call('hi', { variables: { customer: 'Ada' } }), PRINCIPAL, 'corr-test');
      expect(next.turn).toBe(1);
    });
  });

  describe('delete', () => {
    it('ends the session: no more turns, no history, no second delete; the rows stay for audit', async () => {
      const id = await newSession('chat');
      await service.continue('chat', id, call('hi'), PRINCIPAL, 'corr-test');

      await service.delete('chat', id, PRINCIPAL);

      await expect(service.continue('chat', id, call('hi again'), PRINCIPAL, 'corr-test')).rejects.toBeInstanceOf(NotFoundError);
      await expect(service.history('chat', id, PRINCIPAL)).rejects.toBeInstanceOf(NotFoundError);
      await expect(service.delete('chat', id, PRINCIPAL)).rejects.toBeInstanceOf(NotFoundError);
      expect(await sessionRow(id)).toMatchObject({ status: 'deleted', turns: 1 });
    });

    it('turns a turn that was running during the delete into NotFoundError, storing nothing', async () => {
      const id = await newSession('slow');

      const running = service.continue('slow', id, call('hi'), PRINCIPAL, 'corr-test');
      running.catch(() => undefined);
      await sleep(100);
      await service.delete('slow', id, PRINCIPAL);

      await expect(running).rejects.toBeInstanceOf(NotFoundError);
      const { rows } = await sql.query('SELECT count(*)::int AS messages FROM session_messages WHERE session_id = $1', [id]);
      expect(rows[0].messages).toBe(0);
    });
  });
});
