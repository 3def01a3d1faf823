/** The GraphiQL playground in a real headless Chromium: served offline, runs the example, shows data. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Locator, Page } from 'playwright-core';
import { launchBrowser, openWatchedPage, TEST_OUTPUT } from './support/browser.js';
import { KEYS, writeKeysFile } from './support/keys.js';
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
      demo: {
        channels: { channelId: string; sessionIds: string[]; redPackCount: number }[];
        firstDay: string;
        lastDay: string;
        control: string;
      };
    };
    expect(index).toMatchObject({
      graphql: '/graphql',
      playground: '/graphql',
      dashboard: '/dashboard',
      health: '/healthz',
    });
    // The emulator's own channels and sessions, not a copy of them; its days and control API.
    expect(index.demo.channels).toEqual(stack.emulator.store.channels);
    expect(index.demo).toMatchObject({
      firstDay: '2026-08-01',
      lastDay: '2026-11-19',
      control: stack.emulator.controlUrl,
    });

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

  it('at 390 px shows every demo channel whole, a card each, nothing cut off or scrolled sideways, and the control API', async () => {
    const viewport = { width: 390, height: 844 };
    const { page, offsiteRequests, problems } = await openWatchedPage(
      browser,
      stack.gateway.url,
      viewport,
    );
    await page.goto(stack.gateway.url);
    await page.locator('table.demo').waitFor();
    expect(await sidewaysScroll(page)).toBe(0);
    // Each cell, and each thing in it (a session id, a number), inside the screen and unclipped.
    const cells = await page.locator('table.demo td').evaluateAll((elements) =>
      elements.map((element) => {
        const cell = element as unknown as {
          dataset: { label: string };
          innerText: string;
          scrollWidth: number;
          clientWidth: number;
          querySelectorAll(selector: string): Iterable<{
            getBoundingClientRect(): { left: number; right: number };
          }>;
        };
        const parts = [...cell.querySelectorAll('span, code')].map((part) => {
          const { left, right } = part.getBoundingClientRect();
          return { left, right };
        });
        const { getComputedStyle } = globalThis as unknown as {
          getComputedStyle(element: unknown, pseudo: string): { content: string };
        };
        return {
          label: cell.dataset.label,
          shownLabel: getComputedStyle(cell, '::before').content,
          clipped: cell.scrollWidth > cell.clientWidth,
          left: Math.min(...parts.map((part) => part.left)),
          right: Math.max(...parts.map((part) => part.right)),
        };
      }),
    );
    const channels = stack.emulator.store.channels;
    expect(cells).toHaveLength(channels.length * 5);
    for (const cell of cells) {
      expect({ ...cell, clipped: false }).toEqual(cell);
      expect(cell.left).toBeGreaterThanOrEqual(0);
      expect(cell.right).toBeLessThanOrEqual(viewport.width);
    }
    // A card: each value under the name of its column.
    expect(cells.slice(0, 5).map((cell) => cell.shownLabel)).toEqual([
      '"Channel"',
      '"Name"',
      '"Live sessions"',
      '"Red packs"',
      '"Income records"',
    ]);
    for (const channel of channels)
      for (const session of channel.sessionIds) {
        const box = (await page.getByText(session, { exact: true }).boundingBox())!;
        expect(box.x + box.width).toBeLessThanOrEqual(viewport.width);
      }
    // The control API's address, and the days of the demo data.
    const control = page.getByTestId('emulator-control');
    await expect(control.innerText()).resolves.toContain(`curl ${stack.emulator.controlUrl}stats`);
    const controlBox = (await control.boundingBox())!;
    expect(controlBox.x + controlBox.width).toBeLessThanOrEqual(viewport.width);
    const { firstDay, lastDay } = stack.emulator.store.period;
    await page.getByText(`from ${firstDay} to ${lastDay} (China Standard Time)`).waitFor();
    await page.screenshot({ path: `${TEST_OUTPUT}landing-390.png`, fullPage: true });
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

interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The element's box, which must exist. */
async function boxOf(locator: Locator): Promise<Box> {
  const box = await locator.boundingBox();
  if (!box) throw new Error(`no box for ${String(locator)}`);
  return box;
}

const inside = (box: Box, viewport: { width: number; height: number }) =>
  box.x >= 0 &&
  box.y >= 0 &&
  box.x + box.width <= viewport.width &&
  box.y + box.height <= viewport.height;

/** Whether the element at the centre of `box` is `locator`'s element or inside it: nothing covers it. */
async function uncovered(page: Page, locator: Locator, box: Box): Promise<boolean> {
  const handle = await locator.elementHandle();
  return page.evaluate(
    ([element, x, y]) => {
      const { document } = globalThis as unknown as {
        document: { elementFromPoint(x: number, y: number): unknown };
      };
      const top = document.elementFromPoint(x, y) as { closest?: unknown } | null;
      let node = top as { parentElement?: unknown } | null;
      while (node && node !== element) node = node.parentElement as typeof node;
      return node === element;
    },
    [handle, box.x + box.width / 2, box.y + box.height / 2] as const,
  );
}

/** What a page shows sideways: nothing wider than the screen. */
const sidewaysScroll = (page: Page) =>
  page.evaluate(() => {
    const root = (
      globalThis as unknown as {
        document: { documentElement: { scrollWidth: number; clientWidth: number } };
      }
    ).document.documentElement;
    return root.scrollWidth - root.clientWidth;
  });

