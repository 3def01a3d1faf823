/**
 * What live polling may spend (issue 20, points 4 and 5), part by part and in tables: the budget
 * (live/budget.ts) on a fake clock, the bounds docs/subscriptions.md quotes, the hub's per-client
 * share of topics and its refusals (live/hub.ts, on a fake bus), a poll given up half way
 * (live/poller.ts), and the settings (config). End to end, with real servers: liveChurn.test.ts.
 */
import { describe, expect, it } from '@jest/globals';
import { GraphQLError } from 'graphql';
import { loadConfig } from '../src/config/index.js';
import { redPackSummaryBuilder } from '../src/domain/summaries.js';
import { LiveBudget, liveSpendBounds, type LiveSpendSettings } from '../src/live/budget.js';
import { LiveBus } from '../src/live/bus.js';
import { LiveHub } from '../src/live/hub.js';
import { TopicPoller, type LiveMessage, type Topic } from '../src/live/poller.js';
import { createLogger } from '../src/logger.js';
import { MemoryTokenBuckets, type BucketOptions } from '../src/ratelimit/tokenBucket.js';

/** A budget on a fake clock: waiting moves the clock (unless the wait is aborted). */
function fakeBudget(clients: BucketOptions, ceiling: BucketOptions) {
  const clock = { now: 0 };
  const budget = new LiveBudget({
    clients: new MemoryTokenBuckets(clients, () => clock.now),
    ceiling: new MemoryTokenBuckets(ceiling, () => clock.now),
    wait: (ms, signal) => {
      signal.throwIfAborted();
      clock.now += ms;
      return Promise.resolve();
    },
  });
  return { budget, clock };
}

const live = new AbortController().signal;

describe('the budget: a bucket per client for the topics it starts, a ceiling for every call', () => {
  const roomy: BucketOptions = { ratePerSecond: 1_000, burst: 1_000 };

  it.each([
    // [what, client bucket, starts at t=0, expected: admitted, then the first refusal's retry]
    ['a burst of starts at once, then refused', { ratePerSecond: 1, burst: 3 }, 4, [3, 1_000]],
    ['a slower refill says so', { ratePerSecond: 0.5, burst: 2 }, 3, [2, 2_000]],
    ['within the burst, all admitted', { ratePerSecond: 1, burst: 20 }, 20, [20, undefined]],
  ] as [string, BucketOptions, number, [number, number | undefined]][])(
    'admit: %s',
    async (_what, clients, starts, [admitted, retryAfterMs]) => {
      const { budget } = fakeBudget(clients, roomy);
      const results = [];
      for (let n = 0; n < starts; n++) results.push(await budget.admit('key:a'));
      expect(results.filter((result) => result.ok)).toHaveLength(admitted);
      const refused = results.find((result) => !result.ok);
      expect(refused && 'retryAfterMs' in refused ? refused.retryAfterMs : undefined).toBe(
        retryAfterMs,
      );
      // Another client's bucket is its own.
      expect((await budget.admit('key:b')).ok).toBe(true);
    },
  );

  it.each([
    // [what, client bucket, ceiling, calls (payer or none), clock after them (ms)]
    [
      "walk pages wait for the payer's refill",
      { ratePerSecond: 1, burst: 2 },
      roomy,
      ['key:a', 'key:a', 'key:a', 'key:a'],
      2_000,
    ],
    [
      'head reads take the ceiling only',
      { ratePerSecond: 1, burst: 1 },
      { ratePerSecond: 10, burst: 2 },
      [undefined, undefined, undefined, undefined, undefined],
      300,
    ],
    [
      'a walk waits for whichever is slower',
      { ratePerSecond: 2, burst: 1 },
      { ratePerSecond: 1, burst: 1 },
      ['key:a', 'key:a', 'key:a'],
      2_000,
    ],
    [
      'two payers do not wait for each other',
      { ratePerSecond: 1, burst: 1 },
      roomy,
      ['key:a', 'key:b', 'key:c'],
      0,
    ],
  ] as [string, BucketOptions, BucketOptions, (string | undefined)[], number][])(
    'spend: %s',
    async (_what, clients, ceiling, payers, elapsed) => {
      const { budget, clock } = fakeBudget(clients, ceiling);
      for (const payer of payers) await budget.spend(live, payer);
      expect(clock.now).toBe(elapsed);
    },
  );

  it('gives up at once when the topic is left: before a token, and while waiting for one', async () => {
    const { budget, clock } = fakeBudget({ ratePerSecond: 1, burst: 1 }, roomy);
    const left = new AbortController();
    left.abort(new Error('left'));
    await expect(budget.spend(left.signal, 'key:a')).rejects.toThrow('left');
    // Nothing was taken: the client's one token is still there.
    expect((await budget.admit('key:a')).ok).toBe(true);

    // Waiting for the refill, the topic is left: the wait ends, no call is made.
    const leaving = new AbortController();
    const waiting = new LiveBudget({
      clients: new MemoryTokenBuckets({ ratePerSecond: 1, burst: 1 }, () => clock.now),
      ceiling: new MemoryTokenBuckets(roomy, () => clock.now),
      wait: (_ms, signal) =>
        new Promise((_resolve, reject) => {
          signal.addEventListener('abort', () => reject(signal.reason as Error));
          leaving.abort(new Error('left while waiting'));
        }),
    });
    await waiting.spend(leaving.signal, 'key:a');
    await expect(waiting.spend(leaving.signal, 'key:a')).rejects.toThrow('left while waiting');
  });
});

