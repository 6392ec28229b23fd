import { describe, expect, it } from 'vitest';
import { configVariableName, parseConfigValue } from './config-params.js';
import { formatDiagnostics } from './diagnostics.js';
import { loadDefinitions, memorySourceHost } from './loader.js';

const HEADER = 'package "cfg" version "1.0.0" lang "3.0"\n';
const PROMPT = 'prompt "p" { content "Hello" }\n';

async function load(body: string) {
  const host = memorySourceHost({ '/defs/main.ias': HEADER + body });
  return loadDefinitions('/defs/main.ias', { host, cwd: '/defs' });
}

/** Every diagnostic (errors, or warnings of a valid set), formatted. */
async function report(body: string): Promise<string> {
  const r = await load(body);
  return formatDiagnostics(r.ok ? r.warnings : r.diagnostics);
}

function agent(config: string, extra = ''): string {
  return `agent "desk" {\n  uses prompt "p"\n  model "mock/echo"\n${extra}  config {\n${config}  }\n}\n`;
}

describe('config block: parsing', () => {
  it('takes the description on the parameter line or alone on the next one', async () => {
    const r = await load(
      PROMPT +
        agent(
          [
            '    tone string default "warm" "How to sound"\n',
            '    limit int default "50"\n',
            '      "Longest name accepted"\n',
            '    token string required secret\n',
            '      "Key of the ticket system"\n',
            '    plain bool\n',
          ].join(''),
        ),
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.definitions.agents[0].config).toEqual([
      { name: 'tone', type: 'string', required: false, secret: false, default: 'warm', description: 'How to sound' },
      { name: 'limit', type: 'int', required: false, secret: false, default: '50', description: 'Longest name accepted' },
      { name: 'token', type: 'string', required: true, secret: true, description: 'Key of the ticket system' },
      { name: 'plain', type: 'bool', required: false, secret: false },
    ]);
    expect(r.warnings).toEqual([]);
  });

  it('keeps refusing what is not a description: a second one, a string with more on its line, a missing type', async () => {
    const text = await report(
      PROMPT +
        agent(
          [
            '    tone string "How to sound"\n',
            '      "Said twice"\n',
            '    mode string\n',
            '      "not alone" here\n',
            '    lonely\n',
            '      "Has no type"\n',
            '    size int default\n',
          ].join(''),
        ),
    );
    expect(text).toBe(
      [
        'main.ias:8:7: error: config parameter "tone" already has a description',
        '  hint: write one description, on the line or alone on the next one',
        'main.ias:10:19: error: unknown type "here" for config parameter "not alone" of agent "desk"',
        '  hint: types: string, int, float, bool',
        'main.ias:11:5: error: config parameter "lonely" needs a type',
        '  hint: write: lonely string',
        'main.ias:13:14: error: missing value for "default" (a string, number or boolean)',
      ].join('\n'),
    );
  });
});

describe('config block: types and defaults', () => {
  it('refuses unknown types with a did-you-mean, and defaults that do not fit, at their positions', async () => {
    const text = await report(
      PROMPT +
        agent(
          [
            '    a strng\n',
            '    b int default "abc"\n',
            '    c integer default 1.5\n',
            '    d float default "x1"\n',
            '    e boolean default "yes"\n',
            '    f number default "2.5e3"\n',
            '    g bool default "TRUE"\n',
            '    h int default 7\n',
          ].join(''),
        ),
    );
    expect(text).toBe(
      [
        'main.ias:7:7: error: unknown type "strng" for config parameter "a" of agent "desk"',
        '  hint: did you mean "string"?',
        'main.ias:8:19: error: the default "abc" of config parameter "b" of agent "desk" is not an integer',
        'main.ias:9:23: error: the default 1.5 of config parameter "c" of agent "desk" is not an integer',
        'main.ias:10:21: error: the default "x1" of config parameter "d" of agent "desk" is not a number',
        'main.ias:11:23: error: the default "yes" of config parameter "e" of agent "desk" is not true or false',
      ].join('\n'),
    );
  });

  it('warns about a required parameter with a default, and refuses a secret with one without showing it', async () => {
    expect(await report(PROMPT + agent('    tier string required default "gold"\n'))).toBe(
      [
        'main.ias:7:34: warning: config parameter "tier" of agent "desk" is required but has a default, so it is never missing',
        '  hint: remove "required" or the default',
      ].join('\n'),
    );
    const text = await report(PROMPT + agent('    token string secret default "sk-live-123456"\n'));
    expect(text).toBe(
      [
        'main.ias:7:33: error: secret config parameter "token" of agent "desk" has a default: ' +
          "a secret's value does not belong in a definitions file",
        '  hint: remove the default and set AGENTSPEC_CONFIG_DESK_TOKEN (or AGENTSPEC_CONFIG_DESK_TOKEN_FILE, a file holding the value)',
      ].join('\n'),
    );
    expect(text).not.toContain('sk-live-123456');
  });

  it('refuses duplicate names and two parameters read from one variable', async () => {
    const text = await report(
      PROMPT +
        agent('    tier string\n    tier int\n    api-key string\n    api_key string\n    key string\n    key_file string\n') +
        'agent "desk-api" { uses prompt "p" model "mock/echo" config { key string } }\n',
    );
    expect(text).toBe(
      [
        'main.ias:8:5: error: duplicate config parameter "tier" in agent "desk"',
        '  hint: the first one is at main.ias:7:5',
        'main.ias:10:5: error: config parameter "api_key" of agent "desk" is read from AGENTSPEC_CONFIG_DESK_API_KEY, ' +
          'which config parameter "api-key" of agent "desk" also uses',
        '  hint: rename one of them: names differing only in case or punctuation share a variable',
        'main.ias:12:5: error: config parameter "key_file" of agent "desk" is read from AGENTSPEC_CONFIG_DESK_KEY_FILE, ' +
          'which config parameter "key" of agent "desk" also uses',
        '  hint: rename one of them: names differing only in case or punctuation share a variable',
        'main.ias:15:63: error: config parameter "key" of agent "desk-api" is read from AGENTSPEC_CONFIG_DESK_API_KEY, ' +
          'which config parameter "api-key" of agent "desk" also uses',
        '  hint: rename one of them: names differing only in case or punctuation share a variable',
      ].join('\n'),
    );
  });
});

