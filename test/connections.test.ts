/**
 * Cursor connections end to end: GraphQL over HTTP → gateway → emulator. Expected records come
 * from the emulator's own store; upstream calls are counted at the emulator.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { startStack, type Stack } from './support/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack.close());
beforeEach(() => stack.emulator.resetCounters());

interface Page {
  totalCount: number;
  pageInfo: {
    hasNextPage: boolean;
    hasPreviousPage: boolean;
    startCursor: string | null;
    endCursor: string | null;
  };
  edges: { cursor: string; node: { id: string } }[];
  nodes: { id: string }[];
}

const RED_PACKS = /* GraphQL */ `
  query RedPacks(
    $channel: ID!
    $first: Int
    $after: String
    $last: Int
    $before: String
    $sessionId: ID
    $startTime: DateTime
    $endTime: DateTime
  ) {
    channel(id: $channel) {
      redPacks(
        first: $first
        after: $after
        last: $last
        before: $before
        sessionId: $sessionId
        startTime: $startTime
        endTime: $endTime
      ) {
        totalCount
        pageInfo {
          hasNextPage
          hasPreviousPage
          startCursor
          endCursor
        }
        edges {
          cursor
          node {
            id
          }
        }
        nodes {
          id
        }
      }
    }
  }
`;

const INCOME = /* GraphQL */ `
  query Income(
    $startDate: Date!
    $endDate: Date!
    $channelId: ID
    $first: Int
    $after: String
    $last: Int
    $before: String
  ) {
    incomeRecords(
      startDate: $startDate
      endDate: $endDate
      channelId: $channelId
      first: $first
      after: $after
      last: $last
      before: $before
    ) {
      totalCount
      pageInfo {
        hasNextPage
        hasPreviousPage
        startCursor
        endCursor
      }
      edges {
        cursor
        node {
          id
        }
      }
      nodes {
        id
      }
    }
  }
`;

/**
 * Distinct pages asked of Polyv: the planner's promise. A retry of the same page (an attempt that
 * timed out on a starved machine) is the retry policy's business, not another page.
 */
const upstreamCalls = () =>
  new Set(
    stack.emulator.calls.map(({ endpoint, params: { timestamp: _t, ...page } }) =>
      JSON.stringify([endpoint, page]),
    ),
  ).size;

async function redPacks(channel: string, args: Record<string, unknown> = {}) {
  const response = await stack.graphql<{ channel: { redPacks: Page } }>(RED_PACKS, {
    channel,
    ...args,
  });
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data!.channel.redPacks;
}

async function redPackErrors(channel: string, args: Record<string, unknown>) {
  const response = await stack.graphql(RED_PACKS, { channel, ...args });
  expect(response.errors).toBeDefined();
  return response.errors!;
}

const idsOf = (page: Page) => page.edges.map((edge) => edge.node.id);
const storeIds = (channel: string) =>
  stack.emulator.store.redPacks.get(channel)!.map((pack) => pack.redPackId);

