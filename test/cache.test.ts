/**
 * Caching in one process: the upstream page cache (TTL, single flight, only successes), the
 * whole-response cache, cache hints for routers and CDNs, fresh data on request, APQ, and the
 * byte bound. Upstream calls are counted at the emulator.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { bearer, KEYS, writeKeysFile } from './support/keys.js';
import { postGraphQL, startStack, type Stack } from './support/stack.js';

const DASHBOARD = `{ channel(id: "2812612") {
  redPacks(first: 5) { totalCount nodes { id amount { amount } receives { user { nickname } } } }
  incomeRecords(startDate: "2026-10-01", endDate: "2026-10-31", first: 5) { totalCount nodes { id } }
} }`;

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({
    env: { GATEWAY_CACHE: 'on', POLYV_CACHE_TTL_S: 'redPackStatistics=1,incomeDetail=60' },
  });
});
afterAll(() => stack.close());
beforeEach(() => {
  stack.emulator.resetCounters();
  stack.emulator.setLatency(0);
  stack.emulator.clearFaults();
});

const calls = (endpoint?: string) =>
  stack.emulator.calls.filter((call) => !endpoint || call.endpoint === endpoint).length;

describe('upstream page cache and response cache', () => {
  it('serves a repeated query from cache, with a Cache-Control header routers and CDNs can use', async () => {
    const first = await stack.graphql(
      `{ channel(id: "2812614") { redPacks(first: 2) { totalCount } } }`,
    );
    expect(first.data).toEqual({ channel: { redPacks: { totalCount: 5 } } });
    expect(first.headers.get('cache-control')).toBe('max-age=1, public');
    expect(calls()).toBe(1);
    const second = await stack.graphql(
      `{ channel(id: "2812614") { redPacks(first: 2) { totalCount } } }`,
    );
    expect(second.data).toEqual(first.data);
    expect(calls()).toBe(1);
  });

  it('reuses cached pages across different queries (a page cache, not only whole answers)', async () => {
    await stack.graphql(
      `{ channel(id: "2812612") { incomeRecords(startDate: "2026-09-01", endDate: "2026-09-30", first: 3) { totalCount } } }`,
    );
    const other = await stack.graphql(
      `{ incomeRecords(startDate: "2026-09-01", endDate: "2026-09-30", channelId: "2812612", first: 3) { nodes { id } } }`,
    );
    expect(other.errors).toBeUndefined();
    expect(calls('incomeDetail')).toBe(1);
  });

  it('fetches again once the TTL has passed, and hints the smallest TTL of what an answer holds', async () => {
    const both = await stack.graphql(DASHBOARD);
    expect(both.headers.get('cache-control')).toBe('max-age=1, public');
    expect(calls()).toBe(2);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    await stack.graphql(DASHBOARD);
    // Red packs (1 s) expired; income (60 s) did not.
    expect(calls('redPackStatistics')).toBe(2);
    expect(calls('incomeDetail')).toBe(1);
  });

  it.each([
    [
      'Query.incomeSummary',
      `{ incomeSummary(startDate: "2026-10-01", endDate: "2026-10-31", channelId: "2812612") { count } }`,
    ],
    [
      'Channel.incomeSummary',
      `{ channel(id: "2812612") { incomeSummary(startDate: "2026-10-01", endDate: "2026-10-31") { count } } }`,
    ],
    [
      'Query.incomeRecords',
      `{ incomeRecords(startDate: "2026-10-01", endDate: "2026-10-31", channelId: "2812612", first: 1) { totalCount } }`,
    ],
    [
      'Channel.incomeRecords',
      `{ channel(id: "2812612") { incomeRecords(startDate: "2026-10-01", endDate: "2026-10-31", first: 1) { totalCount } } }`,
    ],
  ])(
    '%s carries the income TTL as its hint, read from @cacheControl in the schema',
    async (_field, query) => {
      // Once a hand-kept list of root fields lacked incomeSummary: it answered no-store.
      const answer = await stack.graphql(query);
      expect(answer.errors).toBeUndefined();
      expect(answer.headers.get('cache-control')).toBe('max-age=60, public');
    },
  );

  it('coalesces concurrent requests for the same page into one upstream call', async () => {
    stack.emulator.setLatency(200);
    // Twenty different operations (so the response cache cannot answer) needing the same page:
    // income, whose 60 s TTL no slow machine outlasts, so every late request is a cache hit.
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, index) =>
        stack.graphql(
          `query Screen${index} { channel(id: "2812611") { incomeRecords(startDate: "2026-10-01", endDate: "2026-10-31", first: 7) { totalCount } } }`,
        ),
      ),
    );
    const totals = new Set(answers.map((answer) => JSON.stringify(answer.data)));
    expect(totals.size).toBe(1);
    expect(answers[0]!.errors).toBeUndefined();
    expect(calls('incomeDetail')).toBe(1);
    // Each request after the first was served without fetching: from the flight or the cache.
    expect(stack.emulator.maxInFlight).toBe(1);
  });

  it('gives fresh data on Cache-Control: no-cache, and refreshes the cache for everyone', async () => {
    const query = `{ channel(id: "2812614") { redPacks(first: 1) { totalCount } } }`;
    await stack.graphql(query);
    stack.emulator.insertRedPack('2812614');
    stack.emulator.resetCounters();
    expect((await stack.graphql(query)).data).toEqual({ channel: { redPacks: { totalCount: 5 } } });
    expect(calls()).toBe(0);
    const fresh = await stack.graphql(query, undefined, { 'cache-control': 'no-cache' });
    expect(fresh.data).toEqual({ channel: { redPacks: { totalCount: 6 } } });
    expect(calls()).toBe(1);
  });

  it('never caches failures', async () => {
    const query = `{ channel(id: "2812613") { redPacks(first: 3) { totalCount } } }`;
    stack.emulator.injectFaults('http500', 3);
    expect((await stack.graphql(query)).errors![0]!.extensions).toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
    });
    expect((await stack.graphql(query)).data).toEqual({ channel: { redPacks: { totalCount: 0 } } });
  });

  it('supports automatic persisted queries on the shared cache', async () => {
    const query = `{ channel(id: "2812614") { id } }`;
    const sha256Hash = createHash('sha256').update(query).digest('hex');
    const extensions = { persistedQuery: { version: 1, sha256Hash } };
    const send = (body: Record<string, unknown>) =>
      fetch(`${stack.gateway.url}/graphql`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      }).then(
        (response) =>
          response.json() as Promise<{
            data?: unknown;
            errors?: { extensions: { code: string } }[];
          }>,
      );
    expect((await send({ extensions })).errors![0]!.extensions.code).toBe(
      'PERSISTED_QUERY_NOT_FOUND',
    );
    expect((await send({ query, extensions })).data).toEqual({ channel: { id: '2812614' } });
    expect((await send({ extensions })).data).toEqual({ channel: { id: '2812614' } });
  });
});

describe('an answer is as old as its oldest page', () => {
  // Real time, a short TTL: a page of 2812613's red packs stays cached 4 s from its fetch.
  const TTL_S = 4;
  let aged: Stack;
  beforeAll(async () => {
    aged = await startStack({
      env: { GATEWAY_CACHE: 'on', POLYV_CACHE_TTL_S: `redPackStatistics=${TTL_S}` },
    });
  });
  afterAll(() => aged.close());

  /** Asks at a time no earlier than `at` (epoch ms): the answer and when it was asked. */
  async function askAt(at: number, query: string) {
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, at - Date.now())));
    const started = Date.now();
    const answer = await aged.graphql(query);
    return { answer, started, ended: Date.now() };
  }
  const upstreamCalls = () => aged.emulator.calls.length;

  it('says so with Age (max-age stays the TTL), on first answers and replays, and never replays past it', async () => {
    const PAGE = `{ channel(id: "2812613") { redPacks(first: 2) { totalCount } } }`;
    // Another document on the same page: not in the response cache, its page is.
    const SAME_PAGE = `{ channel(id: "2812613") { redPacks(first: 2) { nodes { id } } } }`;
    aged.emulator.resetCounters();

    const fetched = await askAt(0, PAGE);
    expect(upstreamCalls()).toBe(1);
    expect(fetched.answer.headers.get('cache-control')).toBe(`max-age=${TTL_S}, public`);
    expect(fetched.answer.headers.get('age')).toBe('0');
    // The page was fetched between these two instants: the bounds of every age below.
    const ageBetween = (asked: { started: number; ended: number }) => [
      Math.floor((asked.started - fetched.ended) / 1000),
      Math.floor((asked.ended - fetched.started) / 1000),
    ];

    // 2.5 s on, a first answer built on that page: as old as the page, not as the answer.
    const first = await askAt(fetched.ended + 2_500, SAME_PAGE);
    expect(upstreamCalls()).toBe(1);
    expect(first.answer.headers.get('cache-status')).toBeNull();
    expect(first.answer.headers.get('cache-control')).toBe(`max-age=${TTL_S}, public`);
    const [low, high] = ageBetween(first);
    expect(Number(first.answer.headers.get('age'))).toBeGreaterThanOrEqual(Math.max(low!, 2));
    expect(Number(first.answer.headers.get('age'))).toBeLessThanOrEqual(high!);

    // Replayed from the response cache, with the same max-age and Age still counted from the page.
    const replay = await askAt(fetched.ended + 3_000, SAME_PAGE);
    if (replay.ended - fetched.started < TTL_S * 1000) {
      expect(replay.answer.headers.get('cache-status')).toBe('polyv-graphql; hit');
      expect(replay.answer.headers.get('cache-control')).toBe(`max-age=${TTL_S}, public`);
      const [lowReplay, highReplay] = ageBetween(replay);
      expect(Number(replay.answer.headers.get('age'))).toBeGreaterThanOrEqual(lowReplay!);
      expect(Number(replay.answer.headers.get('age'))).toBeLessThanOrEqual(highReplay!);
    }

    // Past the page's TTL (though not past one counted from when the answer was stored, 2.5 s
    // after the page): not replayed, and built on the page fetched anew.
    const expired = await askAt(fetched.ended + TTL_S * 1000 + 100, SAME_PAGE);
    expect(expired.answer.headers.get('cache-status')).toBeNull();
    expect(upstreamCalls()).toBe(2);
    expect(expired.answer.headers.get('cache-control')).toBe(`max-age=${TTL_S}, public`);
    expect(expired.answer.headers.get('age')).toBe('0');
  });
});

