/**
 * What live polling spends on Polyv when clients churn (issue 20, points 4 and 5), against real
 * servers: gateways on an emulator that counts every call, real graphql-ws clients, real Redis.
 *
 * The attack: a key holding at most one subscription at a time (subscribe, unsubscribe,
 * subscribe again with a new sessionId, …) made every new topic cost a poll and a totals walk,
 * walks went on after everyone had left, and sessionId variants were unlimited. What is
 * asserted: Polyv calls in any 10 s stay within what docs/subscriptions.md promises per key and
 * per replica (`liveSpendBounds` of the gateway's own configuration), calls stop within one
 * poll interval of the last subscriber leaving (a walk of a large channel included), and one key
 * holding its share of topics cannot stop another from following its own channel. The
 * measured figures are printed for the issue.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createClient, type Client } from 'graphql-ws';
import { WebSocket } from 'ws';
import { hashApiKey } from '../src/auth/apiKeys.js';
import { loadConfig } from '../src/config/index.js';
import { BIG_CHANNEL_ID } from '../emulator/data.js';
import { startEmulator, type EmulatorCall, type PolyvEmulator } from '../emulator/index.js';
import { liveSpendBounds } from '../src/live/budget.js';
import { WALK_PAGES_IN_FLIGHT } from '../src/pagination/walk.js';
import { polyvEnv, startProcess, stopProcess } from './support/process.js';
import { requireSharedRedis, SHARED_REDIS_URL, uniquePrefix } from './support/redis.js';
import { startStack, type Stack } from './support/stack.js';

/** 3,500 red packs: a totals walk is four pages of 1,000 (and the head read one of 100). */
const CHANNEL = '2812610';
/** Another key's own channel. */
const OTHER_CHANNEL = '2812611';
const WINDOW_MS = 10_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(
  what: string,
  condition: () => boolean | Promise<boolean>,
  timeoutMs: number,
) {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms: ${what}`);
    await sleep(25);
  }
}

/** One series of a gateway's Prometheus metrics (0 when absent). */
async function metric(baseUrl: string, series: string): Promise<number> {
  const text = await (await fetch(`${baseUrl}/metrics`)).text();
  const line = text.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? 0 : Number(line.slice(series.length + 1));
}
const OPEN = [
  'gateway_live_subscriptions{field="redPackEvents"}',
  'gateway_live_subscriptions{field="channelTotals"}',
];
const openSubscriptions = async (url: string) =>
  (await Promise.all(OPEN.map((series) => metric(url, series)))).reduce((a, b) => a + b, 0);

/** API keys of our own: `count` keys scoped to CHANNEL (as the attacker's was), and one to OTHER_CHANNEL. */
function keysFile(count: number): { file: string; attackers: string[]; other: string } {
  const attackers = Array.from({ length: count }, (_, index) => `attacker-key-${index}-0123456789`);
  const other = 'other-key-abcdef0123456789';
  const file = path.join(mkdtempSync(path.join(tmpdir(), 'polyv-keys-')), 'keys.json');
  writeFileSync(
    file,
    JSON.stringify([
      ...attackers.map((key, index) => ({
        name: `attacker-${index}`,
        sha256: hashApiKey(key),
        channels: [CHANNEL],
      })),
      { name: 'other', sha256: hashApiKey(other), channels: [OTHER_CHANNEL] },
    ]),
  );
  return { file, attackers, other };
}

function wsClient(baseUrl: string, key: string): Client {
  return createClient({
    url: `${baseUrl.replace(/^http/, 'ws')}/graphql`,
    webSocketImpl: WebSocket,
    retryAttempts: 0,
    connectionParams: { authorization: `Bearer ${key}` },
  });
}

interface Outcome {
  results: {
    data?: unknown;
    errors?: { message: string; extensions?: Record<string, unknown> }[];
  }[];
  failure: unknown;
  completed: boolean;
}

/** Subscribes; the outcome fills in as the server answers; `stop` unsubscribes. */
function subscribe(client: Client, query: string) {
  const outcome: Outcome = { results: [], failure: undefined, completed: false };
  const stop = client.subscribe(
    { query },
    {
      next: (result) => void outcome.results.push(result as Outcome['results'][number]),
      error: (error) => void (outcome.failure = error),
      complete: () => void (outcome.completed = true),
    },
  );
  return { outcome, stop };
}

/** The error a subscription was refused with, if it was. */
function refusalOf(outcome: Outcome) {
  if (Array.isArray(outcome.failure))
    return outcome.failure[0] as { extensions?: Record<string, unknown> };
  return outcome.results.find((result) => result.errors)?.errors?.[0];
}

/** redPackEvents of a channel (and session). */
const events = (channelId: string, sessionId?: string) =>
  `subscription { redPackEvents(channelId: "${channelId}"${sessionId ? `, sessionId: "${sessionId}"` : ''}) { kind sequence } }`;

type Refusal = NonNullable<ReturnType<typeof refusalOf>>;

/**
 * The attack, for `ms`: one subscription at a time, each to a topic nobody follows (the channel
 * itself, or a sessionId never used before), dropped when the server answers or 30 ms after it
 * was sent.
 * What the server said to each, by limit.
 */
async function churn(client: Client, label: string, ms: number) {
  const said = new Map<string, number>();
  const examples = new Map<string, Refusal>();
  const until = Date.now() + ms;
  for (let n = 0; Date.now() < until; n++) {
    const sessionId = n % 2 === 0 ? undefined : `${label}-${n}`;
    const { outcome, stop } = subscribe(client, events(CHANNEL, sessionId));
    const sent = Date.now();
    while (
      Date.now() - sent < 50 &&
      outcome.results.length === 0 &&
      !outcome.completed &&
      !outcome.failure
    )
      await sleep(5);
    stop();
    const refusal = refusalOf(outcome);
    // Not refused within the wait: a subscription to events says nothing until there are some.
    const what = refusal
      ? `${String(refusal.extensions?.['code'])}/${String(refusal.extensions?.['limit'] ?? 'requests')}`
      : 'not refused';
    said.set(what, (said.get(what) ?? 0) + 1);
    if (refusal && !examples.has(what)) examples.set(what, refusal);
    // Each refusal says when to retry; an attacker does not listen.
  }
  return { said: Object.fromEntries(said), examples };
}

/**
 * What a key holding `held` subscriptions at a time may spend in WINDOW_MS: its bucket, and a
 * poll an interval of each topic held (liveSpendBounds counts its whole share of topics).
 */
const attackBound = (live: ReturnType<typeof loadConfig>['live'], held: number) =>
  liveSpendBounds({ ...live, maxChannelsPerClient: held }, WINDOW_MS).perClient;

/** Calls answered in [from, to). */
const callsBetween = (calls: readonly EmulatorCall[], from: number, to: number) =>
  calls.filter((call) => call.at >= from && call.at < to);

/** Runs `attack` on every client at once for WINDOW_MS; what Polyv saw during and after it. */
async function measure(
  stack: { emulator: PolyvEmulator; urls: string[] },
  clients: Client[],
  pollMs: number,
) {
  stack.emulator.resetCounters();
  const started = Date.now();
  const told = await Promise.all(
    clients.map((client, index) => churn(client, `k${index}-${started}`, WINDOW_MS)),
  );
  const ended = Date.now();
  // Every subscription is gone (the server has seen the last `complete`).
  await waitFor(
    'no subscription left',
    async () => (await Promise.all(stack.urls.map(openSubscriptions))).every((open) => open === 0),
    10_000,
  );
  const leftAt = Date.now();
  await sleep(2 * pollMs + 500);
  const calls = [...stack.emulator.calls];
  return {
    said: told.map(({ said }) => said),
    refusals: told.flatMap(({ examples }) => [...examples.values()]),
    during: callsBetween(calls, started, started + WINDOW_MS).length,
    elapsed: ended - started,
    afterEnd: callsBetween(calls, ended, Infinity).length,
    /** Calls answered later than one poll interval after the last subscriber left. */
    late: callsBetween(calls, leftAt + pollMs, Infinity).length,
    lastCallAfterLeave: Math.max(0, ...calls.map((call) => call.at)) - leftAt,
  };
}

/**
 * Gateways as processes of their own on one emulator (which stays here, counting calls): the
 * attackers' loop and the gateway must not share a CPU, or the attack measures this process.
 */
async function startGateways(count: number, env: Record<string, string>) {
  const emulator = await startEmulator({ port: 0 });
  const gateways: Awaited<ReturnType<typeof startProcess>>[] = [];
  for (let n = 0; n < count; n++)
    gateways.push(await startProcess(polyvEnv(emulator, { POLYV_TIMEOUT_MS: '15000', ...env })));
  return {
    emulator,
    urls: gateways.map((gateway) => gateway.url),
    async close() {
      await Promise.all(gateways.map(({ child }) => stopProcess(child)));
      await emulator.close();
    },
  };
}
type Gateways = Awaited<ReturnType<typeof startGateways>>;

beforeAll(requireSharedRedis);

describe('one replica: churning keys', () => {
  const { file, attackers } = keysFile(5);
  const env = {
    GATEWAY_AUTH: 'on',
    GATEWAY_API_KEYS_FILE: file,
    // Polyv's rate as deployed (the tests' default is unlimited): the ceiling is half of it.
    POLYV_RATE_PER_SECOND: '100',
    POLYV_RATE_BURST: '50',
  };
  let stack: Gateways;
  const clients: Client[] = [];
  const config = loadConfig(env);
  const bounds = liveSpendBounds(config.live, WINDOW_MS);

  beforeAll(async () => {
    stack = await startGateways(1, env);
  }, 30_000);
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await stack.close();
  });

  it('one key subscribing and unsubscribing with fresh sessionIds for 10 s: within its per-key bound, and nothing after', async () => {
    const client = wsClient(stack.urls[0]!, attackers[0]!);
    clients.push(client);
    const result = await measure(stack, [client], config.live.pollMs);
    const attack = attackBound(config.live, 1);
    console.log(
      `churn, 1 key, 1 replica: ${result.during} Polyv calls in 10 s (bound per key ${bounds.perClient}, ${attack} holding one subscription at a time; following one channel costs ${Math.ceil(WINDOW_MS / config.live.pollMs)}); ` +
        `${result.afterEnd} after the attack ended, ${result.late} later than one poll interval after the last subscriber left; ` +
        `the server said ${JSON.stringify(result.said)}`,
    );
    expect(result.during).toBeLessThanOrEqual(attack);
    expect(attack).toBeLessThanOrEqual(bounds.perClient);
    expect(result.late).toBe(0);
    // It was told why, with a retry hint.
    expect(result.refusals).toContainEqual(
      expect.objectContaining({
        message: expect.stringMatching(/retry in \d+ s/),
        extensions: expect.objectContaining({
          code: 'RATE_LIMITED',
          limit: 'liveUpstreamCalls',
          retryAfterSeconds: expect.any(Number),
        }),
      }),
    );
  }, 60_000);

  it('five keys at once: within five per-key bounds and the replica ceiling, and nothing after', async () => {
    const five = attackers.map((key) => wsClient(stack.urls[0]!, key));
    clients.push(...five);
    const result = await measure(stack, five, config.live.pollMs);
    const attack = 5 * attackBound(config.live, 1);
    console.log(
      `churn, 5 keys, 1 replica: ${result.during} Polyv calls in 10 s (bounds: 5 × ${bounds.perClient} per key, ${attack} holding one subscription at a time each, ceiling ${bounds.ceiling}; Polyv blocks past 1,500); ` +
        `${result.afterEnd} after the attack ended, ${result.late} later than one poll interval after the last subscriber left`,
    );
    expect(result.during).toBeLessThanOrEqual(Math.min(attack, bounds.ceiling));
    expect(result.late).toBe(0);
  }, 60_000);
});

describe('one replica, per-key budgets out of the way: the ceiling holds', () => {
  const { file, attackers } = keysFile(5);
  const env = {
    GATEWAY_AUTH: 'on',
    GATEWAY_API_KEYS_FILE: file,
    POLYV_RATE_PER_SECOND: '100',
    POLYV_RATE_BURST: '50',
    GATEWAY_LIVE_CLIENT_CALLS_PER_MINUTE: '600000',
    GATEWAY_LIVE_CLIENT_CALLS_BURST: '100000',
  };
  let stack: Gateways;
  const clients: Client[] = [];
  const config = loadConfig(env);
  const bounds = liveSpendBounds(config.live, WINDOW_MS);
  beforeAll(async () => {
    stack = await startGateways(1, env);
  }, 30_000);
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await stack.close();
  });

  it('five keys churning: at most the ceiling of live calls in 10 s', async () => {
    const five = attackers.map((key) => wsClient(stack.urls[0]!, key));
    clients.push(...five);
    const result = await measure(stack, five, config.live.pollMs);
    console.log(
      `churn, 5 keys with unlimited per-key budgets, 1 replica: ${result.during} Polyv calls in 10 s (ceiling ${bounds.ceiling} = ${config.live.ceiling.burst} + ${config.live.ceiling.ratePerSecond}/s × 10 s); ` +
        `${result.afterEnd} after the attack ended, ${result.late} later than one poll interval after the last subscriber left`,
    );
    expect(result.during).toBeLessThanOrEqual(bounds.ceiling);
    expect(result.late).toBe(0);
  }, 60_000);
});

describe('two replicas sharing Redis: one key churning on both', () => {
  const { file, attackers } = keysFile(1);
  let stack: Gateways;
  const clients: Client[] = [];
  const prefix = uniquePrefix('live-churn');
  const env = {
    GATEWAY_AUTH: 'on',
    GATEWAY_API_KEYS_FILE: file,
    POLYV_RATE_PER_SECOND: '100',
    POLYV_RATE_BURST: '50',
    REDIS_URL: SHARED_REDIS_URL,
    GATEWAY_REDIS_PREFIX: prefix,
    GATEWAY_REPLICAS: '2',
    REDIS_TIMEOUT_MS: '5000',
  };
  const config = loadConfig(env);
  beforeAll(async () => {
    stack = await startGateways(2, env);
  }, 30_000);
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await stack.close();
  });

  it("shares the key's budget: two replicas do not double what it may spend", async () => {
    const two = stack.urls.map((url) => wsClient(url, attackers[0]!));
    clients.push(...two);
    const result = await measure(stack, two, config.live.pollMs);
    // The key's bucket is one, in Redis: one bucket's worth, and a poll an interval of the one
    // topic it holds at a time on each replica; with a bucket per replica it could spend two.
    const { clientBudget, pollMs } = config.live;
    const bucket = Math.floor(clientBudget.burst + clientBudget.ratePerSecond * (WINDOW_MS / 1000));
    const held = 2 * (Math.floor(WINDOW_MS / pollMs) + 1);
    console.log(
      `churn, 1 key on 2 replicas sharing Redis: ${result.during} Polyv calls in 10 s (bound ${bucket + held}: the key's one bucket ${bucket}, and the topic it holds on each replica ${held}; buckets per replica would allow ${2 * bucket + held}); ` +
        `${result.afterEnd} after the attack ended, ${result.late} later than one poll interval after the last subscriber left; the servers said ${JSON.stringify(result.said)}`,
    );
    expect(result.during).toBeLessThanOrEqual(bucket + held);
    expect(result.late).toBe(0);
  }, 60_000);
});