describe('red-pack connection windows', () => {
  it('defaults to the first 20, newest first, in one upstream call', async () => {
    const page = await redPacks('2812610');
    expect(idsOf(page)).toEqual(storeIds('2812610').slice(0, 20));
    expect(page.nodes.map((node) => node.id)).toEqual(idsOf(page));
    expect(page.totalCount).toBe(3500);
    expect(page.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: false });
    expect(page.pageInfo.startCursor).toBe(page.edges[0]!.cursor);
    expect(page.pageInfo.endCursor).toBe(page.edges[19]!.cursor);
    expect(upstreamCalls()).toBe(1);
    expect(stack.emulator.calls[0]!.params).toMatchObject({ pageNumber: '1', pageSize: '20' });
  });

  it('answers first: 0 with no edges but the total, in one call', async () => {
    const page = await redPacks('2812610', { first: 0 });
    expect(page.edges).toEqual([]);
    expect(page.totalCount).toBe(3500);
    expect(page.pageInfo).toEqual({
      hasNextPage: true,
      hasPreviousPage: false,
      startCursor: null,
      endCursor: null,
    });
    expect(upstreamCalls()).toBe(1);
  });

  it('serves first: 1000 with one upstream call', async () => {
    const page = await redPacks('2812610', { first: 1000 });
    expect(idsOf(page)).toEqual(storeIds('2812610').slice(0, 1000));
    expect(upstreamCalls()).toBe(1);
  });

  it.each([
    // [cursor position, first]: windows crossing the 1000-record upstream page boundary
    [989, 20],
    [998, 5],
    [999, 1000],
    [1499, 1000],
    [2490, 1000],
  ])(
    'after the record at %p, first: %p costs at most 2 calls and is exact',
    async (position, first) => {
      const after = await cursorAt('2812610', position);
      stack.emulator.resetCounters();
      const page = await redPacks('2812610', { first, after });
      const all = storeIds('2812610');
      expect(idsOf(page)).toEqual(all.slice(position + 1, position + 1 + first));
      expect(page.pageInfo.hasPreviousPage).toBe(true);
      expect(page.pageInfo.hasNextPage).toBe(position + 1 + first < all.length);
      expect(upstreamCalls()).toBeLessThanOrEqual(2);
    },
  );

  it('pages forward through every record with no duplicate and no gap', async () => {
    const seen: string[] = [];
    let after: string | undefined;
    let requests = 0;
    for (;;) {
      stack.emulator.resetCounters();
      const page = await redPacks('2812610', { first: 1000, after });
      expect(upstreamCalls()).toBeLessThanOrEqual(2);
      requests++;
      seen.push(...idsOf(page));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor!;
    }
    expect(requests).toBe(4);
    expect(seen).toEqual(storeIds('2812610'));
  });

  it('pages backward from the end through every record with no duplicate and no gap', async () => {
    const seen: string[] = [];
    let before: string | undefined;
    for (;;) {
      stack.emulator.resetCounters();
      const page = await redPacks('2812611', { last: 45, before });
      // `last` without `before` learns the total with one extra call.
      expect(upstreamCalls()).toBeLessThanOrEqual(before ? 2 : 3);
      seen.unshift(...idsOf(page));
      if (!page.pageInfo.hasPreviousPage) break;
      before = page.pageInfo.startCursor!;
    }
    expect(seen).toEqual(storeIds('2812611'));
  });

  it('pages with small odd windows in both directions', async () => {
    const all = storeIds('2812612');
    const forward: string[] = [];
    let page = await redPacks('2812612', { first: 7 });
    forward.push(...idsOf(page));
    while (page.pageInfo.hasNextPage) {
      page = await redPacks('2812612', { first: 7, after: page.pageInfo.endCursor });
      forward.push(...idsOf(page));
    }
    expect(forward).toEqual(all);
    // And back again from the last cursor.
    const backward: string[] = [];
    let back = await redPacks('2812612', { last: 7, before: page.pageInfo.endCursor });
    backward.unshift(...idsOf(back));
    while (back.pageInfo.hasPreviousPage) {
      back = await redPacks('2812612', { last: 7, before: back.pageInfo.startCursor });
      backward.unshift(...idsOf(back));
    }
    expect(backward).toEqual(all.slice(0, -1));
  });

  it('returns the last records with last and no cursor', async () => {
    const page = await redPacks('2812610', { last: 3 });
    expect(idsOf(page)).toEqual(storeIds('2812610').slice(-3));
    expect(page.pageInfo).toMatchObject({ hasNextPage: false, hasPreviousPage: true });
    expect(upstreamCalls()).toBeLessThanOrEqual(2);
  });

  it('applies first then last when both are given (Relay algorithm)', async () => {
    const page = await redPacks('2812610', { first: 10, last: 3 });
    expect(idsOf(page)).toEqual(storeIds('2812610').slice(7, 10));
    expect(page.pageInfo).toMatchObject({ hasNextPage: true, hasPreviousPage: true });
  });

  it('returns what lies between after and before, and nothing when they cross', async () => {
    const after = await cursorAt('2812610', 10);
    const before = await cursorAt('2812610', 15);
    expect(idsOf(await redPacks('2812610', { after, before }))).toEqual(
      storeIds('2812610').slice(11, 15),
    );
    const crossed = await redPacks('2812610', { after: before, before: after });
    expect(crossed.edges).toEqual([]);
  });

  it('returns nothing past the end', async () => {
    const last = await cursorAt('2812614', 4);
    const page = await redPacks('2812614', { first: 10, after: last });
    expect(page.edges).toEqual([]);
    expect(page.totalCount).toBe(5);
    expect(page.pageInfo).toMatchObject({
      hasNextPage: false,
      hasPreviousPage: true,
      startCursor: null,
      endCursor: null,
    });
  });

  it('handles an empty list', async () => {
    for (const args of [{}, { last: 5 }, { first: 0 }]) {
      const page = await redPacks('2812613', args);
      expect(page).toEqual({
        totalCount: 0,
        edges: [],
        nodes: [],
        pageInfo: {
          hasNextPage: false,
          hasPreviousPage: false,
          startCursor: null,
          endCursor: null,
        },
      });
    }
  });

  it('applies filters: session and time range', async () => {
    const all = stack.emulator.store.redPacks.get('2812610')!;
    const session = all[0]!.channelSessionId;
    const bySession = await redPacks('2812610', { sessionId: session, first: 1000 });
    expect(idsOf(bySession)).toEqual(
      all
        .filter((pack) => pack.channelSessionId === session)
        .map((pack) => pack.redPackId)
        .slice(0, 1000),
    );
    const start = all[200]!.createdTime;
    const end = all[100]!.createdTime;
    const byTime = await redPacks('2812610', {
      startTime: new Date(start).toISOString(),
      endTime: new Date(end).toISOString(),
      first: 1000,
    });
    const expected = all
      .filter((pack) => pack.createdTime >= start && pack.createdTime <= end)
      .map((pack) => pack.redPackId);
    expect(idsOf(byTime)).toEqual(expected);
    expect(byTime.totalCount).toBe(expected.length);
  });
});

