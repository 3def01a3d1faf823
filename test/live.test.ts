/**
 * Live updates (issue 14) against real servers: gateways on one emulator, sharing a real Redis,
 * with real clients of both transports (graphql-ws over `ws`, graphql-sse over fetch). What is
 * asserted is what a dashboard and Polyv see: each red pack arrives once, in order and in time,
 * on every subscriber; Polyv is asked about once per interval whatever the audience; a dead
 * poller is replaced without a gap; keys, limits, slow readers and failures are handled.
 */
import { once } from 'node:events';
import { createServer } from 'node:net';
import { runInNewContext } from 'node:vm';
import v8 from 'node:v8';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { createClient as createSseClient, type Client as SseClient } from 'graphql-sse';
import { createClient as createWsClient, type Client as WsClient } from 'graphql-ws';
import { Redis } from 'ioredis';
import { WebSocket } from 'ws';
import { startEmulator, type PolyvEmulator } from '../emulator/index.js';
import { bearer, KEYS, writeKeysFile } from './support/keys.js';
import { expectNoLeaks, secretsOf } from './support/leaks.js';
import { polyvEnv, startProcess, stopProcess } from './support/process.js';
import { requireSharedRedis, SHARED_REDIS_URL, uniquePrefix } from './support/redis.js';
import { startStack, type Stack } from './support/stack.js';

/** Short intervals so that the file runs in well under two minutes; LEASE_MS is 3 × POLL_MS. */
const POLL_MS = 500;
const LEASE_MS = 1_500;
/** 40 red packs: the totals walk is one page. */
const CHANNEL = '2812612';
/** 5 red packs, and none: a burst and big red packs are the only ones there. */
const SMALL_CHANNEL = '2812614';
const EMPTY_CHANNEL = '2812613';
/** The one channel KEYS.ops may read. */
const OPS_CHANNEL = '2812610';

const EVENTS = `subscription Events($channelId: ID!, $recent: Int) {
  redPackEvents(channelId: $channelId, recent: $recent) { kind sequence observedAt redPack { id } }
}`;

/** Speed limits tests do not test: many clients from one address, polls of several channels. */
const UNLIMITED = {
  GATEWAY_RATE_PER_SECOND: '100000',
  GATEWAY_RATE_BURST: '100000',
  POLYV_RATE_PER_SECOND: '1000',
  POLYV_RATE_BURST: '1000',
  GATEWAY_LIVE_POLL_MS: String(POLL_MS),
  GATEWAY_LIVE_LEASE_MS: String(LEASE_MS),
};

interface FormattedError {
  message: string;
  extensions?: Record<string, unknown>;
}
interface LiveEvent {
  kind: string;
  sequence: number;
  observedAt: string;
  redPack: { id: string };
}
interface LiveResult {
  data?: { redPackEvents?: LiveEvent } | null;
  errors?: readonly FormattedError[];
}

/** One subscription as its client sees it: every result with the time it arrived, and its end. */
class Stream {
  readonly results: { at: number; result: LiveResult }[] = [];
  failure: unknown;
  completed = false;
  constructor(readonly label: string) {}

  readonly sink = {
    next: (result: LiveResult) => void this.results.push({ at: Date.now(), result }),
    error: (error: unknown) => void (this.failure = error),
    complete: () => void (this.completed = true),
  };

  /** The events received, in order of arrival. */
  get events(): { at: number; event: LiveEvent }[] {
    return this.results.flatMap(({ at, result }) =>
      result.data?.redPackEvents ? [{ at, event: result.data.redPackEvents }] : [],
    );
  }

  get errors(): FormattedError[] {
    return this.results.flatMap(({ result }) => result.errors ?? []);
  }

  get ended(): boolean {
    return this.completed || this.failure !== undefined;
  }

  /**
   * How the subscription was refused: graphql-ws sends an `error` message for what onSubscribe
   * refuses (the sink gets the errors), and a result with errors for what the resolver refuses.
   */
  get refusal(): FormattedError | undefined {
    if (Array.isArray(this.failure)) return this.failure[0] as FormattedError;
    return this.errors[0];
  }
}

const wsUrl = (baseUrl: string) => `${baseUrl.replace(/^http/, 'ws')}/graphql`;

/** A graphql-ws client on its own socket (opened by its first subscription). */
function wsClient(baseUrl: string, connectionParams?: Record<string, unknown>): WsClient {
  return createWsClient({
    url: wsUrl(baseUrl),
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams,
  });
}

/** A graphql-sse client in distinct-connections mode: one HTTP stream per subscription. */
function sseClient(baseUrl: string, headers: Record<string, string> = {}): SseClient {
  return createSseClient({ url: `${baseUrl}/graphql`, retryAttempts: 0, headers });
}

function subscribe(
  client: WsClient | SseClient,
  label: string,
  variables: Record<string, unknown>,
  query = EVENTS,
): Stream {
  const stream = new Stream(label);
  client.subscribe({ query, variables }, stream.sink);
  return stream;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Waits for a condition, checked every `everyMs`; returns how long it took. */
async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
  everyMs = 25,
): Promise<number> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await sleep(everyMs);
  }
  return Date.now() - started;
}

