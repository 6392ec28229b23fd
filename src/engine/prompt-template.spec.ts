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
