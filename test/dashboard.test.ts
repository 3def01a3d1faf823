/** The example dashboard in a real headless Chromium: served offline, shows what the API answers. */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { KEYS, writeKeysFile } from './support/keys.js';
import { launchBrowser, openWatchedPage, TEST_OUTPUT } from './support/browser.js';
import { startStack, type Stack } from './support/stack.js';

/** The dashboard's query, word for word the contract of public/dashboard/dashboard.js. */
const DASHBOARD_QUERY = `query Dashboard($channel: ID!, $from: Date!, $to: Date!, $startTime: DateTime!, $endTime: DateTime!) {
  channel(id: $channel) {
    incomeSummary(startDate: $from, endDate: $to) { count total { amount } byPayType { payType label count amount { amount } } byDay { date count amount { amount fen } } asOf }
    redPackSummary(startTime: $startTime, endTime: $endTime) { count totalAmount { amount } totalReceived { amount } receiverCount byType { type label count amount { amount } } asOf }
    redPacks(first: 10, startTime: $startTime, endTime: $endTime) { nodes { id createdAt typeLabel sender { nickname } amount { amount } receiveCount } }
  }
}`;

interface Money {
  amount: string;
}
interface Row {
  label: string;
  count: number;
  amount: Money;
}
interface DashboardData {
  channel: {
    incomeSummary: { count: number; total: Money; byPayType: Row[]; byDay: unknown[] };
    redPackSummary: {
      count: number;
      totalAmount: Money;
      totalReceived: Money;
      receiverCount: number;
      byType: Row[];
    };
    redPacks: {
      nodes: {
        typeLabel: string;
        sender: { nickname: string };
        amount: Money;
        receiveCount: number;
      }[];
    };
  };
}

// The playground's example in emulator mode: the busiest channel, 19 days.
const EXAMPLE = { channel: '2812610', from: '2026-11-01', to: '2026-11-19' };
const DAYS_IN_RANGE = 19;

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