/** One series of a gateway's Prometheus metrics, e.g. `gateway_live_polls_total` (0 when absent). */
async function metric(baseUrl: string, series: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}
const OPEN_EVENTS = 'gateway_live_subscriptions{field="redPackEvents"}';
const POLLS = 'gateway_live_polls_total';
const DROPPED = 'gateway_live_dropped_total{reason="SLOW_CONSUMER"}';

/** How a WebSocket closes: its code and reason, or 'still open' after `timeoutMs`. */
function closeOf(socket: WebSocket, timeoutMs: number): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ code: 0, reason: 'still open' }), timeoutMs);
    socket.once('close', (code: number, reason: Buffer) => {
      clearTimeout(timer);
      resolve({ code, reason: reason.toString() });
    });
  });
}

/** The polls of a channel the emulator answered: page 1 of 100, the head of the list. */
const pollCalls = (emulator: PolyvEmulator, channelId: string) =>
  emulator.calls.filter(
    (call) =>
      call.endpoint === 'redPackStatistics' &&
      call.params['channelId'] === channelId &&
      call.params['pageNumber'] === '1' &&
      call.params['pageSize'] === '100',
  );

/** Waits until the channel has been polled once more: its head is known, what follows is new. */
async function nextPoll(emulator: PolyvEmulator, channelId: string): Promise<void> {
  const seen = pollCalls(emulator, channelId).length;
  await waitFor(
    `a poll of ${channelId}`,
    () => pollCalls(emulator, channelId).length > seen,
    10_000,
  );
}

/**
 * Each stream got exactly these red packs, in this order, as CREATED events numbered without
 * a gap, and nothing else: no error, no end.
 */
function expectExactlyOnceInOrder(streams: readonly Stream[], ids: readonly string[]): void {
  for (const stream of streams) {
    const events = stream.events.map(({ event }) => event);
    expect({
      stream: stream.label,
      events: events.map((event) => `${event.kind} ${event.redPack.id}`),
      errors: stream.errors,
      ended: stream.ended,
    }).toEqual({
      stream: stream.label,
      events: ids.map((id) => `CREATED ${id}`),
      errors: [],
      ended: false,
    });
    const sequences = events.map((event) => event.sequence);
    expect(sequences).toEqual(sequences.map((_, index) => sequences[0]! + index));
  }
}

beforeAll(requireSharedRedis);

