/**
 * Connections over a list that changes while, or between, reads: cached pages from before new
 * records arrived beside newer ones are read again past the cache and the page is served; a
 * list that keeps changing is UPSTREAM_UNAVAILABLE with reason LIST_CHANGING. Real HTTP
 * throughout: gateway → (a forwarding proxy that adds records) → emulator.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { startEmulator, type PolyvEmulator } from '../emulator/index.js';
import { startStack, type Stack } from './support/stack.js';

const RED_PACKS = /* GraphQL */ `
  query RedPacks($channel: ID!, $first: Int, $after: String, $last: Int) {
    channel(id: $channel) {
      redPacks(first: $first, after: $after, last: $last) {
        totalCount
        pageInfo {
          endCursor
        }
        nodes {
          id
        }
      }
    }
  }
`;

interface Page {
  totalCount: number;
  pageInfo: { endCursor: string | null };
  nodes: { id: string }[];
}

const storeIds = (emulator: PolyvEmulator, channel: string) =>
  emulator.store.redPacks.get(channel)!.map((pack) => pack.redPackId);

describe('with the page cache holding pages from before new records arrived', () => {
  let stack: Stack;
  beforeAll(async () => {
    // A TTL far longer than the test, so cached pages are still there when they matter.
    stack = await startStack({
      env: { GATEWAY_CACHE: 'on', POLYV_CACHE_TTL_S: 'redPackStatistics=600' },
    });
  });
  afterAll(() => stack.close());

  it('serves the next 1,000 after a new red pack, neither repeating nor skipping', async () => {
    const channel = '2812610';
    const before = storeIds(stack.emulator, channel);
    const first = await stack.graphql<{ channel: { redPacks: Page } }>(RED_PACKS, {
      channel,
      first: 1000,
    });
    expect(first.data!.channel.redPacks.nodes.map((node) => node.id)).toEqual(
      before.slice(0, 1000),
    );
    stack.emulator.insertRedPack(channel);

    stack.emulator.resetCounters();
    // Reads [999, 2000): page 1 (size 1000) comes from the cache, total 3,500, page 2 from
    // Polyv, total 3,501. They disagree, so both are read again past the cache.
    const next = await stack.graphql<{ channel: { redPacks: Page } }>(RED_PACKS, {
      channel,
      first: 1000,
      after: first.data!.channel.redPacks.pageInfo.endCursor,
    });
    expect(next.errors).toBeUndefined();
    const page = next.data!.channel.redPacks;
    expect(page.nodes.map((node) => node.id)).toEqual(before.slice(1000, 2000));
    expect(page.totalCount).toBe(before.length + 1);
    // Page 2; pages 1 and 2 again, fresh; page 3 once the window has shifted by the new record.
    expect(stack.emulator.calls.length).toBe(4);
  });
});

/**
 * A stack whose Polyv adds a red pack to `channel` each time it has answered a red-pack call,
 * for as long as `adding()` says: between two reads of one request the list has changed.
 */
async function startChangingStack(channel: string, adding: () => boolean) {
  const emulator = await startEmulator({ port: 0 });
  const proxy: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      void (async () => {
        const answer = await fetch(`${emulator.url}${req.url ?? '/'}`, {
          method: req.method,
          headers: { 'content-type': req.headers['content-type'] ?? 'application/json' },
          body: chunks.length > 0 ? Buffer.concat(chunks) : undefined,
        });
        const body = Buffer.from(await answer.arrayBuffer());
        if (req.url?.includes('red-pack') && adding()) emulator.insertRedPack(channel);
        res.writeHead(answer.status, {
          'content-type': answer.headers.get('content-type') ?? 'application/json',
        });
        res.end(body);
      })();
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  const { port } = proxy.address() as AddressInfo;
  const stack = await startStack({
    sharedEmulator: emulator,
    env: { POLYV_BASE_URL: `http://127.0.0.1:${port}` },
  });
  return {
    stack,
    emulator,
    async close() {
      await stack.close();
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
      await emulator.close();
    },
  };
}

describe('with a list changing between the reads of one request', () => {
  // `last` without `before` reads the total (page 1, size 1), then the window: two reads in turn.
  const channel = '2812614';

  it('reads it again once and serves the list as it then is', async () => {
    let additions = 1;
    const changing = await startChangingStack(channel, () => additions-- > 0);
    try {
      const response = await changing.stack.graphql<{ channel: { redPacks: Page } }>(RED_PACKS, {
        channel,
        last: 3,
      });
      expect(response.errors).toBeUndefined();
      const ids = storeIds(changing.emulator, channel);
      expect(ids).toHaveLength(6);
      expect(response.data!.channel.redPacks).toMatchObject({
        totalCount: 6,
        nodes: ids.slice(-3).map((id) => ({ id })),
      });
      // Total and window, then both again.
      expect(changing.emulator.calls.length).toBe(4);
    } finally {
      await changing.close();
    }
  });

  it('answers UPSTREAM_UNAVAILABLE with reason LIST_CHANGING when it keeps changing', async () => {
    const changing = await startChangingStack(channel, () => true);
    try {
      const response = await changing.stack.graphql(RED_PACKS, { channel, last: 3 });
      expect(response.errors).toHaveLength(1);
      expect(response.errors![0]!.extensions).toEqual({
        code: 'UPSTREAM_UNAVAILABLE',
        reason: 'LIST_CHANGING',
      });
      // Two attempts, the second past the cache, then no more.
      expect(changing.emulator.calls.length).toBe(4);
    } finally {
      await changing.close();
    }
  });
});
