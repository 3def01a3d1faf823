/**
 * Scale-out with a real Redis: three gateway processes behave like one careful client, and a
 * Redis outage fails no request. Upstream calls and their timing are read at one emulator.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { hashApiKey } from '../src/auth/apiKeys.js';
import { startEmulator, type PolyvEmulator } from '../emulator/index.js';
import { bearer } from './support/keys.js';
import { polyvEnv, startProcess, stopProcess } from './support/process.js';
import {
  PrivateRedis,
  requireSharedRedis,
  SHARED_REDIS_URL,
  uniquePrefix,
} from './support/redis.js';
import { postGraphQL, startStack, type Stack } from './support/stack.js';

const DASHBOARD = `query Dashboard { channel(id: "2812611") {
  redPacks(first: 20) { totalCount nodes { id amount { amount } receives { user { nickname } amount { amount } } } }
  incomeRecords(startDate: "2026-10-01", endDate: "2026-10-31", first: 20) { totalCount nodes { id amount { amount } } }
} }`;

beforeAll(requireSharedRedis);

describe('three replicas sharing one Redis', () => {
  let emulator: PolyvEmulator;
  beforeAll(async () => {
    emulator = await startEmulator({ port: 0 });
  });
  afterAll(() => emulator.close());

  async function replicas(env: Record<string, string>) {
    const prefix = uniquePrefix('replicas');
    return Promise.all(
      [1, 2, 3].map(() =>
        startProcess(
          polyvEnv(emulator, {
            REDIS_URL: SHARED_REDIS_URL,
            GATEWAY_REDIS_PREFIX: prefix,
            GATEWAY_REPLICAS: '3',
            ...env,
          }),
        ),
      ),
    );
  }

  it('answer a burst of identical dashboard queries with one upstream call per distinct page', async () => {
    // A starved replica's Redis command may time out (250 ms by default) and fall back to its
    // own cache, which is right in production but not what this test is about.
    const gateways = await replicas({ REDIS_TIMEOUT_MS: '5000' });
    try {
      emulator.resetCounters();
      emulator.setLatency(100);
      // 60 screens refresh at once, spread over the three replicas.
      const answers = await Promise.all(
        Array.from({ length: 60 }, (_, index) =>
          postGraphQL(`${gateways[index % 3]!.url}/graphql`, DASHBOARD),
        ),
      );
      expect(answers.every((answer) => answer.status === 200 && answer.errors === undefined)).toBe(
        true,
      );
      expect(new Set(answers.map((answer) => JSON.stringify(answer.data))).size).toBe(1);
      // Two distinct pages: the red packs and the income.
      expect(emulator.calls.map((call) => call.endpoint).sort()).toEqual([
        'incomeDetail',
        'redPackStatistics',
      ]);
    } finally {
      emulator.setLatency(0);
      await Promise.all(gateways.map(({ child }) => stopProcess(child)));
    }
  });

  it('never exceed the global upstream rate together, whatever the flood', async () => {
    const rate = 10;
    const burst = 5;
    const gateways = await replicas({
      LOG_LEVEL: 'debug',
      // The shared bucket is under test, not the fallback a starved replica's timed-out Redis
      // command would take (its local share is on top of the shared rate, by design).
      REDIS_TIMEOUT_MS: '5000',
      GATEWAY_CACHE: 'off',
      POLYV_RATE_PER_SECOND: String(rate),
      POLYV_RATE_BURST: String(burst),
      POLYV_QUEUE_TIMEOUT_MS: '1000',
      GATEWAY_RATE_PER_SECOND: '100000',
      GATEWAY_RATE_BURST: '100000',
    });
    try {
      emulator.resetCounters();
      const started = Date.now();
      const outcomes: string[] = [];
      // 3 s of 30 concurrent clients, each asking for a page no one else asks for.
      await Promise.all(
        Array.from({ length: 30 }, async (_, client) => {
          for (let request = 0; Date.now() - started < 3_000; request++) {
            const answer = await postGraphQL<unknown>(
              `${gateways[client % 3]!.url}/graphql`,
              `{ channel(id: "2812612") { redPacks(first: ${1 + ((client * 31 + request) % 40)}) { totalCount } } }`,
            );
            outcomes.push(answer.errors ? String(answer.errors[0]!.extensions!.reason) : 'data');
          }
        }),
      );
      const elapsed = (Date.now() - started) / 1000;
      // The promise is made where the shared bucket grants tokens, on Redis's clock: every
      // replica logs each attempt with its grant time.
      const granted = () =>
        gateways.flatMap(({ lines }) =>
          lines.filter((line) => line.msg === 'polyv call' && typeof line.grantedAt === 'number'),
        );
      // The last calls' log lines may still be on their way through the pipes.
      for (let waited = 0; granted().length < emulator.calls.length && waited < 100; waited++)
        await new Promise((resolve) => setTimeout(resolve, 50));
      const attempts = granted();
      expect(
        gateways.some(({ lines }) =>
          lines.some((line) => line.msg.startsWith('redis unavailable')),
        ),
      ).toBe(false);
      const times = attempts.map((line) => Number(line.grantedAt)).sort((a, b) => a - b);
      expect(times).toHaveLength(emulator.calls.length);
      const allowed = (windowMs: number) => Math.floor(burst + (rate * windowMs) / 1000 + 1e-9);
      let peakPerSecond = 0;
      for (const [index, start] of times.entries()) {
        for (const [offset, end] of times.slice(index).entries())
          expect(offset + 1).toBeLessThanOrEqual(allowed(end - start));
        peakPerSecond = Math.max(
          peakPerSecond,
          times.filter((time) => time >= start && time < start + 1_000).length,
        );
      }
      // Polyv's view, with the slack this run measured: a call lands within its attempt's time.
      const slackMs =
        Math.ceil(Math.max(0, ...attempts.map((line) => Number(line.durationMs)))) + 2;
      const stamps = emulator.calls.map((call) => call.at).sort((a, b) => a - b);
      for (const [index, start] of stamps.entries())
        for (const [offset, end] of stamps.slice(index).entries())
          expect(offset + 1).toBeLessThanOrEqual(allowed(end - start + slackMs));
      const counts = outcomes.reduce<Record<string, number>>(
        (all, outcome) => ({ ...all, [outcome]: (all[outcome] ?? 0) + 1 }),
        {},
      );
      console.log(
        `flood over 3 replicas: ${outcomes.length} client requests in ${elapsed.toFixed(1)} s, outcomes ${JSON.stringify(counts)}; ` +
          `${times.length} upstream calls, peak ${peakPerSecond} grants in any 1 s (limit ${burst} + ${rate}/s)`,
      );
      expect(counts.data).toBeGreaterThan(0);
      expect(
        Object.keys(counts).every((outcome) =>
          ['data', 'QUEUE_TIMEOUT', 'QUEUE_FULL', 'DEADLINE_EXCEEDED'].includes(outcome),
        ),
      ).toBe(true);
    } finally {
      await Promise.all(gateways.map(({ child }) => stopProcess(child)));
    }
  });
});

describe('replicas whose keys files bind one name to different grants', () => {
  // One name, three bindings: a rollout that narrows the "dashboard" key, or two teams' files
  // that happen to use the same label. Keyed by name, the response cache replayed the wide
  // key's answers to the narrow ones (issue 20, point 8).
  const WIDE = 'wide-dashboard-key-5d1f0c3a9e';
  const NARROW = 'narrow-dashboard-key-77b2e4c1';
  const keysFile = (entries: { key: string; channels?: string[] }[]) => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'polyv-keys-')), 'keys.json');
    writeFileSync(
      file,
      JSON.stringify(
        entries.map(({ key, channels }) => ({
          name: 'dashboard',
          sha256: hashApiKey(key),
          channels,
        })),
      ),
    );
    return file;
  };
  const OTHER_CHANNEL = `{ channel(id: "2812611") { redPacks(first: 2) { totalCount } } }`;
  const OWN_CHANNEL = `{ channel(id: "2812610") { redPacks(first: 2) { totalCount } } }`;

  let emulator: PolyvEmulator;
  /** The name bound to WIDE, every channel. */
  let wide: Stack;
  /** The name bound to NARROW, channel 2812610 only. */
  let narrow: Stack;
  /** The name bound to WIDE itself, narrowed to channel 2812610 (the next version of the file). */
  let narrowed: Stack;
  /** API keys off: PUBLIC answers. */
  let open: Stack;
  beforeAll(async () => {
    emulator = await startEmulator({ port: 0 });
    const env = {
      GATEWAY_CACHE: 'on',
      REDIS_URL: SHARED_REDIS_URL,
      GATEWAY_REDIS_PREFIX: uniquePrefix('grants'),
      REDIS_TIMEOUT_MS: '5000',
    };
    const keyed = (file: string) => ({ ...env, GATEWAY_AUTH: 'on', GATEWAY_API_KEYS_FILE: file });
    wide = await startStack({ sharedEmulator: emulator, env: keyed(keysFile([{ key: WIDE }])) });
    narrow = await startStack({
      sharedEmulator: emulator,
      env: keyed(keysFile([{ key: NARROW, channels: ['2812610'] }])),
    });
    narrowed = await startStack({
      sharedEmulator: emulator,
      env: keyed(keysFile([{ key: WIDE, channels: ['2812610'] }])),
    });
    open = await startStack({ sharedEmulator: emulator, env });
  });
  afterAll(async () => {
    for (const stack of [wide, narrow, narrowed, open]) await stack?.close();
    await emulator.close();
  });

  it("never replays a wider grant's answer to a narrower key of the same name", async () => {
    const answer = await wide.graphql(OTHER_CHANNEL, undefined, bearer(WIDE));
    expect(answer.data).toEqual({ channel: { redPacks: { totalCount: 300 } } });
    expect(answer.headers.get('cache-control')).toBe('max-age=30, private');
    // The wide replica replays it to itself: the answer is in the shared cache.
    const again = await wide.graphql(OTHER_CHANNEL, undefined, bearer(WIDE));
    expect(again.headers.get('cache-status')).toBe('polyv-graphql; hit');

    for (const [stack, key] of [
      [narrow, NARROW],
      [narrowed, WIDE],
    ] as const) {
      const refused = await stack.graphql(OTHER_CHANNEL, undefined, bearer(key));
      expect(refused.headers.get('cache-status')).toBeNull();
      expect(refused.data).toEqual({ channel: null });
      expect(refused.errors?.map((error) => error.extensions?.code)).toEqual(['FORBIDDEN']);
    }
  });

  it("never replays a keyless replica's PUBLIC answer to a narrower key", async () => {
    const query = `{ channel(id: "2812612") { redPacks(first: 3) { totalCount } } }`;
    const answer = await open.graphql(query);
    expect(answer.headers.get('cache-control')).toBe('max-age=30, public');
    expect((await open.graphql(query)).headers.get('cache-status')).toBe('polyv-graphql; hit');
    const refused = await narrow.graphql(query, undefined, bearer(NARROW));
    expect(refused.errors?.map((error) => error.extensions?.code)).toEqual(['FORBIDDEN']);
    // A key of the whole account may reuse it: it was computed with every channel allowed.
    expect((await wide.graphql(query, undefined, bearer(WIDE))).headers.get('cache-status')).toBe(
      'polyv-graphql; hit',
    );
  });

  it('shares answers between keys with the same grant, whatever their names and replicas', async () => {
    const first = await narrow.graphql(OWN_CHANNEL, undefined, bearer(NARROW));
    expect(first.data).toEqual({ channel: { redPacks: { totalCount: 3500 } } });
    expect(first.headers.get('cache-status')).toBeNull();
    const shared = await narrowed.graphql(OWN_CHANNEL, undefined, bearer(WIDE));
    expect(shared.headers.get('cache-status')).toBe('polyv-graphql; hit');
    expect(shared.data).toEqual(first.data);
  });
});