describe('two replicas sharing Redis, 100 subscribers over WebSocket and SSE', () => {
  let emulator: PolyvEmulator;
  let replicas: Awaited<ReturnType<typeof startProcess>>[];
  let prefix: string;
  const clients: (WsClient | SseClient)[] = [];
  /** Per replica, its subscribers: 25 over WebSocket and 25 over SSE each. */
  const streams: Stream[][] = [[], []];
  /** Red packs inserted so far, oldest first, with the time of insertion. */
  const inserted: { id: string; at: number }[] = [];
  const insert = () =>
    void inserted.push({ at: Date.now(), id: emulator.insertRedPack(CHANNEL).redPackId });

  beforeAll(async () => {
    emulator = await startEmulator({ port: 0 });
    prefix = uniquePrefix('live');
    // Real processes, so that the poller can be killed outright.
    replicas = await Promise.all(
      [0, 1].map(() =>
        startProcess(
          polyvEnv(emulator, {
            ...UNLIMITED,
            REDIS_URL: SHARED_REDIS_URL,
            GATEWAY_REDIS_PREFIX: prefix,
            GATEWAY_REPLICAS: '2',
            // A starved machine must not make Redis commands time out: that is per-process
            // polling (tested below), not what these tests are about.
            REDIS_TIMEOUT_MS: '5000',
            POLYV_TIMEOUT_MS: '15000',
          }),
        ),
      ),
    );
  }, 60_000);

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await Promise.all(replicas.map(({ child }) => stopProcess(child)));
    await emulator.close();
  });

  it('delivers each red pack once, in order, within two polls, to all 100, for one poll per interval', async () => {
    for (const [index, replica] of replicas.entries())
      for (let n = 0; n < 25; n++) {
        const ws = wsClient(replica.url);
        const sse = sseClient(replica.url);
        clients.push(ws, sse);
        streams[index]!.push(
          subscribe(ws, `replica ${index} ws ${n}`, { channelId: CHANNEL }),
          subscribe(sse, `replica ${index} sse ${n}`, { channelId: CHANNEL }),
        );
      }
    await waitFor(
      'all 100 subscriptions open',
      async () =>
        (await Promise.all(replicas.map(({ url }) => metric(url, OPEN_EVENTS)))).every(
          (open) => open === 50,
        ),
      20_000,
      100,
    );
    await nextPoll(emulator, CHANNEL);

    emulator.resetCounters();
    const started = Date.now();
    // One at a time, then two at once (one poll sees both), out of step with the polls.
    const pause = () => sleep(1.5 * POLL_MS);
    insert();
    await pause();
    insert();
    await pause();
    insert();
    insert();
    await pause();
    insert();
    await pause();
    insert();
    await pause();
    insert();
    const all = streams.flat();
    await waitFor(
      'every red pack on every subscriber',
      () => all.every((stream) => stream.events.length >= inserted.length),
      20_000,
    );
    const elapsed = Date.now() - started;

    expectExactlyOnceInOrder(
      all,
      inserted.map(({ id }) => id),
    );
    // Every subscriber, on either replica and transport, has the same numbering.
    expect(new Set(all.map((stream) => stream.events[0]!.event.sequence)).size).toBe(1);

    const latencies = all
      .flatMap((stream) =>
        stream.events.map(
          ({ at, event }) => at - inserted.find(({ id }) => id === event.redPack.id)!.at,
        ),
      )
      .sort((a, b) => a - b);
    const polls = pollCalls(emulator, CHANNEL).length;
    // Every red-pack call, of any channel: only this one is followed.
    const calls = emulator.calls.filter((call) => call.endpoint === 'redPackStatistics').length;
    const intervals = elapsed / POLL_MS;
    console.log(
      `fan-out: ${all.length} subscribers × ${inserted.length} red packs over ${elapsed} ms (${intervals.toFixed(1)} intervals): ` +
        `latency median ${latencies[latencies.length >> 1]} ms, max ${latencies.at(-1)} ms (bound ${2 * POLL_MS}); ` +
        `${polls} polls and ${calls - polls} other red-pack calls = ${(calls / intervals).toFixed(2)} per interval`,
    );
    // Each red pack reaches every subscriber within two intervals of its insertion.
    expect(latencies.at(-1)).toBeLessThanOrEqual(2 * POLL_MS);
    // One poller for the channel, not one per replica (which would be about twice as many)
    // or per subscriber: at most one poll started per interval, +1 for the window's two ends,
    // +1 and a one-page totals walk should the lease move meanwhile (a poll can outlast
    // nothing here, but a starved machine may); and at least half the intervals were polled.
    expect(calls).toBeLessThanOrEqual(Math.floor(intervals) + 3);
    expect(polls).toBeGreaterThanOrEqual(Math.floor(intervals / 2));
  }, 60_000);

  it('moves polling to the survivor within one lease period when the poller dies, missing nothing', async () => {
    // The poller is the replica whose poll counter moves; the lease in Redis names someone.
    const lease = `${prefix}live:lease:${CHANNEL}`;
    const redis = new Redis(SHARED_REDIS_URL);
    try {
      const before = await Promise.all(replicas.map(({ url }) => metric(url, POLLS)));
      await sleep(3 * POLL_MS);
      const after = await Promise.all(replicas.map(({ url }) => metric(url, POLLS)));
      const polled = after.map((count, index) => count - before[index]!);
      expect(polled.filter((count) => count > 0)).toHaveLength(1);
      const leader = polled.findIndex((count) => count > 0);
      const survivor = 1 - leader;
      const holder = await redis.get(lease);
      expect(holder).toEqual(expect.any(String));

      const survivorPolls = after[survivor]!;
      // One red pack the dying poller may or may not have seen, one after its death, one
      // after the takeover.
      insert();
      const killedAt = Date.now();
      replicas[leader]!.child.kill('SIGKILL');
      insert();
      // The first poll after the death (calls answered within 100 ms of it are the dead
      // poller's last, already in flight).
      await waitFor(
        'a poll after the kill',
        () => pollCalls(emulator, CHANNEL).some((call) => call.at > killedAt + 100),
        LEASE_MS + POLL_MS + 10_000,
      );
      const resumedAt = pollCalls(emulator, CHANNEL).find((call) => call.at > killedAt + 100)!.at;
      console.log(
        `takeover: polling resumed ${resumedAt - killedAt} ms after the kill (bound ${LEASE_MS + POLL_MS})`,
      );
      expect(resumedAt - killedAt).toBeLessThanOrEqual(LEASE_MS + POLL_MS);
      // It was the survivor's (its counter moves once the poll is processed).
      await waitFor(
        'the survivor counts a poll',
        async () => (await metric(replicas[survivor]!.url, POLLS)) > survivorPolls,
        5_000,
      );
      expect(await redis.get(lease)).not.toBe(holder);
      insert();

      const survivors = streams[survivor]!;
      await waitFor(
        'all red packs on the survivor',
        () => survivors.every((stream) => stream.events.length >= inserted.length),
        20_000,
      );
      const arrived = survivors.flatMap((stream) => stream.events.slice(-3).map(({ at }) => at));
      console.log(
        `takeover: the red packs inserted around it reached all ${survivors.length} subscribers ` +
          `of the survivor ${Math.max(...arrived) - killedAt} ms after the kill at the latest`,
      );
      // Everything since the first test, exactly once and in order, numbered without a gap.
      expectExactlyOnceInOrder(
        survivors,
        inserted.map(({ id }) => id),
      );
      // The dead replica's subscribers were told their connection ended.
      await waitFor(
        'the dead replica’s streams end',
        () => streams[leader]!.every((s) => s.ended),
        10_000,
      );
    } finally {
      redis.disconnect();
    }
  }, 60_000);
});

