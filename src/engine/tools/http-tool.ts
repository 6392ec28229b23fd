import http from 'node:http';
import https from 'node:https';
import type { LookupFunction } from 'node:net';
import type { ConfigValue } from '../../definitions/index.js';
import { isIpLiteral } from './address-classifier.js';
import { redactSecrets, resolveSecrets, type SecretResolver } from './secrets.js';
import {
  AddressPolicy,
  AddressRefusedError,
  createGuardedLookup,
  normalizeHost,
  systemHostResolver,
  type HostResolver,
} from './ssrf-guard.js';
import { fillJsonTemplate, fillTemplate, secretReferences, type TemplateValues } from './template.js';
import type { Tool, ToolContext, ToolResult } from './tool.js';
import { CappedBuffer, excerpt, MAX_TOOL_OUTPUT_BYTES, toolFailure, truncationNote } from './tool-output.js';

export const DEFAULT_HTTP_TIMEOUT_MS = 30_000;

export interface HttpToolConfig {
  name: string;
  /** Default GET. */
  method?: string;
  /** `{{field}}` values are URL-encoded, as are `{{secrets.name}}` and `{{config.name}}`. */
  url: string;
  /** Values may hold `{{field}}`, `{{secrets.name}}` and `{{config.name}}` (inserted as they are). */
  headers?: Record<string, string>;
  /** JSON bodies (by content type, or a template starting with `{`/`[`) get JSON-escaped values. */
  bodyTemplate?: string;
  timeoutMs?: number;
  /** The agent's config values, for `{{config.name}}` in the url, headers and body. */
  configValues?: ReadonlyMap<string, ConfigValue>;
  /** Values hidden from what the tool returns: the agent's secret config values. */
  hiddenValues?: readonly string[];
}

export interface HttpToolOptions {
  /** AGENTSPEC_HTTP_TOOL_ALLOW_HOSTS: hosts that may resolve to non-public addresses. */
  allowHosts?: readonly string[];
  resolveSecret?: SecretResolver;
  /** Replaces DNS; tests use it to map made-up names to chosen addresses. */
  resolveHost?: HostResolver;
  maxResponseBytes?: number;
}

type BodyKind = 'json' | 'form' | 'text';

interface PreparedRequest {
  url: URL;
  method: string;
  headers: Record<string, string>;
  body?: string;
}

const USER_AGENT = 'agentspec-runtime';

export class HttpTool implements Tool {
  readonly name: string;
  private readonly policy: AddressPolicy;
  private readonly lookup: LookupFunction;
  private readonly secretNames: string[];
  private readonly timeoutMs: number;
  private readonly maxResponseBytes: number;

  constructor(
    private readonly config: HttpToolConfig,
    private readonly options: HttpToolOptions = {},
  ) {
    this.name = config.name;
    this.policy = new AddressPolicy(options.allowHosts ?? []);
    this.lookup = createGuardedLookup(this.policy, options.resolveHost ?? systemHostResolver);
    this.timeoutMs = config.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
    this.maxResponseBytes = options.maxResponseBytes ?? MAX_TOOL_OUTPUT_BYTES;
    this.secretNames = [
      ...secretReferences(config.url),
      ...Object.values(config.headers ?? {}).flatMap((value) => secretReferences(value)),
      ...secretReferences(config.bodyTemplate),
    ];
  }

  async run(args: Record<string, unknown>, context: ToolContext): Promise<ToolResult> {
    const secrets = await resolveSecrets(this.secretNames, this.options.resolveSecret);
    if (!secrets.ok) return toolFailure(`secret "${secrets.missing}" is not available`);
    const secretValues = [...secrets.values.values(), ...(this.config.hiddenValues ?? [])];
    const prepared = this.prepare({ args, secrets: secrets.values, config: this.config.configValues });
    if ('error' in prepared) return toolFailure(redactSecrets(prepared.error, secretValues));
    const result = await this.send(prepared, context.signal);
    return {
      output: redactSecrets(result.output, secretValues),
      ...(result.error !== undefined && { error: redactSecrets(result.error, secretValues) }),
    };
  }

