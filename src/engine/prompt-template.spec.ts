import { describe, expect, it } from 'vitest';
import { MissingPromptVariableError, renderPrompt } from './prompt-template.js';

const template = {
  name: 'p',
  content: 'Hi {{ customer }}, plan {{plan}}. Tone: {{tone}}. Keep {{unknown}}.',
  variables: [
    { name: 'customer', required: true },
    { name: 'plan', required: true, default: 'free' },
    { name: 'tone', required: false },
  ],
};

describe('renderPrompt', () => {
  it('fills given values, then defaults; optional without value renders empty; undeclared stays', () => {
    expect(renderPrompt(template, { customer: 'Ada' })).toBe('Hi Ada, plan free. Tone: . Keep {{unknown}}.');
    expect(renderPrompt(template, { customer: 'Ada', plan: 'pro', tone: 'warm' })).toBe('Hi Ada, plan pro. Tone: warm. Keep {{unknown}}.');
  });

  it('names every missing required variable', () => {
    expect(() => renderPrompt(template, {})).toThrow(MissingPromptVariableError);
    expect(() => renderPrompt(template, { plan: 'x' })).toThrow('Missing required prompt variable: "customer"');
  });

  it('does not interpret replacement patterns in values', () => {
    expect(renderPrompt(template, { customer: '$& $1 {{plan}}' })).toContain('Hi $& $1 {{plan}}, plan free');
  });
});

describe('renderPrompt with the agent config', () => {
  const withConfig = {
    name: 'p',
    content: 'Tier {{config.tier}}, limit {{ config.limit }}, unset [{{config.note}}], for {{who}}.',
    variables: [{ name: 'who', required: true }],
    config: new Map<string, string | number | boolean>([
      ['tier', 'gold'],
      ['limit', 50],
    ]),
  };

  it('fills {{config.name}} from the config, never from the caller, and never rescans values', () => {
    expect(renderPrompt(withConfig, { who: '{{config.tier}}', 'config.tier': 'free' })).toBe(
      'Tier gold, limit 50, unset [], for {{config.tier}}.',
    );
  });

  it('leaves {{config.name}} as written when the template carries no config', () => {
    expect(renderPrompt({ ...withConfig, config: undefined }, { who: 'Ada' })).toBe(
      'Tier {{config.tier}}, limit {{ config.limit }}, unset [{{config.note}}], for Ada.',
    );
  });
});