describe('config placeholders at load', () => {
  it('accepts {{config.x}} declared by every agent that uses the prompt or skill', async () => {
    const r = await load(
      'prompt "p" { content "Tier {{config.tier}} for {{name}}" variables { name string } }\n' +
        'secret "k" { env(K) }\n' +
        'skill "s" { input { q string } tool http { url "https://x.test/{{config.region}}?q={{q}}" ' +
        'headers { Authorization "Bearer {{config.token}}" } } }\n' +
        'skill "c" { tool command { binary "tool" args ["--tier", "{{config.tier}}"] env { TOKEN "{{config.token}}" } } }\n' +
        'agent "a" { uses prompt "p" uses skill "s" uses skill "c" model "mock/echo" config {\n' +
        '  tier string default "gold"\n  region string default "eu"\n  token string required secret\n} }\n',
    );
    expect(r.ok ? r.warnings : r.diagnostics).toEqual([]);
  });

  it('refuses a parameter the agent does not declare, naming the agent, and a secret in a prompt', async () => {
    const text = await report(
      'prompt "p" {\n  content "Tier {{config.tierr}}, key {{ config.token }}"\n}\n' +
        'skill "s" {\n  tool http {\n    url "https://x.test/{{config.region}}"\n    body_template "{\\"t\\": \\"{{config.token}}\\"}"\n  }\n}\n' +
        'agent "a" { uses prompt "p" uses skill "s" model "mock/echo" config {\n  tier string\n  token string secret\n} }\n' +
        'agent "b" { uses prompt "p" model "mock/echo" }\n',
    );
    expect(text).toBe(
      [
        'main.ias:3:11: error: prompt "p" uses {{config.tierr}}, but agent "a", which uses it, has no config parameter "tierr"',
        '  hint: did you mean "tier"?',
        'main.ias:3:11: error: prompt "p" uses the secret config parameter "token" of agent "a": ' +
          'prompts are sent to the model provider and kept in transcripts',
        '  hint: use a secret only in a tool template (http url, headers or body_template; command args or env)',
        'main.ias:3:11: error: prompt "p" uses {{config.tierr}}, but agent "b", which uses it, has no config parameter "tierr"',
        '  hint: declare it in the config block of agent "b": tierr string',
        'main.ias:3:11: error: prompt "p" uses {{config.token}}, but agent "b", which uses it, has no config parameter "token"',
        '  hint: declare it in the config block of agent "b": token string',
        'main.ias:7:9: error: skill "s" uses {{config.region}}, but agent "a", which uses it, has no config parameter "region"',
        '  hint: declare it in the config block of agent "a": region string',
      ].join('\n'),
    );
  });

  it("does not warn that {{config.x}} is missing from a prompt's variables", async () => {
    const r = await load(
      'prompt "p" { content "{{config.tier}} {{who}}" variables { who string } }\n' +
        'agent "a" { uses prompt "p" model "mock/echo" config { tier string } }\n',
    );
    expect(r.ok ? r.warnings : r.diagnostics).toEqual([]);
  });
});

describe('config values and names', () => {
  it('converts text to the declared type, or refuses it', () => {
    expect(parseConfigValue('string', ' 50 ')).toBe(' 50 ');
    expect(parseConfigValue('int', ' 50\n')).toBe(50);
    expect(parseConfigValue('integer', '-3')).toBe(-3);
    expect(parseConfigValue('int', '5.0')).toBeUndefined();
    expect(parseConfigValue('int', '99999999999999999999')).toBeUndefined();
    expect(parseConfigValue('float', '.5')).toBe(0.5);
    expect(parseConfigValue('number', '1e3')).toBe(1000);
    expect(parseConfigValue('float', 'Infinity')).toBeUndefined();
    expect(parseConfigValue('float', '')).toBeUndefined();
    expect(parseConfigValue('bool', 'True')).toBe(true);
    expect(parseConfigValue('boolean', '0')).toBe(false);
    expect(parseConfigValue('bool', 'yes')).toBeUndefined();
    expect(parseConfigValue('colour', 'red')).toBeUndefined();
  });

  it('names the variable from the agent and parameter, upper-cased, each other run of characters one _', () => {
    expect(configVariableName('support-agent', 'api_key')).toBe('AGENTSPEC_CONFIG_SUPPORT_AGENT_API_KEY');
    expect(configVariableName('My Agent v2', 'max--len')).toBe('AGENTSPEC_CONFIG_MY_AGENT_V2_MAX_LEN');
    expect(configVariableName('a.b', '_x')).toBe('AGENTSPEC_CONFIG_A_B__X');
  });
});
