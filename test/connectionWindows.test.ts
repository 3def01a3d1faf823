/**
 * Connection windows over real HTTP (gateway → emulator) equal graphql-relay's
 * `connectionFromArray` over the whole list, fetched once, and pageInfo follows the spec
 * (oracles in support/relay.ts). The pure window is tested the same way in relayWindow.test.ts,
 * thousands of times; here a few hundred seeded windows check the reading around it: cursors,
 * totals learnt on the way, windows crossing Polyv's pages.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { relayEdges, specPageInfo, type WindowQuery } from './support/relay.js';
import { startStack, type Stack } from './support/stack.js';

const CONNECTION = /* GraphQL */ `
  query Window($channel: ID!, $first: Int, $after: String, $last: Int, $before: String) {
    channel(id: $channel) {
      redPacks(first: $first, after: $after, last: $last, before: $before) {
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
      }
    }
  }
`;

interface Page {
  totalCount: number;
  pageInfo: {
    hasNextPage: boolean;
    hasPreviousPage: boolean;
    startCursor: string | null;
    endCursor: string | null;
  };
  edges: { cursor: string; node: { id: string } }[];
}

/** A channel's whole list as the gateway serves it: ids and cursors by position. */
interface FullList {
  channel: string;
  ids: string[];
  cursors: string[];
}

let stack: Stack;
const lists = new Map<string, FullList>();

beforeAll(async () => {
  stack = await startStack();
  for (const channel of ['2812612', '2812610']) lists.set(channel, await fullList(channel));
});
afterAll(() => stack.close());

async function window(channel: string, variables: Record<string, unknown>): Promise<Page> {
  const response = await stack.graphql<{ channel: { redPacks: Page } }>(CONNECTION, {
    channel,
    ...variables,
  });
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  return response.data!.channel.redPacks;
}

async function fullList(channel: string): Promise<FullList> {
  const ids: string[] = [];
  const cursors: string[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await window(channel, { first: 1000, after });
    for (const edge of page.edges) {
      ids.push(edge.node.id);
      cursors.push(edge.cursor);
    }
    if (!page.pageInfo.hasNextPage) break;
    after = page.pageInfo.endCursor!;
  }
  // Against the emulator's own store, so the oracle's list is the real one.
  expect(ids).toEqual(stack.emulator.store.redPacks.get(channel)!.map((pack) => pack.redPackId));
  return { channel, ids, cursors };
}

/** Asks the gateway for a window given as positions, and checks it against the oracles. */
async function expectRelayWindow(list: FullList, query: WindowQuery): Promise<void> {
  const page = await window(list.channel, {
    first: query.first,
    last: query.last,
    after: query.after === undefined ? undefined : list.cursors[query.after],
    before: query.before === undefined ? undefined : list.cursors[query.before],
  });
  const positions = relayEdges(list.ids.length, query);
  const context = JSON.stringify(query);
  expect({ context, ids: page.edges.map((edge) => edge.node.id) }).toEqual({
    context,
    ids: positions.map((position) => list.ids[position]),
  });
  // A cursor names its record: the same cursor the full read gave for that position.
  expect(page.edges.map((edge) => edge.cursor)).toEqual(
    positions.map((position) => list.cursors[position]),
  );
  expect({ context, ...page.pageInfo }).toEqual({
    context,
    ...specPageInfo(list.ids.length, query),
    startCursor: page.edges[0]?.cursor ?? null,
    endCursor: page.edges.at(-1)?.cursor ?? null,
  });
  expect(page.totalCount).toBe(list.ids.length);
}

describe('relay windows over HTTP', () => {
  it.each<[string, string, WindowQuery, [number, number]]>([
    // [case, channel, arguments, positions [from, to) graphql-relay returns]
    ['first: 50, last: 5 over 40 red packs', '2812612', { first: 50, last: 5 }, [35, 40]],
    ['first: 41, last: 5 over 40 red packs', '2812612', { first: 41, last: 5 }, [35, 40]],
    [
      'first: 999, last: 20, after #2698 over 3,500',
      '2812610',
      { first: 999, last: 20, after: 2698 },
      [3480, 3500],
    ],
  ])('%s', async (_name, channel, query, [from, to]) => {
    const list = lists.get(channel)!;
    expect(relayEdges(list.ids.length, query)).toEqual(
      Array.from({ length: to - from }, (_, index) => from + index),
    );
    await expectRelayWindow(list, query);
  });

  /** Counts 0 to 1000 (the gateway's limit), biased to the list's length and its neighbours. */
  const count = (length: number) =>
    fc.option(
      fc.oneof(
        fc.constantFrom(...[0, 1, length - 1, length, length + 1].filter((n) => n <= 1000)),
        fc.nat(60),
        fc.nat(1000),
      ),
      { nil: undefined },
    );
  const position = (length: number) => fc.option(fc.nat(length - 1), { nil: undefined });
  const queries = (length: number) =>
    fc.record({
      first: count(length),
      last: count(length),
      after: position(length),
      before: position(length),
    });

  it.each([
    ['2812612', 0x5eed_0a11, 200],
    ['2812610', 0x5eed_0a12, 150],
  ])(
    'random windows over %s equal connectionFromArray (seed %p, %p windows)',
    async (channel, seed, numRuns) => {
      const list = lists.get(channel)!;
      const samples = fc.sample(queries(list.ids.length), { seed, numRuns });
      for (const query of samples) await expectRelayWindow(list, query);
    },
  );
});