describe('a walk of a large channel, left half way', () => {
  it('asks Polyv for nothing more within one poll interval of the last subscriber leaving', async () => {
    const stack = await startStack({
      // 30 pages of 1,000 to walk, each answered in 200 ms: the walk takes about a second.
      emulator: { bigChannelRedPacks: 30_000, latencyMs: 200 },
      env: { GATEWAY_LIVE_CLIENT_CALLS_BURST: '1000' },
    });
    const client = createClient({
      url: `${stack.gateway.url.replace(/^http/, 'ws')}/graphql`,
      webSocketImpl: WebSocket,
      retryAttempts: 0,
    });
    try {
      const pollMs = loadConfig({}).live.pollMs;
      const walkPages = () =>
        stack.emulator.calls.filter(
          (call) =>
            call.params['channelId'] === BIG_CHANNEL_ID && call.params['pageSize'] === '1000',
        );
      const { stop } = subscribe(
        client,
        `subscription { channelTotals(channelId: "${BIG_CHANNEL_ID}") { count } }`,
      );
      await waitFor('the walk under way', () => walkPages().length >= 4, 20_000);
      stop();
      const stoppedAt = Date.now();
      await waitFor(
        'no subscription left',
        async () => (await openSubscriptions(stack.gateway.url)) === 0,
        5_000,
      );
      await sleep(2 * pollMs);
      // From the moment the client unsubscribed: the server learns it a little later.
      const after = stack.emulator.calls.filter((call) => call.at >= stoppedAt);
      const lastAt = Math.max(0, ...stack.emulator.calls.map((call) => call.at));
      console.log(
        `walk left half way: ${walkPages().length} of 30 pages asked; ${after.length} calls answered after the unsubscribe ` +
          `(in flight then: at most ${WALK_PAGES_IN_FLIGHT}), the last ${lastAt - stoppedAt} ms after it (bound: one poll interval, ${pollMs} ms)`,
      );
      expect(walkPages().length).toBeLessThan(30);
      expect(after.length).toBeLessThanOrEqual(WALK_PAGES_IN_FLIGHT);
      expect(lastAt - stoppedAt).toBeLessThanOrEqual(pollMs);
    } finally {
      await client.dispose();
      await stack.close();
    }
  }, 60_000);
});

