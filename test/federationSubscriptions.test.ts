/**
 * Federation for subscriptions, proven end to end: Hive Gateway (@graphql-hive/gateway-runtime,
 * a router that forwards subscriptions to the subgraph that owns them) composes our subgraph
 * with the catalog subgraph, subscribes to our `redPackEvents` over WebSocket or over SSE, and
 * resolves each event's `channel.title` from the catalog (an `_entities` call per event). Our
 * gateway polls the emulator, red packs are inserted there, and the events must come out of
 * the router with the catalog's field in them. Refusals must come out as coded errors.
 */
import diagnostics from 'node:diagnostics_channel';
import type { Socket } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { composeServices } from '@apollo/composition';
import type { ExecutionResult } from 'graphql';
import { createClient, type Client } from 'graphql-sse';
import { DEMO_CHANNELS } from '../emulator/index.js';
import { typeDefs } from '../src/schema/index.js';
import {
  catalogTypeDefs,
  startCatalogSubgraph,
  type CatalogSubgraph,
} from './support/catalogSubgraph.js';
import { startHiveGateway, type HiveGateway } from './support/hiveGateway.js';
import { startStack, type Stack } from './support/stack.js';

// The demo channel with a handful of red packs: our poller adds them all up before its first
// event, and the big one (3,500) would take seconds.
const CHANNEL = '2812614';
const TITLE = DEMO_CHANNELS.find((channel) => channel.channelId === CHANNEL)!.name;
/** How long one event may take: a poll interval (500 ms here), a Polyv page, two hops. */
const EVENT_WAIT_MS = 10_000;

/** Our field, and the catalog's on the entity our event returns. */
const EVENTS = /* GraphQL */ `
  subscription ($channelId: ID!) {
    redPackEvents(channelId: $channelId, recent: 1) {
      kind
      sequence
      redPack {
        id
        channel {
          id
          title
        }
      }
    }
  }
`;

/** What the client reads: JSON, typed as graphql-sse types it. */
type Result = ExecutionResult<{ redPackEvents: RedPackEvent }>;
interface RedPackEvent {
  kind: string;
  sequence: number;
  redPack: { id: string; channel: { id: string; title: string } };
}

let stack: Stack;
let catalog: CatalogSubgraph;
let supergraph: string;
/** What reached our gateway: WebSocket upgrades and event-stream requests. */
const reached = { upgrades: 0, eventStreams: 0 };
/** Where every outgoing TCP connection of this process went (hosts looked up, addresses tried). */
const destinations = new Set<string>();
const recordDestination = (message: unknown) => {
  const socket = (message as { socket: Socket }).socket;
  socket.on('lookup', (_error: unknown, _address: unknown, _family: unknown, host: string) =>
    destinations.add(host),
  );
  socket.on('connectionAttempt', (ip: string) => destinations.add(ip));
  socket.once('connect', () => destinations.add(socket.remoteAddress ?? '?'));
};

beforeAll(async () => {
  diagnostics.subscribe('net.client.socket', recordDestination);
  stack = await startStack({
    // Short polls and leases, so an event takes about a second.
    env: { GATEWAY_LIVE_POLL_MS: '500', GATEWAY_LIVE_LEASE_MS: '1500' },
  });
  catalog = await startCatalogSubgraph();
  const composition = composeServices([
    { name: 'polyv', typeDefs, url: `${stack.gateway.url}/graphql` },
    { name: 'catalog', typeDefs: catalogTypeDefs, url: catalog.url },
  ]);
  if (composition.errors) throw new Error(composition.errors.map(String).join('\n'));
  supergraph = composition.supergraphSdl;
  const server = stack.gateway.httpServer;
  server.on('upgrade', () => reached.upgrades++);
  // Before express, which rewrites the request as it routes it.
  server.prependListener('request', (request) => {
    if (request.headers.accept === 'text/event-stream') reached.eventStreams++;
  });
});
afterAll(async () => {
  await catalog?.stop();
  await stack?.close();
  diagnostics.unsubscribe('net.client.socket', recordDestination);
});
beforeEach(() => {
  reached.upgrades = 0;
  reached.eventStreams = 0;
  catalog.entityRequests.length = 0;
});

/** Reads a stream one result at a time, failing (not hanging) when none comes in time. */
function reader(iterable: AsyncIterable<Result>) {
  const iterator = iterable[Symbol.asyncIterator]();
  return {
    async next(what: string): Promise<Result> {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_resolve, reject) => {
        timer = setTimeout(
          () => reject(new Error(`no ${what} within ${EVENT_WAIT_MS} ms`)),
          EVENT_WAIT_MS,
        );
      });
      try {
        const result = await Promise.race([iterator.next(), timeout]);
        if (result.done) throw new Error(`the stream ended before ${what}`);
        return result.value;
      } finally {
        clearTimeout(timer);
      }
    },
    /** Whether the stream ends (within the wait) with nothing more. */
    async ends(): Promise<boolean> {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<'open'>((resolve) => {
        timer = setTimeout(() => resolve('open'), EVENT_WAIT_MS);
      });
      try {
        const result = await Promise.race([iterator.next(), timeout]);
        return result !== 'open' && result.done === true;
      } finally {
        clearTimeout(timer);
      }
    },
    close: () => iterator.return?.(),
  };
}

/** Our gateway's open subscriptions (its gauge, all fields). */
async function openSubscriptions(): Promise<number> {
  const { values } = await stack.gateway.metrics.liveSubscriptions.get();
  return values.reduce((sum, value) => sum + value.value, 0);
}