  private prepare(values: TemplateValues): PreparedRequest | { error: string } {
    let url: URL;
    try {
      url = new URL(fillTemplate(this.config.url, values, encodeURIComponent));
    } catch {
      return { error: 'the URL is not valid once the arguments are filled in' };
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      return { error: `only http and https URLs may be called, not ${url.protocol}` };
    }
    // Sockets skip the lookup for literal addresses, so those are checked here instead.
    const host = normalizeHost(url.hostname);
    if (isIpLiteral(host)) {
      try {
        this.policy.assertReachable(host, host);
      } catch (error) {
        return { error: (error as Error).message };
      }
    }

    const headers: Record<string, string> = { 'user-agent': USER_AGENT };
    for (const [name, template] of Object.entries(this.config.headers ?? {})) {
      headers[name.toLowerCase()] = fillTemplate(template, values);
    }
    for (const [name, value] of Object.entries(headers)) {
      try {
        http.validateHeaderName(name);
        http.validateHeaderValue(name, value);
      } catch {
        return { error: `header "${name}" is not valid once the arguments are filled in` };
      }
    }

    let body: string | undefined;
    if (this.config.bodyTemplate !== undefined) {
      const kind = bodyKind(headers['content-type'], this.config.bodyTemplate);
      if (kind === 'json') {
        body = fillJsonTemplate(this.config.bodyTemplate, values);
        headers['content-type'] ??= 'application/json';
      } else if (kind === 'form') {
        body = fillTemplate(this.config.bodyTemplate, values, encodeURIComponent);
      } else {
        body = fillTemplate(this.config.bodyTemplate, values);
        headers['content-type'] ??= 'text/plain; charset=utf-8';
      }
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const method = (this.config.method ?? 'GET').toUpperCase();
    if (!/^[A-Z]+$/.test(method)) return { error: `"${method}" is not an HTTP method` };
    return { url, method, headers, body };
  }

  private send(request: PreparedRequest, callerSignal: AbortSignal | undefined): Promise<ToolResult> {
    const deadline = AbortSignal.timeout(this.timeoutMs);
    const signal = callerSignal ? AbortSignal.any([callerSignal, deadline]) : deadline;
    const describeAbort = () =>
      deadline.aborted ? `the request timed out after ${this.timeoutMs} ms` : 'the request was cancelled';
    if (signal.aborted) return Promise.resolve(toolFailure(describeAbort()));

    return new Promise<ToolResult>((resolve) => {
      let settled = false;
      let response: http.IncomingMessage | undefined;
      const settle = (result: ToolResult) => {
        if (settled) return;
        settled = true;
        signal.removeEventListener('abort', onAbort);
        resolve(result);
      };
      const onAbort = () => {
        settle(toolFailure(describeAbort()));
        req.destroy();
        response?.destroy();
      };

      const transport = request.url.protocol === 'https:' ? https : http;
      // No shared agent: every connection goes through the guarded lookup, and no pooled
      // socket outlives the check that admitted it.
      let req: http.ClientRequest;
      try {
        req = transport.request(request.url, {
          method: request.method,
          headers: request.headers,
          agent: false,
          lookup: this.lookup,
        });
      } catch (error) {
        settle(toolFailure(`the request could not be made: ${(error as Error).message}`));
        return;
      }
      signal.addEventListener('abort', onAbort, { once: true });

      req.on('error', (error: NodeJS.ErrnoException) => settle(toolFailure(describeRequestError(error))));
      req.on('response', (res) => {
        response = res;
        const body = new CappedBuffer(this.maxResponseBytes);
        const finish = () => {
          const status = res.statusCode ?? 0;
          const text = body.text();
          if (status < 200 || status > 299) {
            settle(toolFailure(describeStatus(res, text)));
          } else {
            settle({ output: body.truncated ? text + truncationNote(this.maxResponseBytes) : text });
          }
        };
        res.on('data', (chunk: Buffer) => {
          if (!body.push(chunk)) {
            finish();
            res.destroy();
          }
        });
        res.on('end', finish);
        res.on('error', () => settle(toolFailure('the connection broke while reading the response')));
        res.on('close', () => {
          if (!res.complete) settle(toolFailure('the connection closed before the response was complete'));
        });
      });
      req.end(request.body);
    });
  }
}

function bodyKind(contentType: string | undefined, template: string): BodyKind {
  if (contentType) {
    const type = contentType.toLowerCase();
    if (type.includes('json')) return 'json';
    if (type.includes('application/x-www-form-urlencoded')) return 'form';
    return 'text';
  }
  const start = template.trimStart()[0];
  return start === '{' || start === '[' ? 'json' : 'text';
}

function describeStatus(res: http.IncomingMessage, body: string): string {
  const status = `HTTP ${res.statusCode}${res.statusMessage ? ` ${res.statusMessage}` : ''}`;
  if (res.statusCode !== undefined && res.statusCode >= 300 && res.statusCode < 400) {
    const location = res.headers.location ? ` to ${res.headers.location}` : '';
    return `${status}: redirect${location} not followed`;
  }
  const detail = excerpt(body, 500);
  return detail ? `${status}: ${detail}` : status;
}

function describeRequestError(error: NodeJS.ErrnoException): string {
  if (error instanceof AddressRefusedError) return error.message;
  switch (error.code) {
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `the host could not be resolved (${error.code})`;
    case 'ECONNREFUSED':
      return 'the connection was refused';
    case 'ECONNRESET':
      return 'the connection was reset';
    default:
      return `the request failed: ${error.message}`;
  }
}