describe('when Redis fails', () => {
  let redis: PrivateRedis;
  let emulator: PolyvEmulator;
  let a: Stack;
  let b: Stack;
  beforeAll(async () => {
    redis = await PrivateRedis.start();
    emulator = await startEmulator({ port: 0 });
    const env = {
      GATEWAY_CACHE: 'on',
      REDIS_URL: redis.url,
      GATEWAY_REDIS_PREFIX: uniquePrefix('outage'),
      REDIS_TIMEOUT_MS: '200',
    };
    a = await startStack({ sharedEmulator: emulator, env });
    b = await startStack({ sharedEmulator: emulator, env });
  });
  afterAll(async () => {
    await a.close();
    await b.close();
    await emulator.close();
    await redis.stop();
  });

  const waitFor = async (condition: () => boolean) => {
    for (let tries = 0; !condition(); tries++) {
      if (tries > 200) throw new Error('timed out waiting');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  const page = (first: number) =>
    `{ channel(id: "2812612") { redPacks(first: ${first}) { totalCount } } }`;

  it('shares pages while Redis is up', async () => {
    await waitFor(() => a.gateway.redis!.available && b.gateway.redis!.available);
    emulator.resetCounters();
    await a.graphql(page(3));
    expect((await b.graphql(page(3))).data).toEqual({ channel: { redPacks: { totalCount: 40 } } });
    expect(emulator.calls).toHaveLength(1);
  });

  it('fails no request while Redis is stopped, slow, and restarted, and shares again afterwards', async () => {
    const failures: unknown[] = [];
    // Requests answered in each phase: each phase lasts until some were, however slow the machine.
    const answered = { up: 0, stopped: 0, restarted: 0, slow: 0 };
    let phase: keyof typeof answered = 'up';
    let running = true;
    const traffic = (async () => {
      for (let index = 0; running; index++) {
        const stack = index % 2 ? a : b;
        const during: keyof typeof answered = phase;
        const answer = await stack.graphql(page(1 + (index % 30)));
        if (during === phase) answered[during]++;
        if (answer.status !== 200 || answer.errors) failures.push(answer.errors ?? answer.status);
      }
    })();
    const phaseServes = async (next: keyof typeof answered) => {
      phase = next;
      await waitFor(() => answered[next] >= 4);
    };

    await phaseServes('up');
    await redis.stop();
    await waitFor(() => !a.gateway.redis!.available && !b.gateway.redis!.available);
    await phaseServes('stopped');
    await redis.start();
    await waitFor(() => a.gateway.redis!.available && b.gateway.redis!.available);
    await phaseServes('restarted');
    // Redis answers nothing for a second: every command times out (200 ms) meanwhile.
    await redis.sleep(1);
    await phaseServes('slow');
    running = false;
    await traffic;

    expect(failures).toEqual([]);
    expect(Object.values(answered).every((count) => count >= 4)).toBe(true);
    expect(a.gateway.redis!.fallbacks + b.gateway.redis!.fallbacks).toBeGreaterThan(0);
    expect(
      a.logs.some(
        (line) =>
          line.msg ===
          'redis unavailable: falling back to in-process cache and limits until it returns',
      ),
    ).toBe(true);

    // Sharing resumes: a page fetched through one replica is served to the other.
    await waitFor(() => a.gateway.redis!.available && b.gateway.redis!.available);
    emulator.resetCounters();
    await a.graphql(page(33));
    await b.graphql(page(33));
    expect(emulator.calls).toHaveLength(1);
  });
});