async function eventually(check: () => Promise<boolean>, ms = 5_000): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return check();
}

describe.each([
  {
    transport: 'ws' as const,
    name: 'WebSocket',
    // A refusal before execution is a graphql-ws `error` message; Hive Gateway's WebSocket
    // executor loses it (an "Unexpected error." without our code). Over SSE it is a result.
    refusalCode: 'INTERNAL_SERVER_ERROR',
  },
  { transport: 'sse' as const, name: 'SSE', refusalCode: 'QUERY_LIMIT_EXCEEDED' },
])('Hive Gateway subscribing to us over $name', ({ transport, refusalCode }) => {
  let router: HiveGateway;
  let client: Client;
  beforeAll(async () => {
    router = await startHiveGateway(supergraph, 'polyv', transport);
    // The client speaks GraphQL over SSE to the router (distinct connections).
    client = createClient({ url: router.url, retryAttempts: 0 });
  });
  afterAll(async () => {
    client?.dispose();
    await router?.close();
  });

  it("delivers each CREATED red pack with the catalog's title, one catalog call per event", async () => {
    const newest = stack.emulator.store.redPacks.get(CHANNEL)![0]!.redPackId;
    const events = reader(client.iterate({ query: EVENTS, variables: { channelId: CHANNEL } }));
    try {
      const channel = { id: CHANNEL, title: TITLE };
      // The SNAPSHOT comes once our poller has seen the channel: from then on, a red pack
      // inserted is a CREATED event.
      const snapshot = await events.next('SNAPSHOT');
      expect(snapshot.errors).toBeUndefined();
      const start = snapshot.data!.redPackEvents.sequence;
      expect(snapshot.data).toEqual({
        redPackEvents: { kind: 'SNAPSHOT', sequence: start, redPack: { id: newest, channel } },
      });

      const inserted: string[] = [];
      for (const [index, what] of ['first', 'second'].entries()) {
        inserted.push(stack.emulator.insertRedPack(CHANNEL).redPackId);
        const created = await events.next(`CREATED event for the ${what} red pack`);
        expect(created).toEqual({
          data: {
            redPackEvents: {
              kind: 'CREATED',
              sequence: start + index + 1,
              redPack: { id: inserted[index], channel },
            },
          },
        });
      }

      // The router asked the catalog once per event, for that event's channel.
      const representation = { __typename: 'Channel', id: CHANNEL };
      expect(catalog.entityRequests).toEqual([
        [representation],
        [representation],
        [representation],
      ]);
      // Over the transport configured, and only it.
      if (transport === 'ws') {
        expect(reached.upgrades).toBe(1);
        expect(reached.eventStreams).toBe(0);
      } else {
        expect(reached.upgrades).toBe(0);
        expect(reached.eventStreams).toBe(1);
      }
    } finally {
      await events.close();
    }
    // The client left: the router ended its subscription to us.
    expect(await eventually(async () => (await openSubscriptions()) === 0)).toBe(true);
  });

  it('passes a bad argument through as BAD_USER_INPUT, and ends the stream', async () => {
    const events = reader(
      client.iterate({ query: `subscription { redPackEvents(channelId: "abc") { kind } }` }),
    );
    const result = await events.next('the error');
    expect(result.data ?? null).toBeNull();
    expect(result.errors).toEqual([
      expect.objectContaining({
        path: ['redPackEvents'],
        extensions: expect.objectContaining({ code: 'BAD_USER_INPUT', argument: 'channelId' }),
      }),
    ]);
    expect(await events.ends()).toBe(true);
    expect(catalog.entityRequests).toEqual([]);
  });

  it('ends a subscription we refuse (fields that would call Polyv) with an error, not events', async () => {
    const events = reader(
      client.iterate({
        query: `subscription { redPackEvents(channelId: "${CHANNEL}") { redPack { channel { title redPacks(first: 1) { totalCount } } } } }`,
      }),
    );
    const result = await events.next('the refusal');
    expect(result.data ?? null).toBeNull();
    expect(result.errors).toEqual([
      expect.objectContaining({ extensions: expect.objectContaining({ code: refusalCode }) }),
    ]);
    expect(await events.ends()).toBe(true);
    expect(await openSubscriptions()).toBe(0);
  });
});

describe('our subgraph, directly', () => {
  it('answers a subscription it refuses over SSE with its coded error on the stream', async () => {
    // graphql-sse once answered this 400 "Unable to detect operation AST", losing our error.
    const client = createClient({ url: `${stack.gateway.url}/graphql`, retryAttempts: 0 });
    try {
      const events = reader(
        client.iterate({
          query: `subscription { redPackEvents(channelId: "${CHANNEL}") { redPack { channel { redPacks(first: 1) { totalCount } } } } }`,
        }),
      );
      const result = await events.next('the refusal');
      expect(result).toEqual({
        errors: [
          expect.objectContaining({
            extensions: expect.objectContaining({
              code: 'QUERY_LIMIT_EXCEEDED',
              limit: 'upstreamCalls',
            }),
          }),
        ],
      });
      expect(await events.ends()).toBe(true);
    } finally {
      client.dispose();
    }
  });
});

describe('the network', () => {
  it('was loopback only: Hive Gateway fetched no schema and reported no usage', () => {
    expect(destinations.size).toBeGreaterThan(0);
    expect(
      [...destinations].filter((host) => !/^(127\.\d+\.\d+\.\d+|::1|localhost)$/.test(host)),
    ).toEqual([]);
  });
});