describe('example dashboard', () => {
  it('shows the numbers the API answers for the same query, with a bar per day', async () => {
    const answer = await stack.graphql<DashboardData>(DASHBOARD_QUERY, {
      ...EXAMPLE,
      startTime: `${EXAMPLE.from}T00:00:00+08:00`,
      endTime: `${EXAMPLE.to}T23:59:59.999+08:00`,
    });
    expect(answer.errors).toBeUndefined();
    const { incomeSummary: income, redPackSummary: packs, redPacks } = answer.data!.channel;
    // The example must have something to show.
    expect(income.count).toBeGreaterThan(0);
    expect(packs.count).toBeGreaterThan(0);

    const { page, offsiteRequests, problems } = await openWatchedPage(browser, stack.gateway.url);
    const graphqlPosts: string[] = [];
    page.on('request', (request) => {
      if (request.url().endsWith('/graphql')) graphqlPosts.push(request.method());
    });
    const response = await page.goto(`${stack.gateway.url}/dashboard`);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    await page.locator('body[data-state="ready"]').waitFor();

    // The form starts on the example, and one POST fetched everything.
    await expect(page.locator('input[name=channel]').inputValue()).resolves.toBe(EXAMPLE.channel);
    await expect(page.locator('input[name=from]').inputValue()).resolves.toBe(EXAMPLE.from);
    await expect(page.locator('input[name=to]').inputValue()).resolves.toBe(EXAMPLE.to);
    expect(graphqlPosts).toEqual(['POST']);

    const text = (testId: string) => page.getByTestId(testId).innerText();
    await expect(text('income-total')).resolves.toBe(`¥${income.total.amount}`);
    await expect(text('income-count')).resolves.toBe(String(income.count));
    await expect(text('redpack-count')).resolves.toBe(String(packs.count));
    await expect(text('redpack-total')).resolves.toBe(`¥${packs.totalAmount.amount}`);
    await expect(text('redpack-received')).resolves.toBe(`¥${packs.totalReceived.amount}`);
    await expect(text('redpack-receivers')).resolves.toBe(String(packs.receiverCount));

    const rows = async (testId: string) =>
      Promise.all(
        (await page.getByTestId(testId).all()).map((row) => row.locator('td').allInnerTexts()),
      );
    const summaryRows = (list: Row[]) =>
      list.map((row) => [row.label, String(row.count), `¥${row.amount.amount}`]);
    await expect(rows('paytype-row')).resolves.toEqual(summaryRows(income.byPayType));
    await expect(rows('redpacktype-row')).resolves.toEqual(summaryRows(packs.byType));
    const latest = await rows('redpack-row');
    expect(latest).toHaveLength(redPacks.nodes.length);
    expect(latest.map((cells) => cells.slice(1))).toEqual(
      redPacks.nodes.map((pack) => [
        pack.typeLabel,
        pack.sender.nickname,
        `¥${pack.amount.amount}`,
        String(pack.receiveCount),
      ]),
    );

    // The chart: one bar per day of the range, drawn by Chart.js on a canvas.
    expect(income.byDay).toHaveLength(DAYS_IN_RANGE);
    const chart = await page.evaluate(() => {
      // In the page: the Chart.js instance drawn on the dashboard's canvas.
      const { Chart, document } = globalThis as unknown as {
        Chart: { getChart(canvas: unknown): { config: { type: string }; data: { labels: [] } } };
        document: { querySelector(selector: string): unknown };
      };
      const found = Chart.getChart(document.querySelector('[data-testid="income-chart"]'));
      return { type: found.config.type, labels: found.data.labels.length };
    });
    expect(chart).toEqual({ type: 'bar', labels: DAYS_IN_RANGE });
    await expect(page.getByTestId('errors').isHidden()).resolves.toBe(true);

    await page.screenshot({ path: `${TEST_OUTPUT}dashboard.png`, fullPage: true });
    expect(offsiteRequests).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('shows GraphQL errors with their code instead of failing silently', async () => {
    const { page, offsiteRequests, problems } = await openWatchedPage(browser, stack.gateway.url);
    await page.goto(`${stack.gateway.url}/dashboard`);
    await page.locator('body[data-state="ready"]').waitFor();
    // A range that ends before it starts is the caller's mistake.
    await page.locator('input[name=from]').fill('2026-11-19');
    await page.locator('input[name=to]').fill('2026-11-01');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.locator('body[data-state="error"]').waitFor();
    await expect(page.getByTestId('errors').innerText()).resolves.toMatch(/BAD_USER_INPUT/);
    expect(offsiteRequests).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('serves only the files it lists', async () => {
    for (const path of ['/dashboard/package.json', '/dashboard/chart.js', '/dashboard/..%2Fx']) {
      expect((await fetch(`${stack.gateway.url}${path}`)).status).toBe(404);
    }
    const chart = await fetch(`${stack.gateway.url}/dashboard/chart.umd.min.js`);
    expect(chart.status).toBe(200);
    expect(chart.headers.get('content-type')).toMatch(/javascript/);
  });
});

describe('with API keys on', () => {
  it('asks for a key on 401, keeps it in sessionStorage only, and sends it as a bearer token', async () => {
    const keyed = await startStack({
      builtInEmulator: true,
      env: { GATEWAY_AUTH: 'on', GATEWAY_API_KEYS_FILE: writeKeysFile() },
    });
    try {
      const { page, offsiteRequests, problems } = await openWatchedPage(browser, keyed.gateway.url);
      const authorizations: (string | undefined)[] = [];
      page.on('request', (request) => {
        if (request.url().endsWith('/graphql'))
          authorizations.push(request.headers().authorization);
      });
      await page.goto(`${keyed.gateway.url}/dashboard`);
      await page.locator('body[data-state="error"]').waitFor();
      await expect(page.getByTestId('errors').innerText()).resolves.toMatch(/UNAUTHENTICATED/);

      await page.getByLabel('API key').fill(KEYS.finance);
      await page.getByRole('button', { name: 'Use key' }).click();
      await page.locator('body[data-state="ready"]').waitFor();
      await expect(page.getByTestId('redpack-count').innerText()).resolves.toMatch(/^\d+$/);
      await expect(page.locator('#api-key').isHidden()).resolves.toBe(true);
      expect(authorizations).toEqual([undefined, `Bearer ${KEYS.finance}`]);
      const storage = await page.evaluate(() => {
        const { sessionStorage, localStorage } = globalThis as unknown as Record<string, object>;
        return { session: Object.values(sessionStorage!), local: Object.values(localStorage!) };
      });
      expect(storage).toEqual({ session: [KEYS.finance], local: [] });

      expect(offsiteRequests).toEqual([]);
      // The browser itself reports the 401 of the first POST; nothing else may go wrong.
      expect(problems.filter((problem) => !/status of 401/.test(problem))).toEqual([]);
    } finally {
      await keyed.close();
    }
  });
});

describe('with the playground switched off', () => {
  it('serves no dashboard', async () => {
    const off = await startStack({ env: { GATEWAY_PLAYGROUND: 'off' } });
    try {
      for (const path of ['/dashboard', '/dashboard/dashboard.js', '/dashboard/chart.umd.min.js']) {
        const response = await fetch(`${off.gateway.url}${path}`, {
          headers: { accept: 'text/html' },
        });
        expect(response.status).toBe(404);
        expect(await response.text()).not.toMatch(/dashboard-config|Chart/);
      }
    } finally {
      await off.close();
    }
  });
});
