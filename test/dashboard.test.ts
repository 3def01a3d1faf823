/** The example dashboard in a real headless Chromium: served offline, shows what the API answers. */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { KEYS, writeKeysFile } from './support/keys.js';
import { CHINESE, shownName } from './support/labels.js';
import { launchBrowser, openWatchedPage, TEST_OUTPUT } from './support/browser.js';
import { startStack, type Stack } from './support/stack.js';

/** The dashboard's query, read from its own source: the test asks exactly what the page asks. */
const DASHBOARD_SOURCE = readFileSync(
  new URL('../public/dashboard/dashboard.js', import.meta.url),
  'utf8',
);
const DASHBOARD_QUERY = /const QUERY = `([^`]+)`;/.exec(DASHBOARD_SOURCE)![1]!;

interface Money {
  amount: string;
}
interface Row {
  label: string;
  count: number;
  amount: Money;
}
interface PayTypeRow extends Row {
  payType: string;
}
interface TypeRow extends Row {
  type: string;
}
interface DashboardData {
  channel: {
    incomeSummary: { count: number; total: Money; byPayType: PayTypeRow[]; byDay: unknown[] };
    redPackSummary: {
      count: number;
      totalAmount: Money;
      totalReceived: Money;
      receiverCount: number;
      byType: TypeRow[];
    };
    redPacks: {
      nodes: {
        type: string;
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
const PHONE = { width: 390, height: 844 };

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

/**
 * Money as the page must show it: the API's Decimal string with its integer digits grouped by
 * threes and a ¥ in front; stripped of both, exactly the API's string.
 */
function expectMoney(shown: string, amount: string): void {
  expect(shown).toMatch(/^-?¥\d{1,3}(,\d{3})*(\.\d+)?$/);
  expect(shown.replace('¥', '').replaceAll(',', '')).toBe(amount);
}
function expectCount(shown: string, count: number): void {
  expect(shown).toMatch(/^\d{1,3}(,\d{3})*$/);
  expect(shown.replaceAll(',', '')).toBe(String(count));
}

const example = () => ({
  ...EXAMPLE,
  startTime: `${EXAMPLE.from}T00:00:00+08:00`,
  endTime: `${EXAMPLE.to}T23:59:59.999+08:00`,
});

async function rowsOf(page: Page, testId: string): Promise<string[][]> {
  return Promise.all(
    (await page.getByTestId(testId).all()).map((row) => row.locator('td').allInnerTexts()),
  );
}

describe('example dashboard', () => {
  it("reads its query from the page's own source", () => {
    expect(DASHBOARD_QUERY).toMatch(/^query Dashboard\(/);
    expect(DASHBOARD_QUERY).toContain('incomeSummary(');
  });

  it.each([
    { width: 360, height: 740 },
    { width: 390, height: 844 },
    { width: 1440, height: 900 },
  ])(
    'at $width px: shows the numbers the API answers, grouped, with a bar per day and no sideways scrolling',
    async (viewport) => {
      const answer = await stack.graphql<DashboardData>(DASHBOARD_QUERY, example());
      expect(answer.errors).toBeUndefined();
      const { incomeSummary: income, redPackSummary: packs, redPacks } = answer.data!.channel;
      // The example must have something to show, and a total big enough to need grouping.
      expect(income.count).toBeGreaterThan(0);
      expect(packs.count).toBeGreaterThan(0);
      expect(income.total.amount).toMatch(/^\d{4,}\./);

      const { page, offsiteRequests, problems } = await openWatchedPage(
        browser,
        stack.gateway.url,
        viewport,
      );
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
      expectMoney(await text('income-total'), income.total.amount);
      expectCount(await text('income-count'), income.count);
      expectCount(await text('redpack-count'), packs.count);
      expectMoney(await text('redpack-total'), packs.totalAmount.amount);
      expectMoney(await text('redpack-received'), packs.totalReceived.amount);
      expectCount(await text('redpack-receivers'), packs.receiverCount);

      // Our English names, with Polyv's labels beside them.
      for (const [testId, list] of [
        ['paytype-row', income.byPayType.map((row) => ({ ...row, value: row.payType }))],
        ['redpacktype-row', packs.byType.map((row) => ({ ...row, value: row.type }))],
      ] as const) {
        const rows = await rowsOf(page, testId);
        expect(rows.map((cells) => cells[0])).toEqual(
          list.map((row) => shownName(row.value, row.label)),
        );
        rows.forEach((cells, index) => {
          expectCount(cells[1]!, list[index]!.count);
          expectMoney(cells[2]!, list[index]!.amount.amount);
        });
      }
      const latest = await rowsOf(page, 'redpack-row');
      expect(latest).toHaveLength(redPacks.nodes.length);
      latest.forEach((cells, index) => {
        const pack = redPacks.nodes[index]!;
        expect(cells.slice(1, 3)).toEqual([
          shownName(pack.type, pack.typeLabel),
          pack.sender.nickname,
        ]);
        expectMoney(cells[3]!, pack.amount.amount);
        expectCount(cells[4]!, pack.receiveCount);
      });

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
      // This stack's cache is off, so the answer said no-store: the page falls back to a minute.
      await expect(page.locator('body').getAttribute('data-next-refresh')).resolves.toBe('60');

      // Nothing wider than the screen: the page never scrolls sideways.
      const widths = await page.evaluate(() => {
        const root = (
          globalThis as unknown as {
            document: { documentElement: { scrollWidth: number; clientWidth: number } };
          }
        ).document.documentElement;
        return { scroll: root.scrollWidth, client: root.clientWidth };
      });
      expect(widths.client).toBe(viewport.width);
      expect(widths.scroll).toBeLessThanOrEqual(widths.client);
      // Nor is any card cut off: no section hides content behind a sideways scroll of its own.
      const clipped = await page.evaluate(() => {
        type Box = { scrollWidth: number; clientWidth: number; id: string; className: string };
        const { document } = globalThis as unknown as {
          document: {
            querySelectorAll(
              selector: string,
            ): Iterable<Box & { querySelector(s: string): Box | null }>;
          };
        };
        return [...document.querySelectorAll('main section, .table-scroll')]
          .filter((box) => box.scrollWidth > box.clientWidth)
          .map((box) => `${box.className}: ${box.scrollWidth} > ${box.clientWidth}`);
      });
      expect(clipped).toEqual([]);

      await page.screenshot({
        path: `${TEST_OUTPUT}dashboard-${viewport.width}.png`,
        fullPage: true,
      });
      expect(offsiteRequests).toEqual([]);
      expect(problems).toEqual([]);
    },
  );

  it("sets preset ranges in China Standard Time, whatever the browser's clock zone", async () => {
    const { page, problems } = await openWatchedPage(browser, stack.gateway.url);
    // 17:30 UTC on 19 November is already 01:30 on the 20th in China.
    await page.clock.setFixedTime(new Date('2026-11-19T17:30:00Z'));
    const sent: { from: string; to: string; startTime: string; endTime: string }[] = [];
    page.on('request', (request) => {
      if (request.url().endsWith('/graphql'))
        sent.push((request.postDataJSON() as { variables: (typeof sent)[number] }).variables);
    });
    await page.goto(`${stack.gateway.url}/dashboard`);
    await page.locator('body[data-state="ready"]').waitFor();
    const presets = [
      ['Today', '2026-11-20', '2026-11-20'],
      ['7 days', '2026-11-14', '2026-11-20'],
      ['30 days', '2026-10-22', '2026-11-20'],
      ['This month', '2026-11-01', '2026-11-20'],
    ] as const;
    for (const [name, from, to] of presets) {
      const before = sent.length;
      await page.getByRole('button', { name, exact: true }).click();
      await page.locator('body[data-state="ready"]').waitFor();
      await expect(page.locator('input[name=from]').inputValue()).resolves.toBe(from);
      await expect(page.locator('input[name=to]').inputValue()).resolves.toBe(to);
      expect(sent.slice(before)).toEqual([
        expect.objectContaining({
          from,
          to,
          startTime: `${from}T00:00:00+08:00`,
          endTime: `${to}T23:59:59.999+08:00`,
        }),
      ]);
    }
    expect(problems).toEqual([]);
  });

  it('remembers the channels shown, newest first, and starts on the last one', async () => {
    const { page, problems } = await openWatchedPage(browser, stack.gateway.url);
    await page.goto(`${stack.gateway.url}/dashboard`);
    await page.locator('body[data-state="ready"]').waitFor();
    await page.locator('input[name=channel]').fill('2812611');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.locator('body[data-state="ready"]').waitFor();
    await expect(page.locator('#recent-list button').allInnerTexts()).resolves.toEqual([
      '2812611',
      EXAMPLE.channel,
    ]);

    // A new visit in the same browser starts where the last one ended.
    await page.reload();
    await page.locator('body[data-state="ready"]').waitFor();
    await expect(page.locator('input[name=channel]').inputValue()).resolves.toBe('2812611');
    // One click on a recent channel shows it.
    await page.locator('#recent-list button', { hasText: EXAMPLE.channel }).click();
    await page.locator('body[data-state="ready"]').waitFor();
    await expect(page.locator('input[name=channel]').inputValue()).resolves.toBe(EXAMPLE.channel);
    await expect(page.locator('#recent-list button').allInnerTexts()).resolves.toEqual([
      EXAMPLE.channel,
      '2812611',
    ]);
    expect(problems).toEqual([]);
  });

  it("refreshes by itself when the answer's max-age runs out, and not before", async () => {
    // The gateway's cache on: answers carry a max-age (with it off they say no-store).
    const cached = await startStack({ builtInEmulator: true, env: { GATEWAY_CACHE: 'on' } });
    try {
      await refreshesOnMaxAge(cached);
    } finally {
      await cached.close();
    }
  });

  async function refreshesOnMaxAge(stack: Stack) {
    const { page, problems } = await openWatchedPage(browser, stack.gateway.url);
    await page.clock.install({ time: new Date('2026-11-19T04:00:00Z') });
    const posts: string[] = [];
    page.on('request', (request) => {
      if (request.url().endsWith('/graphql')) posts.push(request.method());
    });
    const answered = page.waitForResponse((response) => response.url().endsWith('/graphql'));
    await page.goto(`${stack.gateway.url}/dashboard`);
    const first = await answered;
    await page.locator('body[data-state="ready"]').waitFor();
    const cacheControl = first.headers()['cache-control'] ?? '';
    const maxAge = Number(/max-age=(\d+)/.exec(cacheControl)?.[1]);
    const age = Number(first.headers()['age'] ?? 0);
    expect(maxAge).toBeGreaterThan(0);
    const due = Math.max(maxAge - age, 5);
    await expect(page.locator('body').getAttribute('data-next-refresh')).resolves.toBe(String(due));
    await expect(page.locator('#next-refresh').innerText()).resolves.toBe(
      `next refresh in ${due} s`,
    );

    // The page's clock is ours: one second short of due, nothing; at due, the second POST.
    await page.clock.runFor((due - 1) * 1000);
    await page.evaluate(() => new Promise((resolve) => setTimeout(resolve, 0)));
    expect(posts).toEqual(['POST']);
    const again = page.waitForRequest((request) => request.url().endsWith('/graphql'));
    await page.clock.runFor(1000);
    await again;
    expect(posts).toEqual(['POST', 'POST']);

    // Switched off, it stops.
    await page.locator('body[data-state="ready"]').waitFor();
    await page.getByLabel('Auto-refresh').uncheck();
    await expect(page.locator('body').getAttribute('data-next-refresh')).resolves.toBe('');
    expect(problems).toEqual([]);
  }

  it("speaks English: Chinese only as Polyv's labels beside our names (and in what viewers wrote)", async () => {
    const { page, problems } = await openWatchedPage(browser, stack.gateway.url, PHONE);
    await page.goto(`${stack.gateway.url}/dashboard`);
    await page.locator('body[data-state="ready"]').waitFor();
    const found = await page.evaluate((chinese) => {
      type Node = {
        nodeType: number;
        textContent: string | null;
        parentElement: { closest(selector: string): unknown } | null;
      };
      const { document } = globalThis as unknown as {
        document: {
          body: unknown;
          createTreeWalker(root: unknown, what: number): { nextNode(): Node | null };
          querySelectorAll(selector: string): Iterable<{ textContent: string }>;
        };
      };
      const pattern = new RegExp(chinese);
      const walker = document.createTreeWalker(document.body, 4 /* text */);
      const elsewhere: string[] = [];
      for (let node = walker.nextNode(); node; node = walker.nextNode()) {
        const text = node.textContent ?? '';
        // Polyv's labels, and the senders' nicknames (what viewers call themselves).
        const beside = node.parentElement?.closest('.polyv-label, #redpacks td:nth-child(3)');
        if (pattern.test(text) && !beside) elsewhere.push(text);
      }
      const names = [...document.querySelectorAll('.english-name')].map((name) => name.textContent);
      const labels = [...document.querySelectorAll('.polyv-label')].map(
        (label) => label.textContent,
      );
      return { elsewhere, names, labels };
    }, CHINESE.source);
    expect(found.elsewhere).toEqual([]);
    // Every name is English, every label beside one is Polyv's Chinese.
    expect(found.names.length).toBeGreaterThan(5);
    expect(found.names.length).toBe(found.labels.length);
    for (const name of found.names) expect(name).toMatch(/^(Other|[A-Z][a-z]+( [a-z]+)*)$/);
    for (const label of found.labels) expect(label).toMatch(CHINESE);
    expect(problems).toEqual([]);
  });

  it('dims the numbers of the last range under a form error, and says so', async () => {
    const { page, problems } = await openWatchedPage(browser, stack.gateway.url, PHONE);
    await page.goto(`${stack.gateway.url}/dashboard`);
    await page.locator('body[data-state="ready"]').waitFor();
    const opacity = () =>
      page.locator('#dashboard').evaluate((element) => {
        const { getComputedStyle } = globalThis as unknown as {
          getComputedStyle(element: unknown): { opacity: string };
        };
        return Number(getComputedStyle(element).opacity);
      });
    expect(await opacity()).toBe(1);
    await expect(page.getByTestId('stale-note').isHidden()).resolves.toBe(true);
    const before = await page.getByTestId('income-total').innerText();

    await page.locator('input[name=from]').fill('2026-11-19');
    await page.locator('input[name=to]').fill('2026-11-01');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.locator('body[data-state="error"]').waitFor();
    // The error in view; the old numbers still there, but dimmed and said to be old.
    const errors = page.getByTestId('errors');
    await expect(errors.innerText()).resolves.toBe('“From” must not be after “To”.');
    const box = (await errors.boundingBox())!;
    expect(box.y + box.height).toBeLessThanOrEqual(PHONE.height);
    await expect(page.getByTestId('income-total').innerText()).resolves.toBe(before);
    expect(await opacity()).toBeLessThanOrEqual(0.5);
    await expect(page.getByTestId('stale-note').innerText()).resolves.toMatch(
      /The numbers below, dimmed, are the last ones shown/,
    );
    await page.screenshot({ path: `${TEST_OUTPUT}dashboard-390-form-error.png` });

    // Fixed, the answer replaces them at full strength.
    await page.locator('input[name=to]').fill(EXAMPLE.to);
    await page.getByRole('button', { name: 'Show' }).click();
    await page.locator('body[data-state="ready"]').waitFor();
    expect(await opacity()).toBe(1);
    await expect(page.getByTestId('stale-note').isHidden()).resolves.toBe(true);
    await expect(errors.isHidden()).resolves.toBe(true);
    expect(problems).toEqual([]);
  });

  it("says what is wrong in the form's own words, not the API's argument names", async () => {
    const { page, offsiteRequests, problems } = await openWatchedPage(browser, stack.gateway.url);
    await page.goto(`${stack.gateway.url}/dashboard`);
    await page.locator('body[data-state="ready"]').waitFor();
    const posts: string[] = [];
    page.on('request', (request) => {
      if (request.url().endsWith('/graphql')) posts.push(request.method());
    });
    // A range that ends before it starts: caught by the page, no request sent.
    await page.locator('input[name=from]').fill('2026-11-19');
    await page.locator('input[name=to]').fill('2026-11-01');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.locator('body[data-state="error"]').waitFor();
    await expect(page.getByTestId('errors').innerText()).resolves.toBe(
      '“From” must not be after “To”.',
    );
    expect(posts).toEqual([]);

    // The API's own error, with its code, in the page's terms ($from and $startTime are From).
    await page.locator('input[name=from]').fill('1960-01-01');
    await page.getByRole('button', { name: 'Show' }).click();
    await page.locator('body[data-state="error"]').waitFor();
    const shown = await page.getByTestId('errors').innerText();
    // The API rejects the day as a Date and the instant as a DateTime: one field, said once.
    expect(shown).toBe(
      'BAD_USER_INPUT: “From” "1960-01-01": Date must be a real calendar day written yyyy-MM-dd; got "1960-01-01".',
    );
    expect(posts).toEqual(['POST']);
    expect(offsiteRequests).toEqual([]);
    // The browser itself reports the 400 of a rejected query; nothing else may go wrong.
    expect(problems.filter((problem) => !/status of 400/.test(problem))).toEqual([]);
  });

  it('names an unknown channel once, however many of its fields fail', async () => {
    const { page } = await openWatchedPage(browser, stack.gateway.url);
    await page.goto(`${stack.gateway.url}/dashboard`);
    await page.locator('body[data-state="ready"]').waitFor();
    const line =
      'UPSTREAM_ERROR: Polyv has no channel "99999" in this account: check the channel number (Polyv said "channel not found.").';
    // Twice: from its second run the query is compiled, and then every list of the channel
    // (the summary and the latest red packs) reports the same refusal.
    for (const run of ['first', 'again']) {
      await page.locator('input[name=channel]').fill('99999');
      const answered = page.waitForResponse((response) => response.url().endsWith('/graphql'));
      await page.getByRole('button', { name: 'Show' }).click();
      const body = (await (await answered).json()) as { errors: { message: string }[] };
      await page.locator('body[data-state="error"]').waitFor();
      expect([run, await page.getByTestId('errors').innerText()]).toEqual([run, line]);
      if (run === 'again') expect(body.errors.length).toBeGreaterThan(1);
    }
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
      // The key stays in the tab; the browser remembers only the channel shown.
      expect(storage).toEqual({
        session: [KEYS.finance],
        local: [JSON.stringify([EXAMPLE.channel])],
      });

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
