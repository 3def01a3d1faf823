/** The GraphiQL playground in a real headless Chromium: served offline, runs the example, shows data. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { launchBrowser, openWatchedPage, TEST_OUTPUT } from './support/browser.js';
import { startStack, type Stack } from './support/stack.js';

let stack: Stack;
let browser: Browser;
beforeAll(async () => {
  stack = await startStack({ builtInEmulator: true });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

describe('GraphiQL playground', () => {
  it('opens on GET /graphql, runs the example query, and shows the emulator data', async () => {
    const { page, offsiteRequests, problems } = await openWatchedPage(browser, stack.gateway.url);
    await page.goto(`${stack.gateway.url}/graphql`);
    await page.locator('.graphiql-container').waitFor();

    // The example query and its variables are there, and the docs explorer shows our descriptions.
    const editor = await page.locator('.graphiql-query-editor').innerText();
    expect(editor).toContain('query Dashboard');
    // On the emulator the example's comment names every demo channel and its live sessions.
    for (const channel of stack.emulator.store.channels)
      expect(editor).toContain(
        `${channel.channelId} ${channel.name}: sessions ${channel.sessionIds.join(', ')}`,
      );
    const docs = page.locator('.graphiql-doc-explorer');
    await docs.getByText('Query', { exact: true }).first().click();
    await docs.getByText('A Polyv live channel by its channel number').first().waitFor();

    await page.locator('.graphiql-execute-button').click();
    const result = page.locator('.result-window');
    await result.getByText('"totalCount"').first().waitFor();
    const shown = await result.innerText();

    const newest = stack.emulator.store.redPacks.get('2812610')![0]!;
    expect(shown).toContain('"totalCount": 3500');
    expect(shown).toContain(newest.redPackId);
    expect(shown).toContain(newest.nickName);
    expect(shown).not.toContain('"errors"');
    expect(stack.emulator.calls.length).toBeGreaterThan(0);

    await page.screenshot({ path: `${TEST_OUTPUT}playground.png` });
    expect(offsiteRequests).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('names what is where at /: a page for browsers, JSON for curl, with the demo ids on the emulator', async () => {
    const index = (await (await fetch(`${stack.gateway.url}/`)).json()) as {
      graphql: string;
      playground: string;
      dashboard: string;
      health: string;
      demo: { channels: { channelId: string; sessionIds: string[]; redPackCount: number }[] };
    };
    expect(index).toMatchObject({
      graphql: '/graphql',
      playground: '/graphql',
      dashboard: '/dashboard',
      health: '/healthz',
    });
    // The emulator's own channels and sessions, not a copy of them.
    expect(index.demo.channels).toEqual(stack.emulator.store.channels);

    const { page, offsiteRequests, problems } = await openWatchedPage(browser, stack.gateway.url);
    await page.goto(stack.gateway.url);
    await page.getByRole('link', { name: 'Playground' }).waitFor();
    for (const channel of stack.emulator.store.channels)
      await page.getByText(channel.channelId, { exact: true }).waitFor();
    await page.screenshot({ path: `${TEST_OUTPUT}landing.png`, fullPage: true });
    await page.getByRole('link', { name: 'Playground' }).click();
    await page.locator('.graphiql-container').waitFor();
    expect(new URL(page.url()).pathname).toBe('/graphql');
    expect(offsiteRequests).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('opens a shared link (/graphql?query=…&variables=…) with its query and variables filled in', async () => {
    const { page, problems } = await openWatchedPage(browser, stack.gateway.url);
    const query = 'query Shared($id: ID!) { channel(id: $id) { id redPacks { totalCount } } }';
    const variables = JSON.stringify({ id: '2812614' });
    await page.goto(
      `${stack.gateway.url}/graphql?query=${encodeURIComponent(query)}&variables=${encodeURIComponent(variables)}&operationName=Shared`,
    );
    await page.locator('.graphiql-container').waitFor();
    await expect(page.locator('.graphiql-query-editor').innerText()).resolves.toContain(
      'query Shared($id: ID!)',
    );
    await page.locator('.graphiql-execute-button').click();
    const result = page.locator('.result-window');
    await result.getByText('"totalCount"').first().waitFor();
    expect(await result.innerText()).toContain('"totalCount": 5');
    await page.screenshot({ path: `${TEST_OUTPUT}playground-shared-link.png` });
    expect(problems).toEqual([]);
  });

  it('still answers GraphQL GET requests and non-browser GETs at /graphql', async () => {
    const query = encodeURIComponent('{ channel(id: "2812614") { redPacks { totalCount } } }');
    const response = await fetch(`${stack.gateway.url}/graphql?query=${query}`, {
      headers: { 'apollo-require-preflight': 'true' },
    });
    expect(await response.json()).toEqual({ data: { channel: { redPacks: { totalCount: 5 } } } });
  });

  it('serves only the files it lists', async () => {
    for (const path of [
      '/playground/package.json',
      '/playground/..%2F..%2Fpackage.json',
      '/playground/graphiql.js',
    ]) {
      expect((await fetch(`${stack.gateway.url}${path}`)).status).toBe(404);
    }
  });
});

describe('with the playground switched off', () => {
  it('serves no page and no assets, and GraphQL still works', async () => {
    const off = await startStack({ env: { GATEWAY_PLAYGROUND: 'off' } });
    try {
      const page = await fetch(`${off.gateway.url}/graphql`, { headers: { accept: 'text/html' } });
      expect(page.headers.get('content-type')).not.toMatch(/html/);
      expect((await fetch(`${off.gateway.url}/playground/graphiql.min.js`)).status).toBe(404);
      expect((await off.graphql('{ channel(id: "2812614") { id } }')).data).toEqual({
        channel: { id: '2812614' },
      });
    } finally {
      await off.close();
    }
  });
});
