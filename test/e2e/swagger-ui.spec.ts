import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page, type Request } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, CHROMIUM_ARGS, CHROMIUM_MISSING } from '../support/chromium.js';
import { createTestDatabase } from '../support/database.js';
import { LocalIssuer } from '../support/oidc-issuer.js';
import { startTestApp, type TestApp } from '../support/test-app.js';

const KEY = 'k-swagger-0123456789abcdef';
const MISSING = CHROMIUM_MISSING;

if (MISSING) console.warn(`test/e2e/swagger-ui.spec.ts skipped: ${MISSING}`);

describe.skipIf(MISSING)(`Swagger UI in a browser${MISSING ? ` — SKIPPED: ${MISSING}` : ''}`, () => {
  let issuer: LocalIssuer;
  let app: TestApp;
  let profile: string;
  let browser: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    issuer = await LocalIssuer.start();
    await issuer.addKey('RS256');
    app = await startTestApp({
      databaseUrl: await createTestDatabase(),
      env: { AGENTSPEC_API_KEY: KEY, OIDC_ISSUER: issuer.issuer, OIDC_AUDIENCE: issuer.audience },
    });
    // A fresh profile every run: persisted authorizations (localStorage) must not leak in.
    profile = mkdtempSync(join(tmpdir(), 'agentspec-swagger-ui-'));
    browser = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
    page = browser.pages()[0] ?? (await browser.newPage());
    page.setDefaultTimeout(15_000);
    await page.goto(`${app.url}/docs`);
    await page.locator('button.authorize').first().waitFor();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
    await app?.close();
    await issuer?.close();
  });

  /** Opens GET /v1/agents, runs it with "Try it out" → "Execute", returns the request sent and the status shown. */
  async function executeListAgents(): Promise<{ request: Request; shownStatus: string }> {
    const operation = page.locator('.opblock-get', { has: page.locator('[data-path="/v1/agents"]') });
    if (!(await operation.locator('.opblock-body').isVisible())) await operation.locator('.opblock-summary').first().click();
    const tryItOut = operation.locator('button.try-out__btn');
    if ((await tryItOut.textContent())?.trim() === 'Try it out') await tryItOut.click();
    const [response] = await Promise.all([
      page.waitForResponse((candidate) => new URL(candidate.url()).pathname === '/v1/agents'),
      operation.locator('button.execute').click(),
    ]);
    const status = operation.locator('.live-responses-table .response .response-col_status').first();
    await expect.poll(async () => (await status.textContent())?.trim(), { timeout: 10_000 }).toBe(String(response.status()));
    return { request: response.request(), shownStatus: (await status.textContent())!.trim() };
  }

  /** Authorize dialog: fills the scheme's field, authorizes, closes. */
  async function authorize(scheme: 'api-key' | 'bearer', value: string): Promise<void> {
    await page.locator('.auth-wrapper > button.authorize').click();
    const section = page.locator('.modal-ux .auth-container', { has: page.locator('h4', { hasText: scheme }) });
    await section.locator('input').fill(value);
    await section.locator('button.modal-btn.authorize').click();
    await section.locator('button', { hasText: 'Logout' }).waitFor();
    await section.locator('button.btn-done').click();
  }

  async function logout(scheme: 'api-key' | 'bearer'): Promise<void> {
    await page.locator('.auth-wrapper > button.authorize').click();
    const section = page.locator('.modal-ux .auth-container', { has: page.locator('h4', { hasText: scheme }) });
    await section.locator('button', { hasText: 'Logout' }).click();
    await section.locator('button.btn-done').click();
  }

  it('shows 401 for GET /v1/agents before Authorize', async () => {
    const { request, shownStatus } = await executeListAgents();

    expect(shownStatus).toBe('401');
    expect(request.headers()['x-api-key']).toBeUndefined();
    expect(request.headers().authorization).toBeUndefined();
  });

  it('runs GET /v1/agents with the API key entered in Authorize: 200', async () => {
    await authorize('api-key', KEY);

    const { request, shownStatus } = await executeListAgents();

    expect(shownStatus).toBe('200');
    expect(request.headers()['x-api-key']).toBe(KEY);
    await logout('api-key');
  });

  it('runs GET /v1/agents with an OIDC bearer token entered in Authorize: 200', async () => {
    const token = await issuer.token({ sub: 'swagger-user', roles: ['admin'] });
    await authorize('bearer', token);

    const { request, shownStatus } = await executeListAgents();

    expect(shownStatus).toBe('200');
    expect(request.headers().authorization).toBe(`Bearer ${token}`);
    expect(request.headers()['x-api-key']).toBeUndefined();
    await logout('bearer');
  });

  it('runs GET /v1/agents with the API key entered as a bearer token: 200', async () => {
    await authorize('bearer', KEY);

    const { request, shownStatus } = await executeListAgents();

    expect(shownStatus).toBe('200');
    expect(request.headers().authorization).toBe(`Bearer ${KEY}`);
  });
});