describe('cursor and argument validation', () => {
  it.each([
    [{ first: -1 }, 'first', /whole number from 0 to 1000/],
    [{ last: -5 }, 'last', /whole number from 0 to 1000/],
    [{ first: 1001 }, 'first', /at most 1000/],
    [{ last: 5000 }, 'last', /at most 1000/],
    [{ after: 'garbage' }, 'after', /not a valid cursor/],
    [{ before: 'eyJub3QiOiJvdXJzIn0' }, 'before', /not a valid cursor/],
    [{ sessionId: 'a b c' }, 'sessionId', /session id/],
    [
      { startTime: '2026-10-02T00:00:00Z', endTime: '2026-10-01T00:00:00Z' },
      'startTime',
      /must not be after/,
    ],
  ])(
    'rejects %j as BAD_USER_INPUT naming %s, before any upstream call',
    async (args, argument, message) => {
      const [error] = await redPackErrors('2812610', args);
      expect(error!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument });
      expect(error!.message).toMatch(message);
      expect(upstreamCalls()).toBe(0);
    },
  );

  it.each([['2026-10-01'], ['1633017600000'], ['yesterday']])(
    'rejects the DateTime %p',
    async (startTime) => {
      const [error] = await redPackErrors('2812610', { startTime });
      expect(error!.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
      expect(error!.message).toMatch(/DateTime/);
    },
  );

  it('rejects a forged cursor whose position no list can reach, before any upstream call', async () => {
    const real = await cursorAt('2812610', 3);
    const fields = JSON.parse(Buffer.from(real, 'base64url').toString('utf8')) as unknown[];
    fields[2] = Number.MAX_SAFE_INTEGER;
    const forged = Buffer.from(JSON.stringify(fields)).toString('base64url');
    stack.emulator.resetCounters();
    const [error] = await redPackErrors('2812610', { before: forged });
    expect(error!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'before' });
    expect(upstreamCalls()).toBe(0);
  });

  it('rejects a cursor from another channel', async () => {
    const foreign = await cursorAt('2812611', 3);
    const [error] = await redPackErrors('2812610', { after: foreign });
    expect(error!.extensions).toMatchObject({ code: 'BAD_USER_INPUT', argument: 'after' });
    expect(error!.message).toMatch(/different list/);
  });

  it('rejects a cursor from the same channel with another filter', async () => {
    const session = stack.emulator.store.redPacks.get('2812610')![0]!.channelSessionId;
    const filtered = (await redPacks('2812610', { sessionId: session, first: 2 })).pageInfo
      .endCursor;
    const [error] = await redPackErrors('2812610', { after: filtered });
    expect(error!.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
  });

  it('rejects a red-pack cursor on the income connection', async () => {
    const cursor = await cursorAt('2812610', 0);
    const response = await stack.graphql(INCOME, {
      startDate: '2026-08-01',
      endDate: '2026-11-30',
      after: cursor,
    });
    expect(response.errors![0]!.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      argument: 'after',
    });
  });
});

