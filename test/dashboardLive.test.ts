/**
 * The example dashboard's "Live" switch in a real headless Chromium: the page subscribes over
 * Server-Sent Events, and a red pack the emulator inserts shows up without a reload, with the
 * totals the API answers.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, openWatchedPage, TEST_OUTPUT } from './support/browser.js';
import { KEYS, writeKeysFile } from './support/keys.js';
import { shownName } from './support/labels.js';
import { startStack, type Stack } from './support/stack.js';

const CHANNEL = '2812610';
/** The rows of "Latest red packs" (redPacks(first: 10) and `recent: 10` in dashboard.js). */
const TABLE_SIZE = 10;
/** A browser, a gateway polling Polyv and a backoff or two: more than the default on a busy machine. */
const SLOW_TEST_MS = 60_000;
/** Polls fast, so a change shows within a second or two. */
const LIVE_ENV = { GATEWAY_LIVE_POLL_MS: '500', GATEWAY_LIVE_LEASE_MS: '1500' };

interface Money {
  amount: string;
}
interface AllTime {
  channel: {
    redPackSummary: {
      count: number;
      totalAmount: Money;
      totalReceived: Money;
      totalBalance: Money;
      receiverCount: number;
      byType: { type: string; label: string; count: number; amount: Money }[];
    };
    redPacks: { nodes: { id: string; amount: Money; receiveCount: number }[] };
  };
}
/** What live mode shows: the channel's all-time totals and newest red packs. */
const ALL_TIME = `query AllTime($channel: ID!) {
  channel(id: $channel) {
    redPackSummary { count totalAmount { amount } totalReceived { amount } totalBalance { amount } receiverCount byType { type label count amount { amount } } }
    redPacks(first: ${TABLE_SIZE}) { nodes { id amount { amount } receiveCount } }
  }
}`;

let stack: Stack;
let browser: Browser;
beforeAll(async () => {
  stack = await startStack({ builtInEmulator: true, env: LIVE_ENV });
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await stack?.close();
});

async function allTime(on: Stack = stack): Promise<AllTime['channel']> {
  const answer = await on.graphql<AllTime>(ALL_TIME, { channel: CHANNEL });
  expect(answer.errors).toBeUndefined();
  return answer.data!.channel;
}

/** "¥2,437,947.53" -> "2437947.53"; "3,501" -> "3501". */
const plain = (shown: string) => shown.replace('¥', '').replaceAll(',', '');
const text = (page: Page, testId: string) => page.getByTestId(testId).innerText();

async function rows(page: Page): Promise<{ id: string; cells: string[]; fresh: boolean }[]> {
  return page.locator('[data-testid="redpack-row"]').evaluateAll((elements) =>
    elements.map((element) => {
      const row = element as unknown as {
        dataset: { id: string };
        classList: { contains(name: string): boolean };
        querySelectorAll(selector: string): Iterable<{ innerText: string }>;
      };
      return {
        id: row.dataset.id,
        cells: [...row.querySelectorAll('td')].map((cell) => cell.innerText),
        fresh: row.classList.contains('fresh'),
      };
    }),
  );
}

async function expectTotals(page: Page, summary: AllTime['channel']['redPackSummary']) {
  expect(plain(await text(page, 'redpack-count'))).toBe(String(summary.count));
  expect(plain(await text(page, 'redpack-total'))).toBe(summary.totalAmount.amount);
  expect(plain(await text(page, 'redpack-received'))).toBe(summary.totalReceived.amount);
  expect(plain(await text(page, 'redpack-balance'))).toBe(summary.totalBalance.amount);
  expect(plain(await text(page, 'redpack-receivers'))).toBe(String(summary.receiverCount));
  const byType = await page
    .getByTestId('redpacktype-row')
    .evaluateAll((elements) =>
      elements.map((row) => (row as unknown as { innerText: string }).innerText.split('\t')),
    );
  expect(byType.map(([label, count, amount]) => [label, plain(count!), plain(amount!)])).toEqual(
    summary.byType.map((row) => [
      shownName(row.type, row.label),
      String(row.count),
      row.amount.amount,
    ]),
  );
}