describe('one gateway with API keys: authentication and limits', () => {
  let stack: Stack;
  const clients: (WsClient | SseClient)[] = [];
  const finance = bearer(KEYS.finance);
  const wsAs = (params: Record<string, unknown>) => {
    const client = wsClient(stack.gateway.url, params);
    clients.push(client);
    return client;
  };
  const sseAs = (headers: Record<string, string>) => {
    const client = sseClient(stack.gateway.url, headers);
    clients.push(client);
    return client;
  };
  const outcome = (stream: Stream) =>
    waitFor(`${stream.label} answered`, () => stream.results.length > 0 || stream.ended, 10_000);

  beforeAll(async () => {
    stack = await startStack({
      env: {
        ...UNLIMITED,
        GATEWAY_AUTH: 'on',
        GATEWAY_API_KEYS_FILE: writeKeysFile(),
        GATEWAY_LIVE_MAX_PER_CONNECTION: '2',
        GATEWAY_LIVE_MAX_PER_CLIENT: '3',
        GATEWAY_LIVE_MAX_CHANNELS: '2',
        // One key may take both here: the replica's limit is what is tested (the per-key share
        // has its own tests, liveChurn.test.ts).
        GATEWAY_LIVE_MAX_CHANNELS_PER_CLIENT: '2',
      },
    });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.dispose()));
    await waitFor(
      'no subscription left',
      async () => (await metric(stack.gateway.url, OPEN_EVENTS)) === 0,
      5_000,
    );
  });
  afterAll(() => stack.close());

  /** A raw graphql-ws socket: what it is sent back, and how it closed. */
  async function rawSocket(headers: Record<string, string> = {}) {
    const socket = new WebSocket(wsUrl(stack.gateway.url), 'graphql-transport-ws', { headers });
    const messages: { type: string; payload?: unknown }[] = [];
    socket.on('message', (data: Buffer) => void messages.push(JSON.parse(data.toString())));
    await once(socket, 'open');
    return { socket, messages, closed: closeOf(socket, 5_000) };
  }

  it('closes a WebSocket with 4401 without a valid key, and serves one with the key in connection_init or a header', async () => {
    const anonymous = await rawSocket();
    anonymous.socket.send(JSON.stringify({ type: 'connection_init' }));
    expect(await anonymous.closed).toEqual({
      code: 4401,
      reason: expect.stringMatching(/^UNAUTHENTICATED: send the API key as connection_init/),
    });
    expect(anonymous.messages).toEqual([]);

    const wrong = await rawSocket();
    wrong.socket.send(
      JSON.stringify({ type: 'connection_init', payload: { authorization: 'Bearer not-a-key' } }),
    );
    expect(await wrong.closed).toEqual({
      code: 4401,
      reason: 'UNAUTHENTICATED: the API key is not valid',
    });

    // The key in connection_init: acknowledged, and the subscription is served.
    const viaInit = subscribe(wsAs(finance), 'key in connection_init', {
      channelId: CHANNEL,
      recent: 1,
    });
    // The key as an upgrade header (a server-side client can set one).
    const viaHeader = await rawSocket({ 'x-api-key': KEYS.finance });
    viaHeader.socket.send(JSON.stringify({ type: 'connection_init' }));
    await waitFor('connection_ack', () => viaHeader.messages.length > 0, 5_000);
    viaHeader.socket.send(
      JSON.stringify({
        id: '1',
        type: 'subscribe',
        payload: { query: EVENTS, variables: { channelId: CHANNEL, recent: 1 } },
      }),
    );
    await outcome(viaInit);
    expect(viaInit.events.map(({ event }) => event.kind)).toEqual(['SNAPSHOT']);
    await waitFor('a SNAPSHOT on the raw socket', () => viaHeader.messages.length >= 2, 10_000);
    expect(viaHeader.messages.map((message) => message.type)).toEqual(['connection_ack', 'next']);
    viaHeader.socket.close();
  });

  it('refuses a scoped key another channel, FORBIDDEN, before anything is polled', async () => {
    stack.emulator.resetCounters();
    // `recent` would make an allowed subscription answer at once, with a SNAPSHOT.
    const variables = { channelId: CHANNEL, recent: 1 };
    const ws = subscribe(wsAs(bearer(KEYS.ops)), 'ops over ws', variables);
    const sse = subscribe(sseAs(bearer(KEYS.ops)), 'ops over sse', variables);
    await Promise.all([outcome(ws), outcome(sse)]);
    for (const stream of [ws, sse]) {
      expect(stream.refusal).toEqual(
        expect.objectContaining({ extensions: expect.objectContaining({ code: 'FORBIDDEN' }) }),
      );
      expect(stream.events).toEqual([]);
    }
    // Two intervals later Polyv has still not been asked anything.
    await sleep(2 * POLL_MS);
    expect(stack.emulator.calls).toEqual([]);
  });

  it('refuses past the per-connection, per-client and channel limits, with the limit named', async () => {
    const limitOf = (stream: Stream) => stream.refusal?.extensions;
    const open = async (stream: Stream) => {
      await outcome(stream);
      expect({ [stream.label]: stream.events.map(({ event }) => event.kind) }).toEqual({
        [stream.label]: ['SNAPSHOT'],
      });
    };
    // GATEWAY_LIVE_MAX_PER_CONNECTION=2: the third on one socket is refused.
    const first = wsAs(finance);
    await open(subscribe(first, 'finance 1', { channelId: CHANNEL, recent: 1 }));
    await open(subscribe(first, 'finance 2', { channelId: CHANNEL, recent: 1 }));
    const third = subscribe(first, 'finance 3', { channelId: CHANNEL, recent: 1 });
    await outcome(third);
    expect(limitOf(third)).toEqual(
      expect.objectContaining({
        code: 'QUERY_LIMIT_EXCEEDED',
        limit: 'subscriptionsPerConnection',
      }),
    );
    // GATEWAY_LIVE_MAX_PER_CLIENT=3: the key's fourth, on another socket or over SSE, is refused.
    const second = wsAs(finance);
    await open(subscribe(second, 'finance 4', { channelId: SMALL_CHANNEL, recent: 1 }));
    const fifth = subscribe(second, 'finance 5', { channelId: CHANNEL, recent: 1 });
    const overSse = subscribe(sseAs(finance), 'finance over sse', { channelId: CHANNEL });
    await Promise.all([outcome(fifth), outcome(overSse)]);
    for (const stream of [fifth, overSse])
      expect(limitOf(stream)).toEqual(
        expect.objectContaining({ code: 'QUERY_LIMIT_EXCEEDED', limit: 'subscriptionsPerClient' }),
      );
    // GATEWAY_LIVE_MAX_CHANNELS=2: another key, a third channel, is refused.
    const ops = subscribe(wsAs(bearer(KEYS.ops)), 'ops', { channelId: OPS_CHANNEL, recent: 1 });
    await outcome(ops);
    expect(limitOf(ops)).toEqual(
      expect.objectContaining({ code: 'QUERY_LIMIT_EXCEEDED', limit: 'liveChannels' }),
    );
    // The refused ones hold nothing: three open.
    expect(await metric(stack.gateway.url, OPEN_EVENTS)).toBe(3);
  });

  it('refuses a selection that would call Polyv, a query over WebSocket, and a subscription over POST', async () => {
    stack.emulator.resetCounters();
    const upstream = `subscription { redPackEvents(channelId: "${CHANNEL}", recent: 1) {
      redPack { id channel { redPacks(first: 1) { totalCount } } } } }`;
    const overWs = subscribe(wsAs(finance), 'upstream over ws', {}, upstream);
    const overSse = subscribe(sseAs(finance), 'upstream over sse', {}, upstream);
    const read = `{ channel(id: "${CHANNEL}") { id } }`;
    const queryOverWs = subscribe(wsAs(finance), 'query over ws', {}, read);
    const queryOverSse = subscribe(sseAs(finance), 'query over sse', {}, read);
    await Promise.all([overWs, overSse, queryOverWs, queryOverSse].map(outcome));
    for (const stream of [overWs, overSse])
      expect(stream.refusal).toEqual({
        message: expect.stringMatching(/fields that ask Polyv again/),
        extensions: expect.objectContaining({
          code: 'QUERY_LIMIT_EXCEEDED',
          limit: 'upstreamCalls',
        }),
      });
    for (const stream of [queryOverWs, queryOverSse])
      expect(stream.refusal).toEqual({
        message:
          'This connection carries subscriptions; send queries to /graphql with POST or GET.',
        extensions: expect.objectContaining({ code: 'BAD_REQUEST' }),
      });

    const post = await stack.graphql(EVENTS, { channelId: CHANNEL }, finance);
    // A request error (200 to application/json, as every validation failure: see http.test.ts).
    expect(post.data).toBeUndefined();
    expect(post.errors).toEqual([
      expect.objectContaining({
        message: expect.stringMatching(/WebSocket.*Server-Sent Events/),
        extensions: expect.objectContaining({ code: 'GRAPHQL_VALIDATION_FAILED' }),
      }),
    ]);
    await sleep(2 * POLL_MS);
    expect(stack.emulator.calls).toEqual([]);
  });

  it('starts a reconnecting subscriber with `recent` SNAPSHOT events, the head of the list, then live events', async () => {
    const selection = `id amount { fen } balance { fen } status receiveCount createdAt sender { openId }`;
    const detailed = `subscription Events($channelId: ID!, $recent: Int) {
      redPackEvents(channelId: $channelId, recent: $recent) { kind sequence redPack { ${selection} } }
    }`;
    // A subscriber already follows the channel, and events have been numbered.
    const live = subscribe(wsAs(finance), 'live', { channelId: CHANNEL }, detailed);
    await waitFor(
      'the subscription',
      async () => (await metric(stack.gateway.url, OPEN_EVENTS)) === 1,
      5_000,
    );
    await nextPoll(stack.emulator, CHANNEL);
    stack.emulator.insertRedPack(CHANNEL);
    stack.emulator.insertRedPack(CHANNEL);
    await waitFor('two live events', () => live.events.length === 2, 10_000);

    const head = await stack.graphql<{ channel: { redPacks: { nodes: unknown[] } } }>(
      `{ channel(id: "${CHANNEL}") { redPacks(first: 3) { nodes { ${selection} } } } }`,
      {},
      finance,
    );
    const reconnected = subscribe(
      wsAs(finance),
      'reconnected',
      { channelId: CHANNEL, recent: 3 },
      detailed,
    );
    await waitFor('the snapshot', () => reconnected.events.length === 3, 10_000);
    const added = stack.emulator.insertRedPack(CHANNEL).redPackId;
    await waitFor(
      'the next live event on both',
      () => reconnected.events.length === 4 && live.events.length === 3,
      10_000,
    );

    const results = reconnected.results.map(({ result }) => result);
    const lastSequence = live.events[1]!.event.sequence;
    expect(results.slice(0, 3)).toEqual(
      [...head.data!.channel.redPacks.nodes].reverse().map((redPack) => ({
        data: { redPackEvents: { kind: 'SNAPSHOT', sequence: lastSequence, redPack } },
      })),
    );
    expect(results[3]!.data!.redPackEvents).toEqual(
      expect.objectContaining({
        kind: 'CREATED',
        sequence: lastSequence + 1,
        redPack: expect.objectContaining({ id: added }),
      }),
    );
    expect(live.events.at(-1)?.event).toEqual(reconnected.events.at(-1)!.event);
  });
});