describe('records arriving at the head between requests', () => {
  it('pages on after an insertion with no repeat and no skip', async () => {
    const channel = '2812611';
    const before = storeIds(channel);
    const first = await redPacks(channel, { first: 10 });
    expect(idsOf(first)).toEqual(before.slice(0, 10));
    const inserted = [
      stack.emulator.insertRedPack(channel),
      stack.emulator.insertRedPack(channel),
      stack.emulator.insertRedPack(channel),
    ];
    expect(storeIds(channel).slice(0, 3)).toEqual(inserted.map((pack) => pack.redPackId).reverse());

    stack.emulator.resetCounters();
    const second = await redPacks(channel, { first: 10, after: first.pageInfo.endCursor });
    expect(idsOf(second)).toEqual(before.slice(10, 20));
    expect(second.totalCount).toBe(before.length + 3);
    // One read at the old position, one at the shifted position.
    expect(upstreamCalls()).toBeLessThanOrEqual(3);

    // Paging backward from the first page's start now shows exactly the new records.
    const newer = await redPacks(channel, { last: 10, before: first.pageInfo.startCursor });
    expect(idsOf(newer)).toEqual(inserted.map((pack) => pack.redPackId).reverse());
    expect(newer.pageInfo.hasPreviousPage).toBe(false);
  });

  it('rejects a cursor whose record is gone with STALE_CURSOR rather than a wrong page', async () => {
    const channel = '2812612';
    const page = await redPacks(channel, { first: 5 });
    // Remove the cursor's own record from Polyv's list.
    const list = stack.emulator.store.redPacks.get(channel)!;
    const removed = list.splice(4, 1);
    try {
      const [error] = await redPackErrors(channel, { first: 5, after: page.pageInfo.endCursor });
      expect(error!.extensions).toMatchObject({ code: 'STALE_CURSOR', argument: 'after' });
    } finally {
      list.splice(4, 0, ...removed);
    }
  });
});

describe('income connection', () => {
  const all = () => stack.emulator.store.income;

  it('pages through all income of the account with no duplicate and no gap', async () => {
    const seen: string[] = [];
    let after: string | undefined;
    for (;;) {
      const response = await stack.graphql<{ incomeRecords: Page }>(INCOME, {
        startDate: '2026-01-01',
        endDate: '2026-12-31',
        first: 100,
        after,
      });
      const page = response.data!.incomeRecords;
      seen.push(...idsOf(page));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor!;
    }
    expect(seen).toEqual(all().map((record) => record.outTradeNo));
  });

  it('counts CST days, both ends included, and filters by channel', async () => {
    const response = await stack.graphql<{ incomeRecords: Page }>(INCOME, {
      startDate: '2026-10-02',
      endDate: '2026-10-02',
      channelId: '2812611',
      first: 1000,
    });
    const dayStart = Date.parse('2026-10-02T00:00:00+08:00');
    const dayEnd = Date.parse('2026-10-03T00:00:00+08:00');
    const expected = all()
      .filter(
        (record) =>
          record.channelId === '2812611' && record.payTime >= dayStart && record.payTime < dayEnd,
      )
      .map((record) => record.outTradeNo);
    expect(expected.length).toBeGreaterThan(0);
    expect(idsOf(response.data!.incomeRecords)).toEqual(expected);
  });

  it.each([
    [{ startDate: '2026-10-02', endDate: '2026-10-01' }, /must not be after/],
    [{ startDate: '2026-02-30', endDate: '2026-03-01' }, /real calendar day/],
    [{ startDate: '2026/10/01', endDate: '2026-10-02' }, /real calendar day/],
    [{ startDate: '0000-01-01', endDate: '0000-01-02' }, /real calendar day/],
    [{ startDate: '2026-10-01', endDate: '2026-10-02', channelId: 'abc' }, /channel number/],
  ])('rejects %j as BAD_USER_INPUT', async (args, message) => {
    const response = await stack.graphql(INCOME, args);
    expect(response.errors![0]!.extensions).toMatchObject({ code: 'BAD_USER_INPUT' });
    expect(response.errors![0]!.message).toMatch(message);
    expect(upstreamCalls()).toBe(0);
  });
});

/** The cursor of the record at a position of a channel's red-pack list, paging there 1000 at a time. */
async function cursorAt(channel: string, position: number): Promise<string> {
  const after = position >= 1000 ? await cursorAt(channel, position - 1000) : undefined;
  const page = await redPacks(channel, { first: Math.min(position + 1, 1000), after });
  return page.edges.at(-1)!.cursor;
}