/** Nothing wider than the screen, and no section cut off behind a sideways scroll of its own. */
async function expectNoSidewaysScrolling(page: Page, width: number) {
  const overflow = await page.evaluate(() => {
    type Box = { scrollWidth: number; clientWidth: number; className: string; id: string };
    const { document } = globalThis as unknown as {
      document: {
        documentElement: Box;
        querySelectorAll(selector: string): Iterable<Box>;
      };
    };
    const root = document.documentElement;
    return {
      client: root.clientWidth,
      scroll: root.scrollWidth,
      clipped: [...document.querySelectorAll('main section, .table-scroll, .refresh, form')]
        .filter((box) => box.scrollWidth > box.clientWidth)
        .map((box) => `${box.id || box.className}: ${box.scrollWidth} > ${box.clientWidth}`),
    };
  });
  expect(overflow).toEqual({ client: width, scroll: width, clipped: [] });
}

/** Opens the dashboard on the channel and switches Live on from the keyboard. */
async function openLive(page: Page, on: Stack = stack) {
  await page.goto(`${on.gateway.url}/dashboard`);
  await page.locator('body[data-state="ready"]').waitFor();
  await page.locator('input[name=channel]').fill(CHANNEL);
  await page.getByRole('button', { name: 'Show' }).click();
  await page.locator('body[data-state="ready"]').waitFor();
  const live = page.getByRole('switch', { name: 'Live' });
  await live.focus();
  await page.keyboard.press('Space');
  await expect(live.isChecked()).resolves.toBe(true);
  await page.locator('body[data-live="live"]').waitFor();
}

