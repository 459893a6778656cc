import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { signStaffToken } from '@croupier/shared';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startGateway, type GatewayHandle } from '../src/server.js';

/** The browser globals the page scripts below read; the test compiles without the DOM library. */
interface PageGlobals {
  loadMarker?: number;
  sessionStorage: { getItem(key: string): string | null; setItem(key: string, value: string): void };
  io: (url: string, options: object) => { emitWithAck: (...args: unknown[]) => Promise<unknown>; disconnect: () => void };
}


import { AGENT, BIG_STAKE_MINOR, OFFICER, STAFF_TOKEN_SECRET, startBackofficeStack, type BackofficeStack } from './helpers/backoffice-stack.js';

/** Debian's chromium package; override with CHROMIUM_PATH. */
const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const SCREENSHOT_DIRECTORY = fileURLToPath(new URL('../../../docs/', import.meta.url));
/** Pushes cross the wallet, the broker, the rules service and the gateway, so they get more time than a local step. */
const LIVE_TIMEOUT_MS = 15_000;

async function screenshot(page: Page, name: string): Promise<void> {
  await mkdir(SCREENSHOT_DIRECTORY, { recursive: true });
  await page.screenshot({ path: `${SCREENSHOT_DIRECTORY}backoffice-${name}.png`, fullPage: true });
}

