/**
 * "Download CSV" on the example dashboard, in a real headless Chromium: with an API key, each
 * file the page saves is byte for byte the export the API serves for the channel and days in the
 * form, and the page counts rows while it streams; an export the gateway cuts part way is
 * reported and nothing is saved.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { BIG_CHANNEL_ID } from '../emulator/index.js';
import { bearer, KEYS, writeKeysFile } from './support/keys.js';
import { launchBrowser, openWatchedPage, TEST_OUTPUT } from './support/browser.js';
import { startStack, type Stack } from './support/stack.js';

let browser: Browser;
beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(() => browser?.close());

/** Every text the export status showed, recorded in the page as it changes. */
async function watchStatus(page: Page): Promise<() => Promise<string[]>> {
  await page.evaluate(() => {
    const { document, MutationObserver } = globalThis as unknown as {
      document: { getElementById(id: string): { textContent: string } & object };
      MutationObserver: new (callback: () => void) => {
        observe(node: object, options: object): void;
      };
    };
    const status = document.getElementById('export-status');
    const seen: string[] = [];
    (globalThis as unknown as { exportStatuses: string[] }).exportStatuses = seen;
    new MutationObserver(() => seen.push(status.textContent)).observe(status, {
      childList: true,
      characterData: true,
      subtree: true,
    });
  });
  return () =>
    page.evaluate(() => (globalThis as unknown as { exportStatuses: string[] }).exportStatuses);
}

describe('Download CSV, with API keys on', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      builtInEmulator: true,
      env: { GATEWAY_AUTH: 'on', GATEWAY_API_KEYS_FILE: writeKeysFile() },
    });
  });
  afterAll(() => stack?.close());

  it('saves the red packs, receives and income of the form, counting rows as they stream', async () => {
    const { page, offsiteRequests, problems } = await openWatchedPage(browser, stack.gateway.url);
    const sent: (string | undefined)[] = [];
    page.on('request', (request) => {
      if (request.url().includes('/export/')) sent.push(request.headers().authorization);
    });
    await page.goto(`${stack.gateway.url}/dashboard`);
    await page.getByLabel('API key').fill(KEYS.finance);
    await page.getByRole('button', { name: 'Use key' }).click();
    await page.locator('body[data-state="ready"]').waitFor();
    const statuses = await watchStatus(page);

    const channel = await page.locator('input[name=channel]').inputValue();
    const from = await page.locator('input[name=from]').inputValue();
    const to = await page.locator('input[name=to]').inputValue();
    const exports = [
      ['red packs', 'red-packs', `channelId=${channel}&from=${from}&to=${to}`],
      ['receives', 'red-pack-receives', `channelId=${channel}&from=${from}&to=${to}`],
      ['income', 'income', `startDate=${from}&endDate=${to}&channelId=${channel}`],
    ] as const;
    for (const [label, list, query] of exports) {
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        page.getByRole('button', { name: `Download CSV: ${label}` }).click(),
      ]);
      const saved = readFileSync((await download.path())!);
      const served = await fetch(`${stack.gateway.url}/export/${list}.csv?${query}`, {
        headers: bearer(KEYS.finance),
      });
      expect(served.status).toBe(200);
      const name = /filename="([^"]+)"/.exec(served.headers.get('content-disposition')!)![1]!;
      expect(download.suggestedFilename()).toBe(name);
      expect(name).toMatch(new RegExp(`^${list}_`));
      expect(saved.equals(Buffer.from(await served.arrayBuffer()))).toBe(true);
      await download.saveAs(`${TEST_OUTPUT}dashboard-export-${list}.csv`);

      const rows = saved.toString('utf8').split('\r\n').length - 2;
      await expect(page.getByTestId('export-status').innerText()).resolves.toMatch(
        new RegExp(`: saved ${name}, ${rows.toLocaleString('en')} rows`),
      );
    }
    // Progress while streaming: the rows so far, growing, before each file was saved.
    const seen = await statuses();
    const counts = seen
      .map((text) => /^Red packs: ([\d,]+) rows so far…$/.exec(text)?.[1])
      .filter((count): count is string => count !== undefined)
      .map((count) => Number(count.replaceAll(',', '')));
    expect(counts.length).toBeGreaterThan(0);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(sent).toEqual(exports.map(() => `Bearer ${KEYS.finance}`));

    await page.screenshot({ path: `${TEST_OUTPUT}dashboard-export.png`, fullPage: true });
    expect(offsiteRequests).toEqual([]);
    // The browser itself reports the 401 of the first POST (no key yet); nothing else may go wrong.
    expect(problems.filter((problem) => !/status of 401/.test(problem))).toEqual([]);
  });

  it('says what the gateway refused, in its words, and saves nothing', async () => {
    const { page } = await openWatchedPage(browser, stack.gateway.url);
    await page.goto(`${stack.gateway.url}/dashboard`);
    // The ops key may read channel 2812610 only.
    await page.getByLabel('API key').fill(KEYS.ops);
    await page.getByRole('button', { name: 'Use key' }).click();
    await page.locator('body[data-state="ready"]').waitFor();
    await page.locator('input[name=channel]').fill('2812611');
    let downloads = 0;
    page.on('download', () => downloads++);
    await page.getByRole('button', { name: 'Download CSV: income' }).click();
    await page.locator('#export-status[data-state="error"]').waitFor();
    await expect(page.getByTestId('export-status').innerText()).resolves.toBe(
      'Income: FORBIDDEN: The API key "ops-dashboard" may not read channel 2812611.',
    );
    expect(downloads).toBe(0);
  });
});

describe('Download CSV, an export cut part way', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      emulator: { bigChannelRedPacks: 20_000, latencyMs: 30 },
      env: { POLYV_BREAKER_RESET_MS: '300' },
    });
  });
  afterAll(() => stack?.close());

  it('is reported with the rows it got, and nothing is saved', async () => {
    const { page, offsiteRequests } = await openWatchedPage(browser, stack.gateway.url);
    await page.goto(`${stack.gateway.url}/dashboard`);
    // Not on the built-in emulator, the page opens on a placeholder channel: show the big one.
    await page.locator('body[data-state="error"]').waitFor();
    await page.locator('input[name=channel]').fill(BIG_CHANNEL_ID);
    await page.locator('input[name=from]').fill('2026-08-01');
    await page.locator('input[name=to]').fill('2026-11-19');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.locator('body[data-state="ready"]').waitFor({ timeout: 30_000 });
    // Once the file has started, every later Polyv call fails (its retries too).
    page.on('response', (response) => {
      if (response.url().includes('/export/'))
        stack.emulator.injectFaults('http500', 1000, 'redPackStatistics');
    });
    let downloads = 0;
    page.on('download', () => downloads++);
    await page.getByRole('button', { name: 'Download CSV: red packs' }).click();
    await page.locator('#export-status[data-state="error"]').waitFor({ timeout: 30_000 });
    stack.emulator.clearFaults();
    const said = await page.getByTestId('export-status').innerText();
    expect(said).toMatch(
      /^Red packs: the export was cut off after [\d,]+ rows \(.+\); nothing was saved\. Try again\.$/,
    );
    const rows = Number(/after ([\d,]+) rows/.exec(said)![1]!.replaceAll(',', ''));
    expect(rows).toBeGreaterThan(0);
    expect(rows).toBeLessThan(20_000);
    expect(downloads).toBe(0);
    await page.screenshot({ path: `${TEST_OUTPUT}dashboard-export-cut.png`, fullPage: true });
    expect(offsiteRequests).toEqual([]);
  }, 60_000);
});
