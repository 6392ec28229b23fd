import { describe, expect, it } from 'vitest';
import { RouteTable } from '../errors/route-table.js';
import { requestLabels } from './endpoint-names.js';

function routes(): RouteTable {
  const table = new RouteTable();
  table.add('/v1/agents/:name/invoke', 'post');
  table.add('/v1/agents/:name/sessions', 'get');
  table.add('/v1/agents/:name/sessions', 'post');
  table.add('/v1/keys/:id', 'delete');
  table.add('/healthz', 'get');
  table.add('/docs-json', 'get');
  return table;
}

describe('requestLabels', () => {
  it('names a matched route by method and pattern, HEAD as its GET', () => {
    expect(requestLabels('POST', '/v1/agents/greeter/invoke', '/v1/agents/:name/invoke', routes())).toEqual({ endpoint: 'invoke', agentName: 'greeter' });
    expect(requestLabels('HEAD', '/healthz', '/healthz', routes())).toEqual({ endpoint: 'healthz', agentName: undefined });
    expect(requestLabels('HEAD', '/v1/agents/a%20b/sessions', '/v1/agents/:name/sessions', routes())).toEqual({ endpoint: 'sessions_list', agentName: 'a b' });
  });

  it('finds the route of a request no route matched (body refusals, 405) from its path', () => {
    expect(requestLabels('POST', '/v1/agents/x/invoke', undefined, routes())).toEqual({ endpoint: 'invoke', agentName: 'x' });
    expect(requestLabels('POST', '/v1/agents/x/sessions/', undefined, routes())).toEqual({ endpoint: 'sessions', agentName: 'x' });
    expect(requestLabels('GET', '/v1/agents/x/invoke', undefined, routes())).toEqual({ endpoint: 'invoke', agentName: 'x' });
    expect(requestLabels('PUT', '/v1/agents/x/sessions', undefined, routes())).toEqual({ endpoint: 'sessions_list', agentName: 'x' });
    expect(requestLabels('GET', '/v1/keys/k1', undefined, routes())).toEqual({ endpoint: 'key_revoke', agentName: undefined });
    expect(requestLabels('GET', '/v1/agents/%E0%A4%A/invoke', undefined, routes())).toEqual({ endpoint: 'invoke', agentName: '%E0%A4%A' });
  });

  it('counts the web console as console, whatever file it serves', () => {
    for (const path of ['/console', '/console/', '/console/assets/index-abc.js', '/console/config.json', '/console/sessions/x']) {
      expect(requestLabels('GET', path, undefined, routes()), path).toEqual({ endpoint: 'console', agentName: undefined });
    }
    expect(requestLabels('GET', '/consoles', undefined, routes())).toEqual({ endpoint: 'unmatched', agentName: undefined });
  });

  it('counts the Swagger UI as docs and any other path as unmatched', () => {
    for (const path of ['/docs', '/docs/', '/docs/swagger-ui.css', '/docs-json', '/docs-yaml']) {
      expect(requestLabels('GET', path, path === '/docs-json' ? path : undefined, routes()), path).toEqual({ endpoint: 'docs', agentName: undefined });
    }
    expect(requestLabels('GET', '/docsx', undefined, routes())).toEqual({ endpoint: 'unmatched', agentName: undefined });
    expect(requestLabels('POST', '/v1/agents/x/nothing', undefined, routes())).toEqual({ endpoint: 'unmatched', agentName: undefined });
  });
});
