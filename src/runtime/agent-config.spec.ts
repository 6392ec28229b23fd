import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Agent, ConfigParam } from '../definitions/index.js';
import { AgentConfigError, requireAgentConfig, resolveAgentConfig } from './agent-config.js';

function param(name: string, type: string, more: Partial<ConfigParam> = {}): ConfigParam {
  return { name, type, required: false, secret: false, ...more };
}

function agents(...list: { name: string; config: ConfigParam[] }[]): { agents: Agent[] } {
  return { agents: list.map((a) => ({ name: a.name, config: a.config }) as Agent) };
}

const SUPPORT = agents({
  name: 'support-agent',
  config: [
    param('company_name', 'string', { default: 'Acme Corp' }),
    param('max-length', 'int', { default: '500' }),
    param('ratio', 'float'),
    param('verbose', 'bool', { default: false }),
    param('api_key', 'string', { required: true, secret: true }),
  ],
});

const SECRET = 'sk-live-0123456789';
const dir = mkdtempSync(join(tmpdir(), 'agent-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

function problems(definitions: { agents: Agent[] }, env: Record<string, string>): string[] {
  const r = resolveAgentConfig(definitions, env);
  if (r.ok) throw new Error('expected problems');
  return r.problems;
}

describe('resolveAgentConfig', () => {
  it('reads AGENTSPEC_CONFIG_<AGENT>_<PARAM>, converts to the type, and falls back to defaults', () => {
    const r = requireAgentConfig(SUPPORT, {
      AGENTSPEC_CONFIG_SUPPORT_AGENT_API_KEY: SECRET,
      AGENTSPEC_CONFIG_SUPPORT_AGENT_MAX_LENGTH: '120',
      AGENTSPEC_CONFIG_SUPPORT_AGENT_VERBOSE: 'TRUE',
    });
    const support = r.get('support-agent');
    expect(support && Object.fromEntries(support.values)).toEqual({
      company_name: 'Acme Corp',
      'max-length': 120,
      verbose: true,
      api_key: SECRET,
    });
    expect(support && [...support.secrets]).toEqual(['api_key']);
  });

  it('converts a quoted default to its type, and leaves an optional parameter without value unset', () => {
    const r = requireAgentConfig(SUPPORT, { AGENTSPEC_CONFIG_SUPPORT_AGENT_API_KEY: SECRET });
    const values = r.get('support-agent')?.values;
    expect(values?.get('max-length')).toBe(500);
    expect(values?.get('verbose')).toBe(false);
    expect(values?.has('ratio')).toBe(false);
  });

  it('reads <variable>_FILE, dropping one trailing newline', () => {
    const path = file('api-key', `${SECRET}\n`);
    const number = file('ratio', '0.25\r\n');
    const r = requireAgentConfig(SUPPORT, {
      AGENTSPEC_CONFIG_SUPPORT_AGENT_API_KEY_FILE: path,
      AGENTSPEC_CONFIG_SUPPORT_AGENT_RATIO_FILE: number,
    });
    expect(r.get('support-agent')?.values.get('api_key')).toBe(SECRET);
    expect(r.get('support-agent')?.values.get('ratio')).toBe(0.25);
    const twoLines = file('two-lines', 'line\n\n');
    const text = agents({ name: 'a', config: [param('note', 'string')] });
    expect(requireAgentConfig(text, { AGENTSPEC_CONFIG_A_NOTE_FILE: twoLines }).get('a')?.values.get('note')).toBe('line\n');
  });

  it('stops on a missing required value, naming the variable to set', () => {
    expect(problems(SUPPORT, {})).toEqual([
      'config parameter "api_key" of agent "support-agent" is required: set AGENTSPEC_CONFIG_SUPPORT_AGENT_API_KEY ' +
        '(or AGENTSPEC_CONFIG_SUPPORT_AGENT_API_KEY_FILE, a file holding the value)',
    ]);
    // An empty variable counts as unset.
    expect(problems(SUPPORT, { AGENTSPEC_CONFIG_SUPPORT_AGENT_API_KEY: '' })).toHaveLength(1);
  });

  it('stops on values of the wrong type, naming the variable and the type, never the value', () => {
    const secretInt = agents({ name: 'billing', config: [param('pin', 'int', { secret: true, required: true })] });
    const wrong = problems(secretInt, { AGENTSPEC_CONFIG_BILLING_PIN: SECRET });
    expect(wrong).toEqual(['AGENTSPEC_CONFIG_BILLING_PIN: must be an integer (config parameter "pin" of agent "billing" is of type int)']);
    const fromFile = problems(secretInt, { AGENTSPEC_CONFIG_BILLING_PIN_FILE: file('pin', SECRET) });
    expect(fromFile).toEqual([
      'AGENTSPEC_CONFIG_BILLING_PIN_FILE: the file must hold an integer (config parameter "pin" of agent "billing" is of type int)',
    ]);
    const all = problems(SUPPORT, {
      AGENTSPEC_CONFIG_SUPPORT_AGENT_API_KEY: SECRET,
      AGENTSPEC_CONFIG_SUPPORT_AGENT_MAX_LENGTH: '12.5',
      AGENTSPEC_CONFIG_SUPPORT_AGENT_RATIO: 'half',
      AGENTSPEC_CONFIG_SUPPORT_AGENT_VERBOSE: 'sometimes',
    });
    expect(all).toEqual([
      'AGENTSPEC_CONFIG_SUPPORT_AGENT_MAX_LENGTH: must be an integer (config parameter "max-length" of agent "support-agent" is of type int)',
      'AGENTSPEC_CONFIG_SUPPORT_AGENT_RATIO: must be a number (config parameter "ratio" of agent "support-agent" is of type float)',
      'AGENTSPEC_CONFIG_SUPPORT_AGENT_VERBOSE: must be true or false (config parameter "verbose" of agent "support-agent" is of type bool)',
    ]);
    for (const message of [...wrong, ...fromFile, ...all]) expect(message).not.toContain(SECRET);
  });

  it('refuses both a variable and its _FILE, and an unreadable file, without showing a value', () => {
    const both = problems(SUPPORT, {
      AGENTSPEC_CONFIG_SUPPORT_AGENT_API_KEY: SECRET,
      AGENTSPEC_CONFIG_SUPPORT_AGENT_API_KEY_FILE: file('both', SECRET),
    });
    expect(both).toEqual([
      'AGENTSPEC_CONFIG_SUPPORT_AGENT_API_KEY and AGENTSPEC_CONFIG_SUPPORT_AGENT_API_KEY_FILE are both set ' +
        '(config parameter "api_key" of agent "support-agent"): set only one',
    ]);
    const missing = join(dir, 'absent');
    expect(problems(SUPPORT, { AGENTSPEC_CONFIG_SUPPORT_AGENT_API_KEY_FILE: missing })).toEqual([
      `AGENTSPEC_CONFIG_SUPPORT_AGENT_API_KEY_FILE: cannot read the file ${JSON.stringify(missing)} (ENOENT) ` +
        'for config parameter "api_key" of agent "support-agent"',
    ]);
    expect(both.join('\n')).not.toContain(SECRET);
  });

  it('throws AgentConfigError listing every problem of every agent', () => {
    const two = agents(
      { name: 'a', config: [param('x', 'string', { required: true })] },
      { name: 'b', config: [param('y', 'int', { required: true })] },
    );
    let caught: unknown;
    try {
      requireAgentConfig(two, { AGENTSPEC_CONFIG_B_Y: 'many' });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(AgentConfigError);
    expect((caught as AgentConfigError).problems).toEqual([
      'config parameter "x" of agent "a" is required: set AGENTSPEC_CONFIG_A_X (or AGENTSPEC_CONFIG_A_X_FILE, a file holding the value)',
      'AGENTSPEC_CONFIG_B_Y: must be an integer (config parameter "y" of agent "b" is of type int)',
    ]);
  });
});