describe('dashboard live mode', () => {
  it.each([
    { width: 1440, height: 900 },
    { width: 390, height: 844 },
    { width: 360, height: 740 },
  ])(
    'at $width px: a red pack inserted upstream appears in the table and the totals, without a reload',
    async (viewport) => {
      const { page, offsiteRequests, problems } = await openWatchedPage(
        browser,
        stack.gateway.url,
        viewport,
      );
      const streams: string[] = [];
      page.on('request', (request) => {
        if (request.headers()['accept'] === 'text/event-stream') streams.push(request.method());
      });
      await openLive(page);
      // Two subscriptions, each one POST with `Accept: text/event-stream`.
      expect(streams).toEqual(['POST', 'POST']);

      // All time, and said so: the range is not used, the income is not shown.
      await expect(page.locator('input[name=from]').isDisabled()).resolves.toBe(true);
      await expect(page.getByRole('button', { name: '7 days' }).isDisabled()).resolves.toBe(true);
      await expect(page.getByRole('button', { name: 'Refresh' }).isDisabled()).resolves.toBe(true);
      await expect(page.locator('#range-note').innerText()).resolves.toBe('All time while live');
      await expect(page.locator('#live-note').innerText()).resolves.toContain('(all time;');
      await expect(page.getByTestId('income-total').isHidden()).resolves.toBe(true);
      await expect(page.locator('#chart-title').innerText()).resolves.toBe(
        'Red-pack money by status (all time)',
      );
      await expect(page.locator('body').getAttribute('data-next-refresh')).resolves.toBe('');
      await expect(text(page, 'live-status')).resolves.toBe('Live');
      await expect(text(page, 'live-updated')).resolves.toMatch(/^· updated \d\d:\d\d:\d\d CST$/);

      // The snapshot: the channel's newest red packs, as the API lists them, and its totals.
      const before = await allTime();
      expect(before.redPacks.nodes).toHaveLength(TABLE_SIZE);
      const shown = await rows(page);
      expect(shown.map((row) => row.id)).toEqual(before.redPacks.nodes.map((pack) => pack.id));
      shown.forEach((row, index) =>
        expect(plain(row.cells[3]!)).toBe(before.redPacks.nodes[index]!.amount.amount),
      );
      await expectTotals(page, before.redPackSummary);

      // The page must not reload: a mark left on it now is still there at the end.
      await page.evaluate(() => {
        (globalThis as unknown as { liveTestMark: number }).liveTestMark = 1;
      });

      // Polyv gets a new red pack; the gateway's poll sees it and the page shows it.
      const inserted = stack.emulator.insertRedPack(CHANNEL);
      const amount = (inserted.amountFen / 100).toFixed(2);
      await page.locator(`[data-testid="redpack-row"][data-id="${inserted.redPackId}"]`).waitFor();
      const after = await rows(page);
      expect(after[0]).toMatchObject({ id: inserted.redPackId, fresh: true });
      expect(plain(after[0]!.cells[3]!)).toBe(amount);
      expect(after[0]!.cells[2]).toBe(inserted.nickName);
      expect(after[0]!.cells[4]).toBe(String(inserted.receives.length));
      // The rest moved down one; the table keeps its size.
      expect(after.map((row) => row.id)).toEqual(
        [inserted.redPackId, ...shown.map((row) => row.id)].slice(0, TABLE_SIZE),
      );

      // The cards: one more red pack, exactly the API's totals now.
      await page
        .getByTestId('redpack-count')
        .filter({ hasText: (before.redPackSummary.count + 1).toLocaleString('en-US') })
        .waitFor();
      const now = await allTime();
      expect(now.redPackSummary.count).toBe(before.redPackSummary.count + 1);
      expect(now.redPacks.nodes[0]!.id).toBe(inserted.redPackId);
      await expectTotals(page, now.redPackSummary);
      const chart = await page.evaluate(() => {
        const { Chart, document } = globalThis as unknown as {
          Chart: {
            getChart(canvas: unknown): {
              data: { labels: string[]; datasets: { data: number[] }[] };
            };
          };
          document: { querySelector(selector: string): unknown };
        };
        const found = Chart.getChart(document.querySelector('[data-testid="income-chart"]'));
        return { labels: found.data.labels, bars: found.data.datasets[0]!.data };
      });
      // One bar per status, from the same totals message, named in English (a status the
      // schema does not know yet is "Other", told apart by Polyv's label).
      expect(chart.labels.length).toBeGreaterThan(0);
      expect(chart.bars).toHaveLength(chart.labels.length);
      expect(chart.labels).toContain('Ended');
      expect(
        chart.labels.filter(
          (label) => !/^[A-Z][a-z ]+$/.test(label) && !/^Other \(.+\)$/.test(label),
        ),
      ).toEqual([]);

      await expect(
        page.evaluate(() => (globalThis as unknown as { liveTestMark?: number }).liveTestMark),
      ).resolves.toBe(1);
      await expectNoSidewaysScrolling(page, viewport.width);
      await page.screenshot({
        path: `${TEST_OUTPUT}dashboard-live-${viewport.width}.png`,
        fullPage: true,
      });
      expect(offsiteRequests).toEqual([]);
      expect(problems).toEqual([]);
      await page.context().close();
    },
    SLOW_TEST_MS,
  );

  it(
    'turning Live off closes both streams and goes back to refreshing a date range',
    async () => {
      const { page, problems } = await openWatchedPage(browser, stack.gateway.url);
      await openLive(page);
      const subscriptions = () => liveSubscriptions(stack);
      await expect(subscriptions()).resolves.toBe(2);

      const posts: string[] = [];
      page.on('request', (request) => {
        if (
          request.url().endsWith('/graphql') &&
          request.headers()['accept'] !== 'text/event-stream'
        )
          posts.push(request.method());
      });
      await page.getByRole('switch', { name: 'Live' }).uncheck();
      await page.locator('body[data-live="off"][data-state="ready"]').waitFor();
      expect(posts).toEqual(['POST']);
      await expect(page.getByTestId('live-status').innerText()).resolves.toBe('');
      await expect(page.getByTestId('live-updated').innerText()).resolves.toBe('');
      await expect(page.locator('input[name=from]').isEnabled()).resolves.toBe(true);
      await expect(page.getByTestId('income-total').isVisible()).resolves.toBe(true);
      await expect(page.locator('#chart-title').innerText()).resolves.toBe('Income by day');
      await expect(page.locator('body').getAttribute('data-next-refresh')).resolves.toBe('60');
      // The gateway no longer carries them.
      await waitFor('no open subscription', async () => (await subscriptions()) === 0);
      expect(problems).toEqual([]);
      await page.context().close();
    },
    SLOW_TEST_MS,
  );

  it(
    'reconnects when a stream ends, with a fresh snapshot',
    async () => {
      const { page, problems } = await openWatchedPage(browser, stack.gateway.url);
      const asked: { recent?: number }[] = [];
      let faked = 0;
      // The first connection: the gateway's answers replaced by a stream with a red pack that does
      // not exist, which then ends as if the connection dropped.
      await page.route(
        (url) => url.pathname === '/graphql',
        async (route) => {
          const request = route.request();
          if (request.headers()['accept'] !== 'text/event-stream') return route.fallback();
          const variables = (request.postDataJSON() as { variables: { recent?: number } })
            .variables;
          asked.push(variables);
          if (faked >= 2) return route.fallback();
          faked++;
          const payload =
            variables.recent === undefined
              ? {
                  errors: [
                    { message: 'Polyv timed out', extensions: { code: 'UPSTREAM_UNAVAILABLE' } },
                  ],
                }
              : {
                  data: {
                    redPackEvents: {
                      kind: 'SNAPSHOT',
                      sequence: 0,
                      redPack: {
                        id: 'stale-red-pack',
                        createdAt: '2026-11-01T00:00:00Z',
                        typeLabel: '普通红包',
                        sender: { nickname: 'nobody' },
                        amount: { amount: '1.00' },
                        receiveCount: 0,
                      },
                    },
                  },
                };
          return route.fulfill({
            status: 200,
            contentType: 'text/event-stream',
            body: `:\n\nevent: next\ndata: ${JSON.stringify(payload)}\n\n`,
          });
        },
      );
      await page.goto(`${stack.gateway.url}/dashboard`);
      await page.locator('body[data-state="ready"]').waitFor();
      const statuses: string[] = [];
      await page.exposeFunction('reportLiveStatus', (status: string) => statuses.push(status));
      await page.evaluate(() => {
        const { document, MutationObserver, reportLiveStatus } = globalThis as unknown as {
          document: { getElementById(id: string): { textContent: string } };
          MutationObserver: new (callback: () => void) => {
            observe(target: unknown, options: object): void;
          };
          reportLiveStatus(status: string): void;
        };
        const status = document.getElementById('live-status');
        new MutationObserver(() => reportLiveStatus(status.textContent)).observe(status, {
          childList: true,
          characterData: true,
          subtree: true,
        });
      });
      await page.getByRole('switch', { name: 'Live' }).check();
      await page.locator('body[data-live="live"]').waitFor();

      // Both streams were asked for again, the events with a snapshot again.
      expect(asked).toHaveLength(4);
      expect(asked.filter((variables) => variables.recent === TABLE_SIZE)).toHaveLength(2);
      expect(statuses).toContainEqual(
        expect.stringMatching(
          /^Connection lost \(The gateway ended the stream\); reconnecting in \d s…$/,
        ),
      );
      expect(statuses).toContain('Reconnecting…');
      // The fresh snapshot replaced what the first connection showed.
      const ids = (await rows(page)).map((row) => row.id);
      expect(ids).not.toContain('stale-red-pack');
      expect(ids).toEqual((await allTime()).redPacks.nodes.map((pack) => pack.id));
      expect(problems).toEqual([]);
      await page.context().close();
    },
    SLOW_TEST_MS,
  );

  it(
    'says when Polyv is not answering, and goes on when it answers again',
    async () => {
      // One failed call is one failed poll: no retries, and the breaker stays shut.
      const failing = await startStack({
        builtInEmulator: true,
        env: { ...LIVE_ENV, POLYV_RETRIES: '0' },
      });
      try {
        const { page, problems } = await openWatchedPage(browser, failing.gateway.url);
        await openLive(page, failing);
        failing.emulator.injectFaults('http503', 3, 'redPackStatistics');
        await page.locator('body[data-live="waiting"]').waitFor();
        await expect(page.getByTestId('live-status').innerText()).resolves.toBe(
          'Polyv is not answering; live updates resume when it does.',
        );
        // Not a page error: the errors box stays empty, the stream open.
        await expect(page.getByTestId('errors').isHidden()).resolves.toBe(true);

        await waitFor('the faults to be used up', () => failing.emulator.pendingFaults === 0);
        const inserted = failing.emulator.insertRedPack(CHANNEL);
        await page
          .locator(`[data-testid="redpack-row"][data-id="${inserted.redPackId}"]`)
          .waitFor();
        await page.locator('body[data-live="live"]').waitFor();
        // The browser reports the 503s? No: the page never saw them, only the gateway did.
        expect(problems).toEqual([]);
        await page.context().close();
      } finally {
        await failing.close();
      }
    },
    SLOW_TEST_MS,
  );
});