describe('the bounds docs/subscriptions.md quotes', () => {
  const defaults = loadConfig({}).live;
  it.each([
    // [what, settings, window ms, per client, ceiling]
    ['the defaults, per 10 s', defaults, 10_000, 20 + 10 + 12 * 4, 50 + 500],
    ['the defaults, per minute', defaults, 60_000, 20 + 60 + 12 * 21, 50 + 3_000],
    [
      'a smaller share and a stingier bucket',
      {
        ...defaults,
        maxChannelsPerClient: 2,
        clientBudget: { ratePerSecond: 0.5, burst: 10 },
      },
      10_000,
      10 + 5 + 2 * 4,
      550,
    ],
    [
      'polled every second',
      { ...defaults, pollMs: 1_000, ceiling: { ratePerSecond: 20, burst: 20 } },
      10_000,
      30 + 12 * 11,
      220,
    ],
  ] as [string, LiveSpendSettings, number, number, number][])(
    '%s',
    (_what, settings, windowMs, perClient, ceiling) => {
      expect(liveSpendBounds(settings, windowMs)).toEqual({ perClient, ceiling });
    },
  );

  it("keeps all live polling under Polyv's 1,500 calls per 10 s, and under the upstream bucket", () => {
    const config = loadConfig({});
    const { ceiling } = liveSpendBounds(config.live, 10_000);
    const upstream = config.polyvCalls.rateBurst + config.polyvCalls.ratePerSecond * 10;
    expect(ceiling).toBeLessThan(1_500);
    // Queries keep at least 500 of the upstream's 1,050 calls per 10 s, whatever live polling does.
    expect(upstream - ceiling).toBeGreaterThanOrEqual(500);
  });
});

// ---------------------------------------------------------------------------------------------
// The hub, on a fake bus

interface Step {
  /** Who subscribes to which topic (`channel` or `channel/session`), or leaves it. */
  client: string;
  topic: string;
  leave?: boolean;
}
const step = (client: string, topic: string): Step => ({ client, topic });
const leave = (client: string, topic: string): Step => ({ client, topic, leave: true });

function fakeHub(
  limits: { maxTopics: number; maxTopicsPerClient: number },
  clients: BucketOptions,
) {
  const joined: { topic: Topic; payer: () => string | undefined }[] = [];
  const left: Topic[] = [];
  const bus = {
    join: (topic: Topic, _deliver: unknown, payer: () => string | undefined) =>
      void joined.push({ topic, payer }),
    leave: (topic: Topic) => void left.push(topic),
    latest: () => Promise.resolve(undefined),
    close: () => Promise.resolve(),
  } as unknown as LiveBus;
  const { budget } = fakeBudget(clients, { ratePerSecond: 1_000, burst: 1_000 });
  const hub = new LiveHub(
    bus,
    { maxSubscriptions: 1_000, maxPerClient: 1_000, maxQueued: 10, ...limits },
    budget,
    { subscribed: () => undefined, dropped: () => undefined, delivered: () => undefined },
    0,
  );
  return { hub, joined, left };
}

/** A subscription as the resolvers make one: a place, then its stream. */
const totalsOf = async (hub: LiveHub, topic: Topic, client: string) =>
  hub.channelTotals(await hub.reserve(topic, client), { client, onDrop: () => undefined });

const topicOf = (text: string): Topic => {
  const [channelId, sessionId] = text.split('/');
  return { channelId: channelId!, sessionId };
};