describe('when Polyv or Redis fails', () => {
  const clients: (WsClient | SseClient)[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.dispose()));
  });

  it('carries Polyv’s failure in the stream, keeps it open, and misses nothing once Polyv is back', async () => {
    // A breaker that tries again soon, so that the outage ends within the test.
    const stack = await startStack({ env: { ...UNLIMITED, POLYV_BREAKER_RESET_MS: '1000' } });
    try {
      const ws = wsClient(stack.gateway.url);
      const sse = sseClient(stack.gateway.url);
      clients.push(ws, sse);
      const streams = [
        subscribe(ws, 'ws', { channelId: CHANNEL }),
        subscribe(sse, 'sse', { channelId: CHANNEL }),
      ];
      await waitFor(
        'both open',
        async () => (await metric(stack.gateway.url, OPEN_EVENTS)) === 2,
        5_000,
      );
      await nextPoll(stack.emulator, CHANNEL);
      const before = stack.emulator.insertRedPack(CHANNEL).redPackId;
      await waitFor(
        'the first red pack',
        () => streams.every((s) => s.events.length === 1),
        10_000,
      );

      // Every call fails until the faults are cleared.
      stack.emulator.injectFaults('http503', 100_000);
      await waitFor(
        'the failure in both streams',
        () => streams.every((s) => s.errors.length > 0),
        15_000,
      );
      // A red pack created while Polyv is down, seen once it is back.
      const during = stack.emulator.insertRedPack(CHANNEL).redPackId;
      await sleep(2 * POLL_MS);
      expect(streams.map((stream) => stream.ended)).toEqual([false, false]);
      stack.emulator.clearFaults();
      await waitFor(
        'the red pack created during the outage',
        () => streams.every((s) => s.events.length === 2),
        15_000,
      );
      const after = stack.emulator.insertRedPack(CHANNEL).redPackId;
      await waitFor(
        'the red pack created after it',
        () => streams.every((s) => s.events.length === 3),
        15_000,
      );

      for (const stream of streams) {
        expect(stream.ended).toBe(false);
        // Told once per failure, not once per poll (the outage lasted several), with the code a
        // query would get, and no secret or signature.
        expect(stream.errors.length).toBeLessThanOrEqual(2);
        for (const error of stream.errors)
          expect(error).toEqual({
            message: expect.any(String),
            locations: expect.any(Array),
            path: ['redPackEvents'],
            extensions: expect.objectContaining({
              code: expect.stringMatching(/^UPSTREAM_(UNAVAILABLE|ERROR)$/),
              endpoint: 'redPackStatistics',
            }),
          });
        expectNoLeaks(JSON.stringify(stream.results), secretsOf(stack.emulator));
      }
      expect(stack.logs.filter((line) => line.msg === 'unexpected error while resolving')).toEqual(
        [],
      );
      const clean = streams.map((stream) => {
        const copy = new Stream(stream.label);
        copy.results.push(...stream.results.filter(({ result }) => !result.errors));
        return copy;
      });
      expectExactlyOnceInOrder(clean, [before, during, after]);
    } finally {
      await Promise.all(clients.splice(0).map((client) => client.dispose()));
      await stack.close();
    }
  }, 60_000);

  it('polls for itself, with a warning, when its Redis cannot be reached', async () => {
    // A port nothing listens on.
    const server = createServer().listen(0, '127.0.0.1');
    await once(server, 'listening');
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    server.close();
    const stack = await startStack({
      env: { ...UNLIMITED, REDIS_URL: `redis://127.0.0.1:${port}`, REDIS_TIMEOUT_MS: '200' },
    });
    try {
      const ws = wsClient(stack.gateway.url);
      clients.push(ws);
      const stream = subscribe(ws, 'ws', { channelId: CHANNEL });
      await waitFor(
        'open',
        async () => (await metric(stack.gateway.url, OPEN_EVENTS)) === 1,
        5_000,
      );
      await nextPoll(stack.emulator, CHANNEL);
      const id = stack.emulator.insertRedPack(CHANNEL).redPackId;
      await waitFor('the red pack', () => stream.events.length === 1, 10_000);
      expectExactlyOnceInOrder([stream], [id]);
      expect(stack.logs).toContainEqual(
        expect.objectContaining({
          level: 40,
          msg: 'live updates: Redis unavailable, every replica polls its own channels until it returns',
        }),
      );
    } finally {
      await Promise.all(clients.splice(0).map((client) => client.dispose()));
      await stack.close();
    }
  });
});

