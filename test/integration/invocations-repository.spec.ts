import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DataSource } from 'typeorm';
import { InvocationsRepository, type InvocationRecord } from '../../src/agents/invocations.repository.js';
import { loadConfig } from '../../src/config/configuration.js';
import { connect, createMigratedDatabase } from '../support/database.js';

const record = (correlationId: string, overrides: Partial<InvocationRecord> = {}): InvocationRecord => ({
  agent: 'a',
  endpoint: 'invoke',
  principal: 'key:0123456789abcdef',
  status: 'completed',
  usage: { inputTokens: 3, outputTokens: 2, totalTokens: 5 },
  durationMs: 12,
  correlationId,
  input: 'question',
  output: 'answer',
  ...overrides,
});

describe('InvocationsRepository (group commit)', () => {
  let url: string;
  let dataSource: DataSource;

  beforeAll(async () => {
    ({ url, dataSource } = await createMigratedDatabase(3));
  });
  afterAll(() => dataSource?.destroy());

  it('stores concurrent calls in shared statements; a bad row fails alone', async () => {
    const repository = new InvocationsRepository(dataSource, loadConfig({ AGENTSPEC_AUDIT_CONTENT: 'true' }));
    const outcomes = await Promise.allSettled([
      repository.record(record('gc-1')),
      repository.record(record('gc-2')),
      repository.record(record('gc-bad', { status: 'exploded' as InvocationRecord['status'] })),
      repository.record(record('gc-3')),
    ]);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'fulfilled', 'rejected', 'fulfilled']);
    const client = await connect(url);
    try {
      const { rows } = await client.query(
        "SELECT correlation_id, input, output FROM invocations WHERE correlation_id LIKE 'gc-%' ORDER BY correlation_id",
      );
      expect(rows).toEqual([
        { correlation_id: 'gc-1', input: 'question', output: 'answer' },
        { correlation_id: 'gc-2', input: 'question', output: 'answer' },
        { correlation_id: 'gc-3', input: 'question', output: 'answer' },
      ]);
    } finally {
      await client.end();
    }
  });

  it('stores texts that need quoting in an array literal exactly, whatever the batch size', async () => {
    const repository = new InvocationsRepository(dataSource, loadConfig({ AGENTSPEC_AUDIT_CONTENT: 'true' }));
    const awkward = ['a,b', '{braces}', 'say "hi"', 'back\\slash', 'NULL', '', ' padded ', 'line\nbreak', 'ü 😀'];
    await Promise.all(
      awkward.map((text, i) =>
        repository.record(record(`aw-${i}`, { input: text, output: i % 2 ? undefined : text, errorCode: i % 3 ? undefined : text })),
      ),
    );
    const client = await connect(url);
    try {
      const { rows } = await client.query(
        "SELECT correlation_id, input, output, error_code FROM invocations WHERE correlation_id LIKE 'aw-%' ORDER BY correlation_id",
      );
      expect(rows).toEqual(
        awkward.map((text, i) => ({
          correlation_id: `aw-${i}`,
          input: text,
          output: i % 2 ? null : text,
          error_code: i % 3 ? null : text,
        })),
      );
    } finally {
      await client.end();
    }
  });

  it('keeps content out of the table unless AGENTSPEC_AUDIT_CONTENT is on', async () => {
    const repository = new InvocationsRepository(dataSource, loadConfig({}));
    await repository.record(record('no-content'));
    const client = await connect(url);
    try {
      const { rows } = await client.query("SELECT input, output FROM invocations WHERE correlation_id = 'no-content'");
      expect(rows).toEqual([{ input: null, output: null }]);
    } finally {
      await client.end();
    }
  });
});
