/**
 * Surviving every upstream fault, over real HTTP against the emulator's fault injection:
 * the fault matrix, the circuit breaker, the shared QPS back-off, the bounded queue, the token
 * bucket and the request deadline. Calls and their timing are read at the emulator.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import type { Fault } from '../src/emulator/index.js';
import { expectNoLeaks, secretsOf } from './support/leaks.js';
import { startStack, type GraphQLResponse, type Stack } from './support/stack.js';

/** Every answer of this suite, for the leak check at the end. */
const transcript: string[] = [];
async function ask(stack: Stack, query: string): Promise<GraphQLResponse> {
  const response = await stack.graphql(query);
  transcript.push(JSON.stringify(response));
  return response;
}
const redPacks = (first: number, channel = '2812612') =>
  `{ channel(id: "${channel}") { redPacks(first: ${first}) { totalCount } } }`;
const firstError = (response: GraphQLResponse) => response.errors?.[0]?.extensions;

async function healthy(stack: Stack): Promise<void> {
  expect((await fetch(`${stack.gateway.url}/healthz`)).status).toBe(200);
  const response = await ask(stack, redPacks(3));
  expect(response.data).toEqual({ channel: { redPacks: { totalCount: 40 } } });
}

describe('fault matrix', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      env: {
        POLYV_TIMEOUT_MS: '500',
        POLYV_RETRIES: '2',
        POLYV_QPS_BACKOFF_MS: '50',
        POLYV_BREAKER_VOLUME: '100000',
      },
    });
  });
  afterAll(async () => {
    expectNoLeaks(
      [...transcript, JSON.stringify(stack.logs)].join('\n'),
      secretsOf(stack.emulator),
    );
    await stack.close();
  });
  beforeEach(() => {
    stack.emulator.clearFaults();
    stack.emulator.resetCounters();
  });

  // [fault, reason, attempts made when it persists]
  it.each<[Fault, string, number]>([
    ['http500', 'HTTP_5XX', 3],
    ['http502', 'HTTP_5XX', 3],
    ['http503', 'HTTP_5XX', 3],
    ['html', 'HTTP_5XX', 3],
    ['timeout', 'TIMEOUT', 3],
    ['slow', 'TIMEOUT', 3],
    ['reset', 'NETWORK', 3],
    ['qps', 'POLYV_RATE_LIMIT', 3],
    ['malformedJson', 'MALFORMED', 1],
    ['html200', 'MALFORMED', 1],
  ])(
    '%s: UPSTREAM_UNAVAILABLE (%s) after %p attempts; the gateway stays up',
    async (fault, reason, attempts) => {
      stack.emulator.injectFaults(fault, attempts);
      const response = await ask(stack, redPacks(2));
      expect(response.status).toBe(200);
      expect(response.data).toEqual({ channel: null });
      expect(firstError(response)).toMatchObject({
        code: 'UPSTREAM_UNAVAILABLE',
        reason,
        attempts,
      });
      expect(stack.emulator.calls.map((call) => call.outcome)).toEqual(
        Array(attempts).fill(`fault:${fault}`),
      );
      await healthy(stack);
    },
  );

  it.each<Fault>(['http500', 'timeout', 'reset', 'qps', 'html'])(
    '%s once: retried and answered within the same request',
    async (fault) => {
      stack.emulator.injectFaults(fault, 1);
      const response = await ask(stack, redPacks(2));
      expect(response.errors).toBeUndefined();
      expect(response.data).toEqual({ channel: { redPacks: { totalCount: 40 } } });
      expect(stack.emulator.calls.map((call) => call.outcome)).toEqual([`fault:${fault}`, 'ok']);
    },
  );

  it('signature errors: UPSTREAM_ERROR with Polyv code and message, never retried', async () => {
    const wrong = await startStack({ env: { POLYV_APP_SECRET: 'not-the-right-secret' } });
    try {
      const response = await ask(wrong, redPacks(2));
      expect(firstError(response)).toMatchObject({
        code: 'UPSTREAM_ERROR',
        attempts: 1,
        polyv: { code: 20002, message: 'invalid signature.', requestId: expect.any(String) },
      });
      expect(wrong.emulator.calls).toHaveLength(1);
      expect(JSON.stringify(response)).not.toContain('not-the-right-secret');
    } finally {
      await wrong.close();
    }
  });
});

describe('circuit breaker', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      env: {
        POLYV_RETRIES: '0',
        POLYV_BREAKER_VOLUME: '4',
        POLYV_BREAKER_ERROR_PERCENT: '50',
        POLYV_BREAKER_RESET_MS: '400',
      },
    });
  });
  afterAll(() => stack.close());

  it('opens while Polyv keeps failing, fails fast without calling it, and closes after a good probe', async () => {
    stack.emulator.injectFaults('http503', 100);
    for (let index = 1; index <= 4; index++) {
      expect(firstError(await ask(stack, redPacks(index)))).toMatchObject({ reason: 'HTTP_5XX' });
    }
    expect(stack.gateway.guard.state).toBe('open');
    const fast = await ask(stack, redPacks(5));
    expect(firstError(fast)).toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
      reason: 'CIRCUIT_OPEN',
    });
    expect(stack.emulator.calls).toHaveLength(4);

    // Polyv recovers; after the pause one probe goes through and closes the circuit.
    stack.emulator.clearFaults();
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect((await ask(stack, redPacks(6))).data).toEqual({
      channel: { redPacks: { totalCount: 40 } },
    });
    expect(stack.gateway.guard.state).toBe('closed');
    expect(stack.emulator.calls).toHaveLength(5);
  });

  it('does not count Polyv refusing a request (e.g. channel not found) as Polyv failing', async () => {
    for (let index = 0; index < 8; index++) {
      expect(firstError(await ask(stack, redPacks(1, '99999')))).toMatchObject({
        code: 'UPSTREAM_ERROR',
      });
    }
    expect(stack.gateway.guard.state).toBe('closed');
  });
});