describe('the playground on a phone and on a wide screen', () => {
  it.each([
    { width: 390, height: 844, docsOpen: false },
    { width: 1440, height: 900, docsOpen: true },
  ])(
    'at $width px: the editor in view with its run button, the docs explorer open only if it fits beside it',
    async ({ docsOpen, ...viewport }) => {
      const { page, offsiteRequests, problems } = await openWatchedPage(
        browser,
        stack.gateway.url,
        viewport,
      );
      await page.goto(`${stack.gateway.url}/graphql`);
      await page.locator('.graphiql-container').waitFor();
      const run = page.locator('.graphiql-execute-button');
      const editor = page.locator('.graphiql-query-editor');
      await run.waitFor();

      const runBox = await boxOf(run);
      expect({ run: runBox, inView: inside(runBox, viewport) }).toMatchObject({ inView: true });
      expect(await uncovered(page, run, runBox)).toBe(true);
      const editorBox = await boxOf(editor);
      expect(editorBox.width).toBeGreaterThanOrEqual(300);
      expect(editorBox.x).toBeGreaterThanOrEqual(0);
      expect(editorBox.x + editorBox.width).toBeLessThanOrEqual(viewport.width);
      // The docs explorer: beside the editor on a wide screen, closed (off the page) on a phone.
      const docs = page.locator('.graphiql-doc-explorer');
      const docsBox = (await docs.count()) === 0 ? null : await docs.boundingBox();
      const docsShown =
        docsBox !== null && docsBox.x + docsBox.width > 0 && docsBox.x < viewport.width;
      expect(docsShown).toBe(docsOpen);
      if (docsOpen) expect(docsBox!.x + docsBox!.width).toBeLessThanOrEqual(editorBox.x);
      expect(await sidewaysScroll(page)).toBe(0);

      await run.click();
      const result = page.locator('.result-window');
      await result.getByText('"totalCount"').first().waitFor();
      const resultBox = await boxOf(result);
      expect(resultBox.x).toBeGreaterThanOrEqual(0);
      expect(resultBox.x + resultBox.width).toBeLessThanOrEqual(viewport.width);
      expect(resultBox.width).toBeGreaterThanOrEqual(300);
      await page.screenshot({ path: `${TEST_OUTPUT}playground-${viewport.width}.png` });

      if (!docsOpen) {
        // One tap opens the docs, with the width to read them; another brings the editor back.
        await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
        await docs.getByText('Root Types').waitFor();
        expect((await boxOf(docs)).width).toBeGreaterThanOrEqual(300);
        await page.screenshot({ path: `${TEST_OUTPUT}playground-${viewport.width}-docs.png` });
        await page.getByRole('button', { name: 'Hide Documentation Explorer' }).click();
        await expect(boxOf(run).then((box) => inside(box, viewport))).resolves.toBe(true);
      }
      expect(offsiteRequests).toEqual([]);
      expect(problems).toEqual([]);
    },
  );
});

describe('with API keys on', () => {
  it('says where the key goes (the Headers tab, as a bearer token), and a key put there works', async () => {
    const keyed = await startStack({
      builtInEmulator: true,
      env: { GATEWAY_AUTH: 'on', GATEWAY_API_KEYS_FILE: writeKeysFile() },
    });
    try {
      const viewport = { width: 390, height: 844 };
      const { page, offsiteRequests, problems } = await openWatchedPage(
        browser,
        keyed.gateway.url,
        viewport,
      );
      await page.goto(`${keyed.gateway.url}/graphql`);
      await page.locator('.graphiql-container').waitFor();
      const hint = page.getByRole('note');
      await expect(hint.innerText()).resolves.toMatch(
        /API keys are on: put yours in the Headers tab[\s\S]*\{"Authorization": "Bearer <key>"\}/,
      );
      expect(inside(await boxOf(hint), viewport)).toBe(true);
      // The Headers tab is the one open, on the header to fill in.
      const headers = page.locator('.graphiql-editor-tool .CodeMirror:visible');
      await expect(
        page.locator('.graphiql-editor-tools button', { hasText: 'Headers' }).getAttribute('class'),
      ).resolves.toMatch(/\bactive\b/);
      await expect(headers.innerText()).resolves.toContain('"Authorization": "Bearer <key>"');
      const run = page.locator('.graphiql-execute-button');
      expect(inside(await boxOf(run), viewport)).toBe(true);
      await page.screenshot({ path: `${TEST_OUTPUT}playground-390-keys.png` });

      // Put there, a real key answers.
      await headers.evaluate((element, key) => {
        (
          element as unknown as { CodeMirror: { setValue(text: string): void } }
        ).CodeMirror.setValue(JSON.stringify({ Authorization: `Bearer ${key}` }));
      }, KEYS.finance);
      await run.click();
      const result = page.locator('.result-window');
      await result.getByText('"totalCount"').first().waitFor();
      expect(await result.innerText()).toContain('"totalCount": 3500');
      expect(offsiteRequests).toEqual([]);
      // Before the key, the schema's introspection was refused: the browser reports that 401.
      expect(problems.filter((problem) => !/status of 401/.test(problem))).toEqual([]);
    } finally {
      await keyed.close();
    }
  });

  it('says nothing of keys when they are off', async () => {
    const page = await (
      await fetch(`${stack.gateway.url}/graphql`, { headers: { accept: 'text/html' } })
    ).text();
    expect(page).not.toContain('keys-hint');
    expect(page).toContain('"apiKeys":false');
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