/**
 * A full collection, so that heap figures show what is retained rather than garbage not yet
 * collected (as fuzz.test.ts does: jest runs without --expose-gc, but the flag can still be set
 * at run time, and a new context then sees `gc`).
 */
function settledHeap(): number {
  v8.setFlagsFromString('--expose-gc');
  const gc: unknown = runInNewContext('gc');
  if (typeof gc === 'function') {
    gc();
    gc();
  }
  const { heapUsed, external } = process.memoryUsage();
  // Buffers (what a socket holds back) live outside the JavaScript heap.
  return heapUsed + external;
}
const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

describe('one gateway, subscribers that read and one that does not', () => {
  let stack: Stack;
  const clients: (WsClient | SseClient)[] = [];
  beforeAll(async () => {
    stack = await startStack({
      env: {
        ...UNLIMITED,
        GATEWAY_LIVE_MAX_QUEUED: '5',
        // A reader that does not read does not answer pings either: the keep-alive would close
        // it in the end, but what is tested here is the queue's bound.
        GATEWAY_LIVE_KEEPALIVE_MS: '120000',
      },
    });
  });
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((client) => client.dispose()));
    await waitFor(
      'no subscription left',
      async () => (await metric(stack.gateway.url, OPEN_EVENTS)) === 0,
      5_000,
    );
  });
  afterAll(() => stack.close());

  it('gives a burst larger than the queue bound whole to subscribers that read', async () => {
    const ws = wsClient(stack.gateway.url);
    const sse = sseClient(stack.gateway.url);
    clients.push(ws, sse);
    const readers = [
      subscribe(ws, 'ws reader', { channelId: SMALL_CHANNEL }),
      subscribe(sse, 'sse reader', { channelId: SMALL_CHANNEL }),
    ];
    await waitFor(
      'both open',
      async () => (await metric(stack.gateway.url, OPEN_EVENTS)) === 2,
      5_000,
    );
    await nextPoll(stack.emulator, SMALL_CHANNEL);
    const dropped = await metric(stack.gateway.url, DROPPED);
    // Twelve red packs in one poll: more than twice GATEWAY_LIVE_MAX_QUEUED=5.
    const ids = Array.from(
      { length: 12 },
      () => stack.emulator.insertRedPack(SMALL_CHANNEL).redPackId,
    );
    await waitFor(
      'the burst on both',
      () => readers.every((s) => s.events.length >= 12 || s.ended),
      10_000,
    );
    expectExactlyOnceInOrder(readers, ids);
    expect(
      new Set(readers.flatMap((s) => s.events.map(({ event }) => event.observedAt))).size,
    ).toBe(1);
    expect(await metric(stack.gateway.url, DROPPED)).toBe(dropped);
  });

  it('drops a WebSocket that stops reading, with 1008 SLOW_CONSUMER, without growing the heap', async () => {
    // Big events: 20 receives with long names and avatars a red pack (about 20 kB as a
    // model), each asked for eight times by aliases (about 300 kB an event on the wire).
    const receives = Array.from({ length: 20 }, (_, index) => ({
      userId: `ovtl9t${String(index).padStart(22, '0')}`,
      nickName: `观众${index}`.padEnd(300, '长'),
      avatar: `https://thirdwx.qlogo.cn/mmopen/vi_32/${'a'.repeat(400)}/132`,
      amountFen: 1,
    }));
    const receive = 'user { openId nickname avatarUrl } amount { fen amount currency } receivedAt';
    const aliases = Array.from(
      { length: 8 },
      (_, index) =>
        `r${index}: redPack { id receives { ${receive} } } n${index}: newReceives { ${receive} }`,
    ).join('\n');
    const big = `subscription { redPackEvents(channelId: "${EMPTY_CHANNEL}") { kind sequence ${aliases} } }`;

    // A reader alongside, which must get everything; it counts bytes and keeps ids only.
    const reader = wsClient(stack.gateway.url);
    clients.push(reader);
    let readBytes = 0;
    const readIds: string[] = [];
    reader.subscribe(
      { query: big },
      {
        next: (result) => {
          readBytes += JSON.stringify(result).length;
          const event = (result.data as { redPackEvents?: { r0: { id: string } } } | null)
            ?.redPackEvents;
          if (event) readIds.push(event.r0.id);
        },
        error: () => undefined,
        complete: () => undefined,
      },
    );
    // The one that stops reading: a plain `ws` socket, paused once subscribed.
    const slow = new WebSocket(wsUrl(stack.gateway.url), 'graphql-transport-ws');
    try {
      await once(slow, 'open');
      const acknowledged = once(slow, 'message');
      slow.send(JSON.stringify({ type: 'connection_init' }));
      await acknowledged;
      slow.send(JSON.stringify({ id: '1', type: 'subscribe', payload: { query: big } }));
      await waitFor(
        'both open',
        async () => (await metric(stack.gateway.url, OPEN_EVENTS)) === 2,
        5_000,
      );
      await nextPoll(stack.emulator, EMPTY_CHANNEL);
      slow.pause();
      const dropped = await metric(stack.gateway.url, DROPPED);
      const heapBefore = settledHeap();

      // Four red packs a poll (fewer than the bound: it is the reader's backlog that must drop
      // it, not one poll's burst) until it is dropped, or until far more was sent than the
      // kernel's socket buffers hold.
      const ids: string[] = [];
      let isDropped = false;
      while (!isDropped && readBytes < 40 * 1024 * 1024) {
        for (let n = 0; n < 4; n++)
          ids.push(stack.emulator.insertRedPack(EMPTY_CHANNEL, { receives }).redPackId);
        await nextPoll(stack.emulator, EMPTY_CHANNEL);
        isDropped = (await metric(stack.gateway.url, DROPPED)) > dropped;
      }
      await waitFor('the reader has everything', () => readIds.length === ids.length, 20_000);
      const heapAfter = settledHeap();
      console.log(
        `slow consumer: ${isDropped ? 'dropped' : 'NOT dropped'} after ${ids.length} events (${mb(readBytes)} sent to the reader meanwhile); ` +
          `heap ${mb(heapBefore)} → ${mb(heapAfter)}, growth ${mb(heapAfter - heapBefore)}`,
      );
      expect(heapAfter - heapBefore).toBeLessThan(16 * 1024 * 1024);
      expect(isDropped).toBe(true);
      // What it had not read is still in its socket buffers; once it reads, the close is there.
      slow.resume();
      expect(await closeOf(slow, 20_000)).toEqual({
        code: 1008,
        reason: 'SLOW_CONSUMER: more than 5 messages unread',
      });
      expect(readIds).toEqual(ids);
    } finally {
      // Whatever happened, the socket goes: a test that failed must not hold the gateway.
      slow.terminate();
    }
  }, 90_000);
});

