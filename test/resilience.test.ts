/**
 * Surviving upstream trouble, over real HTTP against the emulator's fault injection: the
 * circuit breaker, the shared QPS back-off, the bounded queue, the token bucket and the request
 * deadline. Calls and their timing are read at the emulator. Each fault on its own, retried or
 * not, is in faults.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { expectNoLeaks, secretsOf } from './support/leaks.js';
import { startStack, type GraphQLResponse, type Stack } from './support/stack.js';

const redPacks = (first: number, channel = '2812612') =>
  `{ channel(id: "${channel}") { redPacks(first: ${first}) { totalCount } } }`;
const firstError = (response: GraphQLResponse) => response.errors?.[0]?.extensions;

describe('Polyv refusing a request', () => {
  it('signature errors: UPSTREAM_ERROR with Polyv code and message, never retried', async () => {
    const wrong = await startStack({ env: { POLYV_APP_SECRET: 'not-the-right-secret' } });
    try {
      const response = await wrong.graphql(redPacks(2));
      expect(firstError(response)).toMatchObject({
        code: 'UPSTREAM_ERROR',
        attempts: 1,
        polyv: { code: 20002, message: 'invalid signature.', requestId: expect.any(String) },
      });
      expect(wrong.emulator.calls).toHaveLength(1);
      expectNoLeaks([JSON.stringify(response), JSON.stringify(wrong.logs)].join('\n'), [
        ...secretsOf(wrong.emulator),
        'not-the-right-secret',
      ]);
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
      expect(firstError(await stack.graphql(redPacks(index)))).toMatchObject({
        reason: 'HTTP_5XX',
      });
    }
    expect(stack.gateway.guard.state).toBe('open');
    const fast = await stack.graphql(redPacks(5));
    expect(firstError(fast)).toMatchObject({
      code: 'UPSTREAM_UNAVAILABLE',
      reason: 'CIRCUIT_OPEN',
    });
    expect(stack.emulator.calls).toHaveLength(4);

    // Polyv recovers; after the pause one probe goes through and closes the circuit.
    stack.emulator.clearFaults();
    await new Promise((resolve) => setTimeout(resolve, 450));
    expect((await stack.graphql(redPacks(6))).data).toEqual({
      channel: { redPacks: { totalCount: 40 } },
    });
    expect(stack.gateway.guard.state).toBe('closed');
    expect(stack.emulator.calls).toHaveLength(5);
  });

  it('does not count Polyv refusing a request (e.g. channel not found) as Polyv failing', async () => {
    for (let index = 0; index < 8; index++) {
      expect(firstError(await stack.graphql(redPacks(1, '99999')))).toMatchObject({
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
    const first = stack.graphql(redPacks(2));
    // Wait until Polyv has answered "qps exceeds", then a different client asks for something else.
    while (!stack.emulator.calls.some((call) => call.outcome === 'fault:qps'))
      await new Promise((resolve) => setTimeout(resolve, 5));
    const second = stack.graphql(redPacks(1, '2812614'));
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
        [1, 2, 3, 4, 5, 6].map((first) => stack.graphql(redPacks(first))),
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
      const answers = await Promise.all([1, 2, 3].map((first) => stack.graphql(redPacks(first))));
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
        Array.from({ length: 14 }, (_, index) => stack.graphql(redPacks(index + 1))),
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
      const response = await stack.graphql(redPacks(2));
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