describe('shared back-off after "qps exceeds"', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      env: { POLYV_QPS_BACKOFF_MS: '600', POLYV_RETRIES: '1', POLYV_BREAKER_VOLUME: '100000' },
    });
  });
  afterAll(() => stack.close());

  it('holds every caller back, not just the request that saw it', async () => {
    stack.emulator.injectFaults('qps', 1);
    const first = ask(stack, redPacks(2));
    // Wait until Polyv has answered "qps exceeds", then a different client asks for something else.
    while (!stack.emulator.calls.some((call) => call.outcome === 'fault:qps'))
      await new Promise((resolve) => setTimeout(resolve, 5));
    const second = ask(stack, redPacks(1, '2812614'));
    const [a, b] = await Promise.all([first, second]);
    expect(a.data).toEqual({ channel: { redPacks: { totalCount: 40 } } });
    expect(b.data).toEqual({ channel: { redPacks: { totalCount: 5 } } });

    const [qps, ...after] = stack.emulator.calls;
    expect(qps!.outcome).toBe('fault:qps');
    expect(after).toHaveLength(2);
    for (const call of after) expect(call.at - qps!.at).toBeGreaterThanOrEqual(550);
  });
});

describe('bounded concurrency and queue', () => {
  it('keeps at most N calls in flight and fails waiters cleanly at the queue timeout', async () => {
    const stack = await startStack({
      env: { POLYV_MAX_CONCURRENCY: '2', POLYV_QUEUE_TIMEOUT_MS: '300' },
    });
    try {
      stack.emulator.setLatency(700);
      const answers = await Promise.all(
        [1, 2, 3, 4, 5, 6].map((first) => ask(stack, redPacks(first))),
      );
      const served = answers.filter((answer) => answer.errors === undefined);
      const refused = answers.map(firstError).filter(Boolean);
      expect(served).toHaveLength(2);
      expect(refused).toEqual(
        Array(4).fill(
          expect.objectContaining({ code: 'UPSTREAM_UNAVAILABLE', reason: 'QUEUE_TIMEOUT' }),
        ),
      );
      expect(stack.emulator.maxInFlight).toBe(2);
      expect(stack.emulator.calls).toHaveLength(2);
    } finally {
      await stack.close();
    }
  });

  it('refuses at once when the queue is full', async () => {
    const stack = await startStack({
      env: { POLYV_MAX_CONCURRENCY: '1', POLYV_MAX_QUEUE: '1', POLYV_QUEUE_TIMEOUT_MS: '5000' },
    });
    try {
      stack.emulator.setLatency(300);
      const answers = await Promise.all([1, 2, 3].map((first) => ask(stack, redPacks(first))));
      expect(answers.map((answer) => firstError(answer)?.reason ?? 'ok')).toEqual([
        'ok',
        'ok',
        'QUEUE_FULL',
      ]);
    } finally {
      await stack.close();
    }
  });
});

describe('upstream token bucket', () => {
  it('never lets more than burst + rate × t calls reach Polyv in any window', async () => {
    const rate = 10;
    const burst = 2;
    const stack = await startStack({
      env: {
        POLYV_RATE_PER_SECOND: String(rate),
        POLYV_RATE_BURST: String(burst),
        POLYV_QUEUE_TIMEOUT_MS: '5000',
      },
    });
    try {
      // Checked on the grants, where the promise is made (load.test.ts cross-checks at Polyv).
      const grants: number[] = [];
      stack.gateway.guard.onGrant((grant) => grants.push(grant.grantedAt));
      const answers = await Promise.all(
        Array.from({ length: 14 }, (_, index) => ask(stack, redPacks(index + 1))),
      );
      expect(answers.every((answer) => answer.errors === undefined)).toBe(true);
      expect(stack.emulator.calls).toHaveLength(14);
      const times = grants.sort((a, b) => a - b);
      expect(times).toHaveLength(14);
      for (const [index, start] of times.entries()) {
        for (const [offset, end] of times.slice(index).entries()) {
          const inWindow = offset + 1;
          expect(inWindow).toBeLessThanOrEqual(
            Math.floor(burst + (rate * (end - start)) / 1000 + 1e-9),
          );
        }
      }
      // Not vacuous: 14 calls at 2 + 10/s need more than a second of grants.
      expect((times.at(-1) ?? 0) - (times[0] ?? 0)).toBeGreaterThanOrEqual(1_100);
    } finally {
      await stack.close();
    }
  });
});

describe('request deadline', () => {
  it('answers by the deadline even when Polyv is slower, without retrying past it', async () => {
    const stack = await startStack({
      env: { GATEWAY_REQUEST_TIMEOUT_MS: '400', POLYV_TIMEOUT_MS: '5000', POLYV_RETRIES: '3' },
    });
    try {
      stack.emulator.setLatency(5_000);
      const started = Date.now();
      const response = await ask(stack, redPacks(2));
      const elapsed = Date.now() - started;
      expect(firstError(response)).toMatchObject({
        code: 'UPSTREAM_UNAVAILABLE',
        reason: 'TIMEOUT',
        attempts: 1,
      });
      // Without the deadline the answer would take Polyv's 5 s; the margin is for a busy machine.
      expect(elapsed).toBeLessThan(2_500);
    } finally {
      await stack.close();
    }
  });
});
