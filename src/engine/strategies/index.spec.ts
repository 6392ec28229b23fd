import { describe, expect, it } from 'vitest';
import { agentProfile, scriptedModel } from '../../../test/factories/scripted-model.js';
import { AGENT_STRATEGIES } from '../../definitions/validator.js';
import { runAgent } from '../agent-loop.js';
import { agentStrategy } from './index.js';

describe('agentStrategy', () => {
  it('runs every value the validator accepts, loop and an absent value as react', () => {
    expect(AGENT_STRATEGIES.map(agentStrategy)).toEqual(['react', 'react', 'plan-and-execute', 'reflexion', 'router', 'map-reduce']);
    expect(agentStrategy(undefined)).toBe('react');
  });

  it('throws on a value the validator would have refused', () => {
    expect(() => agentStrategy('toString')).toThrow('Unknown agent strategy "toString".');
  });
});

describe('runAgent', () => {
  it("dispatches on the profile's strategy", async () => {
    const react = scriptedModel([{ content: 'one call' }]);
    expect(await runAgent(react, agentProfile(), { input: 'a\n\nb' })).toMatchObject({ output: 'one call', turns: 1 });

    const mapReduce = scriptedModel([{ content: 'A' }, { content: 'B' }, { content: 'AB' }]);
    expect(await runAgent(mapReduce, agentProfile({ strategy: 'map-reduce' }), { input: 'a\n\nb' })).toMatchObject({
      output: 'AB',
      turns: 3,
    });
  });
});