describe('with API keys', () => {
  let keyed: Stack;
  beforeAll(async () => {
    keyed = await startStack({
      env: { GATEWAY_CACHE: 'on', GATEWAY_AUTH: 'on', GATEWAY_API_KEYS_FILE: writeKeysFile() },
    });
  });
  afterAll(() => keyed.close());

  it("marks answers private and never serves one key's cached answer to another", async () => {
    const query = `{ channel(id: "2812611") { redPacks(first: 2) { totalCount } } }`;
    const finance = await keyed.graphql(query, undefined, bearer(KEYS.finance));
    expect(finance.data).toEqual({ channel: { redPacks: { totalCount: 300 } } });
    expect(finance.headers.get('cache-control')).toBe('max-age=30, private');
    const ops = await keyed.graphql(query, undefined, bearer(KEYS.ops));
    expect(ops.errors![0]!.extensions).toEqual({ code: 'FORBIDDEN' });
  });
});

describe('bounded memory', () => {
  it('keeps the in-process cache within its byte bound', async () => {
    const small = await startStack({ env: { GATEWAY_CACHE: 'on', GATEWAY_CACHE_MAX_MB: '1' } });
    try {
      // 50 red packs with receives are about 130 kB of JSON (260 kB as a JS string): 12 pages
      // would hold over 3 MB, so the LRU has to evict.
      for (let page = 0; page < 12; page++) {
        const response = await postGraphQL(
          `${small.gateway.url}/graphql`,
          `{ channel(id: "2812610") { redPacks(first: ${50 + page}) { totalCount } } }`,
        );
        expect(response.errors).toBeUndefined();
      }
      const cache = small.gateway.pageCache!;
      expect(cache.localBytes).toBeGreaterThan(0);
      expect(cache.localBytes).toBeLessThanOrEqual(1024 * 1024);
    } finally {
      await small.close();
    }
  });
});
