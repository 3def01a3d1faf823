/**
 * A Polyv guard that never holds a call back (no breaker trips, no rate limit, no queue
 * pressure): for suites about the client or the budgets, not about the guard, which has tests
 * of its own (breakerPolicy.test.ts, tokenBucket.test.ts, resilience.test.ts).
 */
import { PolyvGuard } from '../../src/polyv/guard.js';
import { MemoryTokenBuckets } from '../../src/ratelimit/tokenBucket.js';

export const generousGuard = (maxConcurrency = 8) =>
  new PolyvGuard({
    maxConcurrency,
    maxQueue: 100,
    queueTimeoutMs: 5_000,
    qpsBackoffMs: 1,
    // errorPercent 100 never opens: opossum opens only above it.
    breaker: { errorPercent: 100, volume: 1_000_000, resetMs: 1_000 },
    buckets: new MemoryTokenBuckets({ ratePerSecond: 100_000, burst: 100_000 }),
  });
