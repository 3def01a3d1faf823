/**
 * The token bucket's promise, proven where it is made: in ANY window between two grants, at
 * most burst + rate × w tokens are handed out. On a fake clock the in-process bucket is checked
 * exhaustively over random schedules (including many takers at the same instant and a clock
 * that jumps back); the Redis bucket is checked on Redis's own clock with concurrent replicas.
 */
import { once } from 'node:events';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { SharedRedis } from '../src/cache/redis.js';
import { createLogger } from '../src/logger.js';
import { RedisTokenBuckets } from '../src/ratelimit/redisTokenBuckets.js';
import {
  MemoryTokenBuckets,
  type BucketOptions,
  type TakeResult,
} from '../src/ratelimit/tokenBucket.js';
import { requireSharedRedis, SHARED_REDIS_URL, uniquePrefix } from './support/redis.js';

/** The bound, exactly: the epsilon only absorbs binary rounding of fractional tokens. */
const allowed = ({ burst, ratePerSecond }: BucketOptions, windowMs: number) =>
  Math.floor(burst + (ratePerSecond * windowMs) / 1000 + 1e-9);

/** The grant windows that break the bound (every pair of grants, so every window that matters). */
function violations(grantTimes: number[], options: BucketOptions) {
  const times = [...grantTimes].sort((a, b) => a - b);
  const found: { count: number; windowMs: number; allowed: number }[] = [];
  for (let i = 0; i < times.length; i++)
    for (let j = i; j < times.length; j++) {
      const windowMs = times[j]! - times[i]!;
      const count = j - i + 1;
      if (count > allowed(options, windowMs))
        found.push({ count, windowMs, allowed: allowed(options, windowMs) });
    }
  return found;
}

const grantsOf = (results: TakeResult[]) => results.flatMap((r) => (r.ok ? [r.at] : []));

describe('in-process token bucket on a fake clock', () => {
  it.each([
    // [what, options, schedule of take times (ms), expected grants]
    [
      'a full burst at one instant, then nothing',
      { ratePerSecond: 10, burst: 3 },
      [0, 0, 0, 0, 0],
      3,
    ],
    [
      'refills one token per 1/rate s',
      { ratePerSecond: 10, burst: 1 },
      [0, 50, 99, 100, 150, 200],
      3,
    ],
    [
      'never holds more than burst after idling',
      { ratePerSecond: 100, burst: 2 },
      [0, 10_000, 10_000, 10_000],
      3,
    ],
    [
      'a clock that jumps back refills nothing',
      { ratePerSecond: 10, burst: 1 },
      [1_000, 0, 500, 1_050, 1_100],
      2,
    ],
  ] as [string, BucketOptions, number[], number][])(
    '%s',
    async (_what, options, schedule, expected) => {
      let now = 0;
      const buckets = new MemoryTokenBuckets(options, () => now);
      const results: TakeResult[] = [];
      for (const at of schedule) {
        now = at;
        results.push(await buckets.take('k'));
      }
      expect(grantsOf(results)).toHaveLength(expected);
      expect(violations(grantsOf(results), options)).toEqual([]);
    },
  );

  it('keeps burst + rate × w in every window, for any schedule of takers', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          ratePerSecond: fc.integer({ min: 1, max: 200 }),
          burst: fc.integer({ min: 1, max: 30 }),
        }),
        // Steps between takes: often 0 (concurrent takers at one instant), sometimes backwards.
        fc.array(
          fc.oneof(
            fc.constant(0),
            fc.integer({ min: 0, max: 40 }),
            fc.integer({ min: -200, max: 0 }),
          ),
          { minLength: 1, maxLength: 300 },
        ),
        async (options, steps) => {
          let now = 1_000_000;
          const buckets = new MemoryTokenBuckets(options, () => now);
          // Every taker of an instant asks at once, as concurrent requests do.
          const results: TakeResult[] = [];
          for (const step of steps) {
            now += step;
            results.push(await buckets.take('k'));
          }
          const grants = grantsOf(results);
          // Grant stamps never go back, whatever the clock did.
          expect(grants).toEqual([...grants].sort((a, b) => a - b));
          expect(violations(grants, options)).toEqual([]);
        },
      ),
      { numRuns: 500, seed: 20261123 },
    );
  });

  it('says how long until the next token, and that wait is enough', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 500 }),
        fc.integer({ min: 1, max: 10 }),
        async (ratePerSecond, burst) => {
          let now = 0;
          const buckets = new MemoryTokenBuckets({ ratePerSecond, burst }, () => now);
          for (let i = 0; i < burst; i++) expect((await buckets.take('k')).ok).toBe(true);
          const refused = await buckets.take('k');
          if (refused.ok) throw new Error('the bucket should be empty');
          now = refused.retryAfterMs;
          expect(await buckets.take('k')).toEqual({ ok: true, at: now });
        },
      ),
      { numRuns: 300, seed: 7 },
    );
  });
});

describe('Redis token bucket, shared by replicas', () => {
  it('keeps burst + rate × w on Redis clock while three replicas take concurrently', async () => {
    await requireSharedRedis();
    const options = { ratePerSecond: 40, burst: 5 };
    const prefix = uniquePrefix('bucket');
    const replicas = await Promise.all(
      Array.from({ length: 3 }, () =>
        SharedRedis.connect(
          { url: SHARED_REDIS_URL, prefix, commandTimeoutMs: 2_000 },
          createLogger({ level: 'silent' }),
        ),
      ),
    );
    try {
      await Promise.all(
        replicas.map((redis) =>
          redis.client.status === 'ready' ? undefined : once(redis.client, 'ready'),
        ),
      );
      const grants: number[] = [];
      const deadline = Date.now() + 1_200;
      await Promise.all(
        replicas.map(async (redis) => {
          const buckets = new RedisTokenBuckets(redis, 'upstream:', options, 3);
          // Eight takers per replica, each taking as fast as Redis answers.
          await Promise.all(
            Array.from({ length: 8 }, async () => {
              while (Date.now() < deadline) {
                const taken = await buckets.take('polyv');
                if (taken.ok) grants.push(taken.at);
              }
            }),
          );
          expect(redis.fallbacks).toBe(0);
        }),
      );
      expect(violations(grants, options)).toEqual([]);
      // Not vacuous: the takers drained the bucket again and again.
      expect(grants.length).toBeGreaterThan(options.burst + options.ratePerSecond * 0.5);
    } finally {
      await Promise.all(replicas.map((redis) => redis.close()));
    }
  });
});
