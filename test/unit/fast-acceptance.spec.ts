import 'reflect-metadata';
import { plainToInstance } from 'class-transformer';
import { validateSync } from 'class-validator';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { InvokeAgentDto } from '../../src/agents/dto/invoke-agent.dto.js';
import { ContinueSessionDto } from '../../src/sessions/dto/session.dto.js';
import { AgentCallDto } from '../../src/common/dto/agent-call.dto.js';
import { FAST_ACCEPT, fastAcceptorOf } from '../../src/common/validation/fast-acceptance.js';

/** What the validation pipe does without the fast path (whitelist, forbidNonWhitelisted, transform). */
function slowPath<T extends object>(Dto: new () => T, body: object): { instance: T; valid: boolean } {
  const instance = plainToInstance(Dto, body, { enableImplicitConversion: false });
  const errors = validateSync(instance, { whitelist: true, forbidNonWhitelisted: true });
  return { instance, valid: errors.length === 0 };
}

const text = fc.oneof(fc.string(), fc.constantFrom('', 'hello', '\u0000', 'x'.repeat(201)));
const value = fc.oneof(
  text,
  fc.integer(),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
  fc.constant([]),
  fc.dictionary(fc.string(), fc.string()),
);
const options = fc.oneof(
  value,
  fc.record(
    {
      temperature: fc.oneof(fc.double({ min: -1, max: 3 }), fc.constantFrom(0, 2, Number.NaN), value),
      max_tokens: fc.oneof(fc.integer({ min: -2, max: 5000 }), fc.double(), value),
      variables: fc.oneof(fc.dictionary(fc.string(), fc.string()), fc.dictionary(fc.string(), value), value),
      extra: value,
    },
    { requiredKeys: [] },
  ),
);
const body = fc.record(
  {
    input: fc.oneof(text, value),
    message: fc.oneof(text, value),
    options,
    variables: fc.oneof(fc.dictionary(fc.string(), fc.string()), value),
    session_id: fc.oneof(text, value),
    unknown: value,
  },
  { requiredKeys: [] },
);

describe('fast acceptance of agent calls', () => {
  it.each([
    ['AgentCallDto', AgentCallDto],
    ['InvokeAgentDto', InvokeAgentDto],
    ['ContinueSessionDto', ContinueSessionDto],
  ] as const)('%s: accepts only bodies class-validator accepts, built as class-transformer builds them', (_name, Dto) => {
    const accept = fastAcceptorOf(Dto)!;
    let accepted = 0;
    fc.assert(
      fc.property(body, (candidate) => {
        const fast = accept(candidate);
        if (!fast) return;
        accepted++;
        const slow = slowPath(Dto, candidate);
        expect(slow.valid).toBe(true);
        expect(fast).toBeInstanceOf(Dto);
        expect(fast).toStrictEqual(slow.instance);
      }),
      { numRuns: 3000, seed: 16 },
    );
    expect(accepted).toBeGreaterThan(0);
  });

  it('takes the common bodies without class-validator and leaves the rest to it', () => {
    const accept = fastAcceptorOf(InvokeAgentDto)!;
    expect(accept({ input: 'hello' })).toBeInstanceOf(InvokeAgentDto);
    expect(
      accept({ input: 'hello', options: { temperature: 0.3, max_tokens: 10, variables: { tone: 'dry' } }, session_id: 's' }),
    ).toMatchObject({
      input: 'hello',
      options: { temperature: 0.3, max_tokens: 10, variables: { tone: 'dry' } },
    });
    for (const refused of [
      {},
      { input: '' },
      { message: 'hi' },
      { input: 'hi', extra: 1 },
      { input: 'hi', options: { temperature: 3 } },
      { input: 'hi', session_id: '' },
    ]) {
      expect(accept(refused)).toBeUndefined();
    }
  });

  it('is used only on the class that declares it, not on subclasses, which may add rules', () => {
    class Stricter extends InvokeAgentDto {}
    expect(fastAcceptorOf(Stricter)).toBeUndefined();
    expect(Object.hasOwn(InvokeAgentDto, FAST_ACCEPT)).toBe(true);
  });
});