describe('dashboard live mode in a hidden tab', () => {
  it(
    'closes its streams while the tab is hidden, and reopens them when it is shown',
    async () => {
      const { page, problems } = await openWatchedPage(browser, stack.gateway.url);
      await page.clock.install();
      await openLive(page);
      await expect(liveSubscriptions(stack)).resolves.toBe(2);
      const setHidden = (hidden: boolean) =>
        page.evaluate((hidden) => {
          const { document, Event } = globalThis as unknown as {
            document: object & { dispatchEvent(event: unknown): void };
            Event: new (type: string) => unknown;
          };
          Object.defineProperty(document, 'hidden', { value: hidden, configurable: true });
          Object.defineProperty(document, 'visibilityState', {
            value: hidden ? 'hidden' : 'visible',
            configurable: true,
          });
          document.dispatchEvent(new Event('visibilitychange'));
        }, hidden);

      // A moment in the background changes nothing; half a minute closes both streams.
      await setHidden(true);
      await page.clock.runFor(29_000);
      await expect(page.locator('body').getAttribute('data-live')).resolves.toBe('live');
      await page.clock.runFor(1_000);
      await page.locator('body[data-live="paused"]').waitFor();
      await expect(page.getByTestId('live-status').innerText()).resolves.toBe(
        'Paused while this tab is hidden; resumes when it is shown.',
      );
      await waitFor('no open subscription', async () => (await liveSubscriptions(stack)) === 0);

      // Shown again: live again, with what changed meanwhile.
      const inserted = stack.emulator.insertRedPack(CHANNEL);
      await setHidden(false);
      await page.locator('body[data-live="live"]').waitFor();
      await page.locator(`[data-testid="redpack-row"][data-id="${inserted.redPackId}"]`).waitFor();
      expect((await rows(page)).map((row) => row.id)).toEqual(
        (await allTime()).redPacks.nodes.map((pack) => pack.id),
      );
      expect(problems).toEqual([]);
      await page.context().close();
    },
    SLOW_TEST_MS,
  );
});