/** Runs the steps; each subscription's outcome: `ok`, or the refusal's limit. */
async function run(
  hub: LiveHub,
  steps: readonly Step[],
): Promise<{ outcomes: string[]; feeds: Map<string, { return(): unknown }> }> {
  const feeds = new Map<string, { return(): unknown }>();
  const outcomes: string[] = [];
  for (const { client, topic, leave } of steps) {
    const name = `${client} ${topic}`;
    if (leave) {
      await feeds.get(name)?.return();
      feeds.delete(name);
      continue;
    }
    try {
      const feed = await totalsOf(hub, topicOf(topic), client);
      feeds.set(name, feed);
      outcomes.push('ok');
    } catch (error) {
      if (!(error instanceof GraphQLError)) throw error;
      outcomes.push(String(error.extensions['limit']));
    }
  }
  return { outcomes, feeds };
}

describe("the hub: a client's share of topics, and its budget for starting them", () => {
  const roomy: BucketOptions = { ratePerSecond: 1_000, burst: 1_000 };
  it.each([
    // [what, limits, client bucket, steps, outcomes of the subscriptions]
    [
      'one client past its share; another still follows its own channel',
      { maxTopics: 8, maxTopicsPerClient: 2 },
      roomy,
      [step('A', '1'), step('A', '1/s1'), step('A', '1/s2'), step('B', '2')],
      ['ok', 'ok', 'liveChannelsPerClient', 'ok'],
    ],
    [
      'joining a topic already followed is not starting one',
      { maxTopics: 8, maxTopicsPerClient: 1 },
      roomy,
      [step('A', '1'), step('B', '2'), step('A', '2'), step('A', '1')],
      ['ok', 'ok', 'ok', 'ok'],
    ],
    [
      'topics it follows count towards its share, whoever started them',
      { maxTopics: 8, maxTopicsPerClient: 2 },
      roomy,
      [step('B', '2'), step('A', '2'), step('A', '1'), step('A', '3')],
      ['ok', 'ok', 'ok', 'liveChannelsPerClient'],
    ],
    [
      'leaving a topic frees its place in the share',
      { maxTopics: 8, maxTopicsPerClient: 1 },
      roomy,
      [step('A', '1'), step('A', '1/s1'), leave('A', '1'), step('A', '1/s1')],
      ['ok', 'liveChannelsPerClient', 'ok'],
    ],
    [
      'the replica full: refused whoever asks, past their share or not',
      { maxTopics: 3, maxTopicsPerClient: 2 },
      roomy,
      [step('A', '1'), step('A', '1/s1'), step('B', '2'), step('C', '3'), step('A', '1/s2')],
      ['ok', 'ok', 'ok', 'liveChannels', 'liveChannelsPerClient'],
    ],
    [
      'a spent budget refuses starting a topic, not joining one',
      { maxTopics: 8, maxTopicsPerClient: 8 },
      { ratePerSecond: 0.001, burst: 2 },
      [step('A', '1'), step('A', '1/s1'), step('A', '1/s2'), step('B', '2'), step('A', '2')],
      ['ok', 'ok', 'liveUpstreamCalls', 'ok', 'ok'],
    ],
  ] as [
    string,
    { maxTopics: number; maxTopicsPerClient: number },
    BucketOptions,
    Step[],
    string[],
  ][])('%s', async (_what, limits, clients, steps, expected) => {
    const { hub } = fakeHub(limits, clients);
    expect((await run(hub, steps)).outcomes).toEqual(expected);
  });

  it('keeps a topic followed for a place until a stream takes it or it is given back; a place serves one stream', async () => {
    const { hub, joined, left } = fakeHub({ maxTopics: 8, maxTopicsPerClient: 1 }, roomy);
    const unused = await hub.reserve(topicOf('1'), 'A');
    expect(joined).toHaveLength(1);
    // A reserved place counts: A holds its one topic already.
    await expect(hub.reserve(topicOf('2'), 'A')).rejects.toMatchObject({
      extensions: { limit: 'liveChannelsPerClient' },
    });
    unused.release();
    unused.release();
    expect(left).toEqual([topicOf('1')]);

    const used = await hub.reserve(topicOf('1'), 'A');
    const feed = hub.channelTotals(used, { client: 'A', onDrop: () => undefined });
    expect(() => hub.channelTotals(used, { client: 'A', onDrop: () => undefined })).toThrow(
      /a place of its own/,
    );
    // Given back by whoever made it (the resolver, finally): the stream holds it.
    used.release();
    expect(left).toHaveLength(1);
    await feed.return();
    expect(left).toEqual([topicOf('1'), topicOf('1')]);
    expect(hub.subscriptions).toBe(0);
  });

  it('says when to retry past the budget', async () => {
    const { hub } = fakeHub(
      { maxTopics: 8, maxTopicsPerClient: 8 },
      { ratePerSecond: 0.25, burst: 1 },
    );
    await totalsOf(hub, topicOf('1'), 'A');
    const refused = totalsOf(hub, topicOf('1/s1'), 'A');
    await expect(refused).rejects.toMatchObject({
      message: expect.stringMatching(/retry in 4 s/),
      extensions: { code: 'RATE_LIMITED', limit: 'liveUpstreamCalls', retryAfterSeconds: 4 },
    });
  });

  it('lets concurrent first subscribers of one topic pay once', async () => {
    const { hub, joined } = fakeHub(
      { maxTopics: 8, maxTopicsPerClient: 8 },
      { ratePerSecond: 0.001, burst: 1 },
    );
    const all = await Promise.allSettled(
      Array.from({ length: 10 }, () => totalsOf(hub, topicOf('1'), 'A')),
    );
    expect(all.map((result) => result.status)).toEqual(Array(10).fill('fulfilled'));
    expect(joined).toHaveLength(1);
  });

  it("has a topic's walks paid by its oldest subscriber, the one that started it while it stays", async () => {
    const { hub, joined, left } = fakeHub({ maxTopics: 8, maxTopicsPerClient: 8 }, roomy);
    const { feeds } = await run(hub, [step('A', '1'), step('B', '1'), step('C', '1')]);
    const payer = joined[0]!.payer;
    expect(payer()).toBe('A');
    await feeds.get('A 1')!.return();
    expect(payer()).toBe('B');
    await feeds.get('B 1')!.return();
    await feeds.get('C 1')!.return();
    expect(payer()).toBeUndefined();
    // And the topic was left when its last subscriber went.
    expect(left).toEqual([topicOf('1')]);
  });
});

