/**
 * Headless Debian Chromium driven by playwright-core, for tests of what people look at.
 * Every request that leaves the gateway's origin is aborted and recorded, so a page that needs
 * the network (a CDN, a font service) fails its test instead of passing on a connected laptop.
 */
import { mkdirSync } from 'node:fs';
import { chromium, type Browser, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const TEST_OUTPUT = new URL('../../test-output/', import.meta.url).pathname;

export async function launchBrowser(): Promise<Browser> {
  mkdirSync(TEST_OUTPUT, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

export interface WatchedPage {
  page: Page;
  /** Requests to anywhere but the allowed origin (all aborted). */
  offsiteRequests: string[];
  /** Console errors and uncaught exceptions, CSP violations included. */
  problems: string[];
}

export async function openWatchedPage(
  browser: Browser,
  allowedOrigin: string,
  viewport = { width: 1400, height: 900 },
): Promise<WatchedPage> {
  const context = await browser.newContext({ viewport });
  const page = await context.newPage();
  // Fail a step with its own message well before the test's timeout.
  page.setDefaultTimeout(10_000);
  const offsiteRequests: string[] = [];
  const problems: string[] = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(allowedOrigin) || url.startsWith('data:') || url.startsWith('blob:'))
      return route.continue();
    offsiteRequests.push(url);
    return route.abort('blockedbyclient');
  });
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(message.text());
  });
  page.on('pageerror', (error) => problems.push(error.message));
  return { page, offsiteRequests, problems };
}