async function signIn(page: Page, gatewayUrl: string, staff: { username: string; password: string }): Promise<void> {
  await page.goto(`${gatewayUrl}/backoffice/`);
  await page.getByLabel('Username').fill(staff.username);
  await page.getByLabel('Password').fill(staff.password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('#connection-status', { hasText: 'Live' }).waitFor();
}

describe('back office page in Chromium', { skip: existsSync(CHROMIUM_PATH) ? false : `no Chromium at ${CHROMIUM_PATH}` }, () => {
  let stack: BackofficeStack;
  let gateway: GatewayHandle;
  let browser: Browser;
  let playerId: string;
  let flagId: string;

  before(async () => {
    stack = await startBackofficeStack('bobrowser');
    gateway = await startGateway(stack.gatewayConfig(), stack.logger);
    browser = await chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: ['--no-sandbox'] });
    playerId = await stack.createPlayer(20_000);
  });
  after(async () => {
    await browser?.close();
    await gateway?.close();
    await stack?.close();
  });

  test('officer resolves a live flag', async () => {
    const context = await browser.newContext({ locale: 'en-GB', viewport: { width: 1400, height: 1000 } });
    const page = await context.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));

    await page.goto(`${gateway.url}/backoffice/`);
    await screenshot(page, 'sign-in');
    await signIn(page, gateway.url, OFFICER);
    await page.evaluate(() => {
      (globalThis as unknown as PageGlobals).loadMarker = 1;
    });
    const queue = page.locator('#queue-section');
    await queue.getByText('No open flags.').waitFor();
    await page.getByLabel('Player id').fill(playerId);
    await page.getByRole('button', { name: 'Watch player' }).click();
    await page.locator('#balance-cash', { hasText: '200.00' }).waitFor();

    await stack.placeBet(playerId, BIG_STAKE_MINOR);
    await page.locator('#balance-cash', { hasText: '150.00' }).waitFor({ timeout: LIVE_TIMEOUT_MS });
    const playerFlagRow = page.locator('#player-flags-body tr', { hasText: 'big-stake' });
    await playerFlagRow.waitFor({ timeout: LIVE_TIMEOUT_MS });
    const queueRow = queue.locator('tbody tr', { hasText: playerId });
    await queueRow.waitFor({ timeout: LIVE_TIMEOUT_MS });
    await page.locator('#transactions-body tr', { hasText: 'Bet' }).waitFor({ timeout: LIVE_TIMEOUT_MS });
    await page.locator('#interventions-list li', { hasText: 'big-stake' }).waitFor({ timeout: LIVE_TIMEOUT_MS });
    flagId = (await queueRow.getAttribute('data-flag-id')) ?? '';
    await screenshot(page, 'live-session');

    await queueRow.getByRole('button', { name: /^Start review of flag/ }).click();
    await queueRow.getByText('In review').waitFor({ timeout: LIVE_TIMEOUT_MS });
    await queueRow.getByRole('button', { name: /^Resolve flag/ }).click();
    await page.getByLabel('Resolution note').fill('Spoke to the player; the stake was intended. Suggested a loss limit.');
    await screenshot(page, 'resolve');
    await page.getByRole('button', { name: 'Resolve flag', exact: true }).click();
    await queue.getByText('No open flags.').waitFor({ timeout: LIVE_TIMEOUT_MS });
    await playerFlagRow.getByText('Resolved').waitFor({ timeout: LIVE_TIMEOUT_MS });
    await screenshot(page, 'resolved');

    const loadMarker = await page.evaluate(() => (globalThis as unknown as PageGlobals).loadMarker);
    const officerToken = await stack.signIn(OFFICER);
    const detail = (await (await fetch(`${stack.rulesUrl}/flags/${flagId}`, { headers: { authorization: `Bearer ${officerToken}` } })).json()) as {
      status: string;
      audit: { action: string; actor: string; note: string | null }[];
    };
    const resolution = detail.audit.find((entry) => entry.action === 'resolved');

    assert.equal(loadMarker, 1, 'everything appeared without a reload');
    assert.equal(await playerFlagRow.locator('td').nth(5).textContent(), 'Spoke to the player; the stake was intended. Suggested a loss limit.', 'the note is shown');
    assert.equal(detail.status, 'resolved', 'the rules service stores the resolution');
    assert.equal(resolution?.actor, OFFICER.username, 'the audit names the officer');
    assert.equal(resolution?.note, 'Spoke to the player; the stake was intended. Suggested a loss limit.', 'the audit keeps the note');
    assert.deepEqual(pageErrors, [], 'the page raised no script errors');
    await context.close();
  });

  test('agent cannot resolve flags', async () => {
    const context = await browser.newContext({ locale: 'en-GB', viewport: { width: 1400, height: 900 } });
    const page = await context.newPage();

    await signIn(page, gateway.url, AGENT);
    await page.getByText('The compliance queue is available to compliance officers only.').waitFor();
    await page.getByLabel('Player id').fill(playerId);
    await page.getByRole('button', { name: 'Watch player' }).click();
    await page.locator('#player-flags-body tr', { hasText: 'big-stake' }).waitFor();
    await screenshot(page, 'agent');
    const flagButtons = await page.locator('#player-flags-body button').count();
    const identity = await page.locator('#staff-identity').textContent();
    // The page offers no resolve button to agents; a direct request over the agent's own session is refused.
    const refusal = await page.evaluate(async (targetFlagId) => {
      const browser = globalThis as unknown as PageGlobals;
      const token = (JSON.parse(browser.sessionStorage.getItem('croupier.backoffice.session') ?? '{}') as { token: string }).token;
      const socket = browser.io('/backoffice', { auth: { token }, transports: ['websocket'] });
      const result = await socket.emitWithAck('flag:resolve', { flagId: targetFlagId, note: 'agent attempt' });
      socket.disconnect();
      return result as { ok: boolean; error?: { code: string } };
    }, flagId);

    assert.match(identity ?? '', /Agent/, 'the role is shown');
    assert.equal(flagButtons, 0, 'agents get no review or resolve buttons');
    assert.equal(await page.getByText('Only compliance officers can review or resolve flags.').isVisible(), true, 'the page says why');
    assert.equal(refusal.ok, false, 'the resolve request fails');
    assert.equal(refusal.error?.code, 'BACKOFFICE_ERR_FORBIDDEN', 'with the forbidden code');
    await context.close();
  });

  test('staff of another brand rejected', async () => {
    const { token, expiresAt } = await signStaffToken(STAFF_TOKEN_SECRET, {
      staffId: 'staff-of-another-brand',
      username: 'mallory',
      brand: `${stack.brand}-other`,
      role: 'compliance_officer',
      ttlSeconds: 600,
    });
    const context = await browser.newContext({ locale: 'en-GB', viewport: { width: 1400, height: 700 } });
    await context.addInitScript(
      ([key, session]) => (globalThis as unknown as PageGlobals).sessionStorage.setItem(key, session),
      ['croupier.backoffice.session', JSON.stringify({ token, role: 'compliance_officer', expiresAt: expiresAt.toISOString() })] as const,
    );
    const page = await context.newPage();

    await page.goto(`${gateway.url}/backoffice/`);
    const message = page.getByText('Your account belongs to another brand.', { exact: false });
    await message.waitFor();
    await screenshot(page, 'other-brand');

    assert.equal(await page.getByRole('button', { name: 'Sign in' }).isVisible(), true, 'the sign-in form is shown again');
    assert.equal(await page.locator('#console').isHidden(), true, 'the console stays hidden');
    await context.close();
  });
});
