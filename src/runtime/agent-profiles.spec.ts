import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/configuration.js';
import { loadDefinitions, type Definitions } from '../definitions/index.js';
import { renderPrompt } from '../engine/prompt-template.js';
import { requireAgentConfig } from './agent-config.js';
import { buildAgents, type BuiltAgents } from './agent-profiles.js';

const FIXTURE = resolve(import.meta.dirname, '../../test/fixtures/definitions/config/desk.ias');
const TOKEN = 'tok-desk-0123456789';

let server: http.Server;
let port: number;
const seen: { url: string; authorization?: string; body: string }[] = [];
let definitions: Definitions;
let built: BuiltAgents;

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      seen.push({ url: req.url ?? '', authorization: req.headers.authorization, body });
      res.end(`found, with ${String(req.headers.authorization)}`);
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  port = (server.address() as AddressInfo).port;
  const loaded = await loadDefinitions(FIXTURE);
  if (!loaded.ok) throw new Error('the config fixture should load');
  definitions = loaded.definitions;
  const env = {
    AGENTSPEC_CONFIG_HELP_DESK_REGION: 'eu-west',
    AGENTSPEC_CONFIG_HELP_DESK_PORT: String(port),
    AGENTSPEC_CONFIG_HELP_DESK_TIER: 'gold',
    AGENTSPEC_CONFIG_HELP_DESK_TOKEN: TOKEN,
  };
  const config = loadConfig({ AGENTSPEC_HTTP_TOOL_ALLOW_HOSTS: '127.0.0.1', AGENTSPEC_COMMAND_ALLOWLIST: 'echo' });
  built = buildAgents(definitions, config, requireAgentConfig(definitions, env));
});

afterAll(async () => {
  await built.tools.close();
  server.closeAllConnections();
  await new Promise((done) => server.close(done));
});

function profile() {
  const found = built.profiles.get('help-desk');
  if (!found) throw new Error('help-desk should be built');
  return found;
}

function tool(name: string) {
  const found = profile().tools.find((t) => t.tool.name === name);
  if (!found) throw new Error(`tool ${name} should be built`);
  return found.tool;
}

describe('agent config in the built agents', () => {
  it('fills {{config.name}} in the prompt, from the variable or the default, next to the call variables', () => {
    const prompt = profile().prompt;
    expect(prompt && renderPrompt(prompt, { customer: '{{config.token}}' })).toBe(
      'You answer for the gold desk; keep answers under 80 words. Customer: {{config.token}}.',
    );
  });

  it('never gives a secret parameter to the prompt', () => {
    expect([...(profile().prompt?.config?.keys() ?? [])].sort()).toEqual(['max_words', 'port', 'region', 'strict', 'tier']);
  });

  it("fills an http tool's url, header and body, and hides the secret in what comes back", async () => {
    const result = await tool('lookup').run({ order: 'A/7' }, {});
    expect(seen.at(-1)).toEqual({
      url: '/eu-west/orders?id=A%2F7',
      authorization: `Bearer ${TOKEN}`,
      body: '{"order": "A/7", "strict": false}',
    });
    expect(result).toEqual({ output: 'found, with Bearer [redacted]' });
  });

  it("fills a command tool's args, leaving the model's arguments out of them", async () => {
    const result = await tool('report').run({ order: 'A/7' }, {});
    expect(result).toEqual({ output: '--tier=gold --words=80 {{order}}\n' });
  });

  it('keeps values out of the definitions model', () => {
    expect(JSON.stringify(definitions)).not.toContain(TOKEN);
    expect(JSON.stringify(definitions)).not.toContain('eu-west');
  });
});