describe('dashboard live mode with API keys on', () => {
  it(
    'asks for a key, then sends it on both streams',
    async () => {
      const keyed = await startStack({
        builtInEmulator: true,
        env: { ...LIVE_ENV, GATEWAY_AUTH: 'on', GATEWAY_API_KEYS_FILE: writeKeysFile() },
      });
      try {
        const { page, problems } = await openWatchedPage(browser, keyed.gateway.url);
        const streams: (string | undefined)[] = [];
        page.on('request', (request) => {
          if (request.headers()['accept'] === 'text/event-stream')
            streams.push(request.headers()['authorization']);
        });
        await page.goto(`${keyed.gateway.url}/dashboard`);
        await page.locator('body[data-state="error"]').waitFor();
        // Without a key, live mode stops at once (asking again would not help) and says why.
        await page.getByRole('switch', { name: 'Live' }).check();
        await page.locator('body[data-live="error"]').waitFor();
        await expect(page.getByTestId('errors').innerText()).resolves.toMatch(/^UNAUTHENTICATED: /);
        await expect(page.locator('#api-key').isVisible()).resolves.toBe(true);
        expect(streams).toHaveLength(2);

        await page.getByLabel('API key').fill(KEYS.ops);
        await page.getByRole('button', { name: 'Use key' }).click();
        await page.locator('body[data-live="live"]').waitFor();
        expect(streams.slice(2)).toEqual([`Bearer ${KEYS.ops}`, `Bearer ${KEYS.ops}`]);
        await expect(page.getByTestId('errors').isHidden()).resolves.toBe(true);
        await expect(page.locator('#api-key').isHidden()).resolves.toBe(true);
        // The browser itself reports the 401s; nothing else may go wrong.
        expect(problems.filter((problem) => !/status of 401/.test(problem))).toEqual([]);
        await page.context().close();
      } finally {
        await keyed.close();
      }
    },
    SLOW_TEST_MS,
  );
});

/** The gateway's count of open subscriptions, from its metrics. */
async function liveSubscriptions(on: Stack): Promise<number> {
  const metrics = await (await fetch(`${on.gateway.url}/metrics`)).text();
  return [...metrics.matchAll(/^gateway_live_subscriptions(?:\{[^}]*\})? (\d+)$/gm)].reduce(
    (sum, match) => sum + Number(match[1]),
    0,
  );
}

async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 10_000,
) {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