describe('one gateway: channels nobody follows, connections that carry nothing', () => {
  it('stops polling a channel when its last subscriber leaves', async () => {
    const stack = await startStack({ env: UNLIMITED });
    try {
      const ws = wsClient(stack.gateway.url);
      const sse = sseClient(stack.gateway.url);
      subscribe(ws, 'ws', { channelId: SMALL_CHANNEL });
      subscribe(sse, 'sse', { channelId: SMALL_CHANNEL });
      await nextPoll(stack.emulator, SMALL_CHANNEL);
      await nextPoll(stack.emulator, SMALL_CHANNEL);
      // One subscriber leaves: the channel is still followed.
      await ws.dispose();
      await waitFor(
        'one subscription left',
        async () => (await metric(stack.gateway.url, OPEN_EVENTS)) === 1,
        5_000,
      );
      await nextPoll(stack.emulator, SMALL_CHANNEL);
      // The last one leaves: after the poll that may be under way, no other for three intervals.
      await sse.dispose();
      await waitFor(
        'no subscription left',
        async () => (await metric(stack.gateway.url, OPEN_EVENTS)) === 0,
        5_000,
      );
      await sleep(POLL_MS);
      const polled = pollCalls(stack.emulator, SMALL_CHANNEL).length;
      await sleep(3 * POLL_MS);
      expect(pollCalls(stack.emulator, SMALL_CHANNEL).length).toBe(polled);
    } finally {
      await stack.close();
    }
  }, 30_000);

  it("keeps a channel's sequence growing when its last subscriber leaves and another comes", async () => {
    const stack = await startStack({ env: UNLIMITED });
    try {
      const firstClient = wsClient(stack.gateway.url);
      const first = subscribe(firstClient, 'first', { channelId: SMALL_CHANNEL });
      await nextPoll(stack.emulator, SMALL_CHANNEL);
      await nextPoll(stack.emulator, SMALL_CHANNEL);
      // A burst: more events than seconds will pass before the next subscriber, so the clock
      // alone would not keep the numbers growing; what the channel reached must.
      const burst = 30;
      for (let n = 0; n < burst; n++) stack.emulator.insertRedPack(SMALL_CHANNEL);
      await waitFor('the burst', () => first.events.length >= burst, 10_000);
      const reached = first.events.at(-1)!.event.sequence;

      // The last subscriber leaves: the channel's poller stops.
      await firstClient.dispose();
      await waitFor(
        'no subscription left',
        async () => (await metric(stack.gateway.url, OPEN_EVENTS)) === 0,
        5_000,
      );
      await sleep(2 * POLL_MS);

      const nextClient = wsClient(stack.gateway.url);
      try {
        const next = subscribe(nextClient, 'next', { channelId: SMALL_CHANNEL });
        await nextPoll(stack.emulator, SMALL_CHANNEL);
        await nextPoll(stack.emulator, SMALL_CHANNEL);
        const id = stack.emulator.insertRedPack(SMALL_CHANNEL).redPackId;
        await waitFor('the next red pack', () => next.events.length >= 1, 10_000);
        expect(next.events.map(({ event }) => event.redPack.id)).toEqual([id]);
        expect(next.events[0]!.event.sequence).toBeGreaterThan(reached);
        expect(next.errors).toEqual([]);
      } finally {
        await nextClient.dispose();
      }
    } finally {
      await stack.close();
    }
  }, 30_000);

  it('closes a WebSocket that carries no subscription for GATEWAY_LIVE_IDLE_MS, saying why', async () => {
    const stack = await startStack({ env: { ...UNLIMITED, GATEWAY_LIVE_IDLE_MS: '1000' } });
    try {
      const socket = new WebSocket(wsUrl(stack.gateway.url), 'graphql-transport-ws');
      await once(socket, 'open');
      socket.send(JSON.stringify({ type: 'connection_init' }));
      const [ack] = (await once(socket, 'message')) as [Buffer];
      expect(JSON.parse(ack.toString())).toEqual({ type: 'connection_ack' });
      const started = Date.now();
      const closed = await closeOf(socket, 10_000);
      expect(closed).toEqual({ code: 1000, reason: 'IDLE: no subscription for 1 s' });
      // Past the idle time, within one sweep of it (a quarter of it, at least 250 ms).
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
    } finally {
      await stack.close();
    }
  }, 30_000);
});