describe('one key holding its share of topics', () => {
  const { file, attackers, other } = keysFile(1);
  let stack: Stack;
  const clients: Client[] = [];
  // The defaults (50 channels a replica, a quarter of them a key), and budgets out of the way:
  // it is the share that is tested.
  const env = {
    GATEWAY_AUTH: 'on',
    GATEWAY_API_KEYS_FILE: file,
    GATEWAY_LIVE_CLIENT_CALLS_BURST: '1000',
    GATEWAY_LIVE_MAX_PER_CONNECTION: '100',
  };
  const config = loadConfig(env);
  beforeAll(async () => {
    stack = await startStack({ env });
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await stack.close();
  });

  /** channelTotals: answered once the topic's first poll is done (the totals), or refused. */
  const open = async (client: Client, channelId: string, sessionId?: string) => {
    const { outcome } = subscribe(
      client,
      `subscription { channelTotals(channelId: "${channelId}"${sessionId ? `, sessionId: "${sessionId}"` : ''}) { count } }`,
    );
    await waitFor(
      'an answer',
      () => outcome.results.length > 0 || outcome.completed || Boolean(outcome.failure),
      15_000,
    );
    return outcome;
  };

  it('refuses it a new topic past its share (liveChannelsPerClient), and cannot stop another key from following its own channel', async () => {
    const attacker = wsClient(stack.gateway.url, attackers[0]!);
    const victim = wsClient(stack.gateway.url, other);
    clients.push(attacker, victim);
    const share = config.live.maxChannelsPerClient;
    expect(share).toBe(12);
    // Session variants of its own channel, as many as it may and then some.
    const outcomes: Outcome[] = [];
    for (let n = 0; n <= share; n++)
      outcomes.push(await open(attacker, CHANNEL, n === 0 ? undefined : `share-${n}`));
    const refusals = outcomes.map(
      (outcome) => refusalOf(outcome)?.extensions?.['limit'] ?? 'accepted',
    );
    expect(refusals).toEqual([...Array<string>(share).fill('accepted'), 'liveChannelsPerClient']);
    // It may still join a topic already followed (that costs Polyv nothing).
    expect(refusalOf(await open(attacker, CHANNEL, 'share-1'))).toBeUndefined();
    // The other key follows its own channel.
    const own = await open(victim, OTHER_CHANNEL);
    console.log(
      `share: the attacking key got ${share} topics of ${config.live.maxChannels}, then ${String(refusals.at(-1))}; ` +
        `the other key's own channel: ${refusalOf(own) ? JSON.stringify(refusalOf(own)) : 'followed'}`,
    );
    expect(refusalOf(own)).toBeUndefined();
    expect(own.results[0]).toEqual({ data: { channelTotals: { count: 300 } } });
  }, 60_000);
});