// ---------------------------------------------------------------------------------------------
// A poll given up half way

describe('a poll whose topic is left', () => {
  it.each([
    // [what, calls made before the topic is left]
    ['during the head read', 1],
    ['during the walk', 3],
  ])('%s: rejects, and asks for nothing more', async (_what, leaveAfter) => {
    const left = new AbortController();
    let calls = 0;
    const call = async () => {
      left.signal.throwIfAborted();
      calls++;
      if (calls === leaveAfter) left.abort(new Error('left'));
      await Promise.resolve();
    };
    const poller = new TopicPoller(
      { channelId: '2812610' },
      {
        readHead: async () => {
          await call();
          return { items: [], totalItems: 0 };
        },
        // A walk of ten pages, asking before each whether someone still listens.
        walkTotals: async () => {
          for (let page = 0; page < 10; page++) await call();
          return { builder: redPackSummaryBuilder(), head: [], asOf: new Date(0) };
        },
        describeError: (error) => ({ message: String(error), extensions: {} }),
        now: () => 0,
      },
    );
    await expect(poller.poll({ signal: left.signal })).rejects.toThrow('left');
    expect(calls).toBe(leaveAfter);
  });
});

// ---------------------------------------------------------------------------------------------
// A topic's loop (bus.ts, without Redis): who pays, and nothing after it is left

describe("a topic's loop", () => {
  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
  /** A bus whose pollers record each poll's call, and take `pollTakesMs` each. */
  function recordingBus(pollTakesMs: number) {
    const polls: { payer: string | undefined; signal: AbortSignal; done: boolean }[] = [];
    const delivered: LiveMessage[] = [];
    const bus = new LiveBus({
      pollMs: 20,
      leaseMs: 60,
      redis: undefined,
      logger: createLogger({ level: 'silent' }),
      newPoller: () =>
        ({
          poll: async (call: { payer?: string; signal: AbortSignal }) => {
            const poll = { payer: call.payer, signal: call.signal, done: false };
            polls.push(poll);
            await sleep(pollTakesMs);
            call.signal.throwIfAborted();
            poll.done = true;
            return [{ type: 'ready' }];
          },
          state: () => undefined,
        }) as unknown as TopicPoller,
    });
    const join = (payer: string) =>
      bus.join(
        { channelId: '1' },
        (message) => void delivered.push(message),
        () => payer,
      );
    return { bus, polls, delivered, join };
  }

  it("has the first poll's walk paid by the client that started the topic, and no later one", async () => {
    const { bus, polls, join } = recordingBus(0);
    join('A');
    await sleep(150);
    bus.leave({ channelId: '1' });
    expect(polls.length).toBeGreaterThanOrEqual(3);
    expect(polls.map((poll) => poll.payer)).toEqual([
      'A',
      ...Array<undefined>(polls.length - 1).fill(undefined),
    ]);
  });

  it('stops at once when left: the poll under way is given up, nothing is delivered or scheduled', async () => {
    const { bus, polls, delivered, join } = recordingBus(100);
    join('A');
    await sleep(30);
    expect(polls).toHaveLength(1);
    bus.leave({ channelId: '1' });
    expect(polls[0]!.signal.aborted).toBe(true);
    await sleep(300);
    expect(polls).toHaveLength(1);
    expect(polls[0]!.done).toBe(false);
    expect(delivered).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------
// The settings

describe('the live budget settings', () => {
  it.each([
    // [what, env, expected live settings (a part of them)]
    [
      'the defaults',
      {},
      {
        maxChannels: 50,
        maxChannelsPerClient: 12,
        ceiling: { ratePerSecond: 50, burst: 50 },
        clientBudget: { ratePerSecond: 1, burst: 20 },
      },
    ],
    [
      'a quarter of fewer channels, never none',
      { GATEWAY_LIVE_MAX_CHANNELS: '3' },
      { maxChannels: 3, maxChannelsPerClient: 1 },
    ],
    [
      'the ceiling follows the upstream rate, and the default channels follow the ceiling',
      { POLYV_RATE_PER_SECOND: '10' },
      { maxChannels: 15, maxChannelsPerClient: 3, ceiling: { ratePerSecond: 5, burst: 5 } },
    ],
    [
      'set outright',
      {
        GATEWAY_LIVE_RATE_PER_SECOND: '30',
        GATEWAY_LIVE_MAX_CHANNELS_PER_CLIENT: '5',
        GATEWAY_LIVE_CLIENT_CALLS_PER_MINUTE: '30',
        GATEWAY_LIVE_CLIENT_CALLS_BURST: '8',
      },
      {
        maxChannels: 50,
        maxChannelsPerClient: 5,
        ceiling: { ratePerSecond: 30, burst: 30 },
        clientBudget: { ratePerSecond: 0.5, burst: 8 },
      },
    ],
  ])('%s', (_what, env, expected) => {
    expect(loadConfig(env).live).toEqual(expect.objectContaining(expected));
  });

  it.each([
    // [what, env, the problem]
    [
      'a ceiling above what Polyv may be asked',
      { GATEWAY_LIVE_RATE_PER_SECOND: '101' },
      'GATEWAY_LIVE_RATE_PER_SECOND: at most POLYV_RATE_PER_SECOND (100), what Polyv may be asked in all; got 101',
    ],
    [
      'a ceiling too low for the polls of every channel',
      { GATEWAY_LIVE_RATE_PER_SECOND: '10', GATEWAY_LIVE_MAX_CHANNELS: '50' },
      'GATEWAY_LIVE_MAX_CHANNELS: 50 channels × 1 replicas polled every 3000 ms (GATEWAY_LIVE_POLL_MS) is 16.7 Polyv calls a second, more than GATEWAY_LIVE_RATE_PER_SECOND (10)',
    ],
    [
      'a share larger than the replica',
      { GATEWAY_LIVE_MAX_CHANNELS: '10', GATEWAY_LIVE_MAX_CHANNELS_PER_CLIENT: '11' },
      'GATEWAY_LIVE_MAX_CHANNELS_PER_CLIENT: at most GATEWAY_LIVE_MAX_CHANNELS (10); got 11',
    ],
    [
      'no bucket',
      { GATEWAY_LIVE_CLIENT_CALLS_BURST: '0' },
      'GATEWAY_LIVE_CLIENT_CALLS_BURST: must be an integer of at least 1; got "0"',
    ],
    [
      'no refill',
      { GATEWAY_LIVE_CLIENT_CALLS_PER_MINUTE: '0' },
      'GATEWAY_LIVE_CLIENT_CALLS_PER_MINUTE: must be an integer of at least 1; got "0"',
    ],
  ])('refuses %s', (_what, env, problem) => {
    expect(() => loadConfig(env)).toThrow(problem);
  });
});
