/**
 * Token buckets: the one rate-limiting mechanism of the gateway, for calls to Polyv and for
 * each client's GraphQL requests alike. A bucket holds at most `burst` tokens and refills at
 * `ratePerSecond`; each call takes one. So in ANY window of t seconds at most
 * burst + ratePerSecond × t calls pass (no window-boundary doubling, unlike fixed windows).
 *
 * Why ours and not a library: Polyv blocks the account's IP for 5 minutes past 1,500 calls in
 * ANY 10 s, so the bound must hold over sliding windows. rate-limiter-flexible (11.4, the
 * well-kept choice, Redis and memory) counts points per fixed window; its BurstyRateLimiter
 * (10/s plus a burst of 5, on Redis, 5 s of calls every 2 ms) granted 21 calls in its worst 1 s
 * window, where the bound is 15; ours grants at most 15 (test/tokenBucket.test.ts, the property;
 * test/redis.test.ts measures "peak 14 grants in any 1 s (limit 5 + 10/s)" over 3 replicas).
 * We also need what it has no notion of: a grant stamped with the bucket's own clock (the
 * upstream guard checks its promise where it is made), a debt for work already done
 * (`charge`: the CPU a document cost to prepare), and a clock that never runs backwards. It is
 * 80 lines with the Redis script (redisTokenBuckets.ts).
 */
import { LRUCache } from 'lru-cache';

export interface BucketOptions {
  ratePerSecond: number;
  burst: number;
}

/**
 * A token, stamped with the bucket's own clock (ms) at the moment it was granted, so a caller can
 * check the promise exactly where it is made; or how long until the next one.
 */
export type TakeResult = { ok: true; at: number } | { ok: false; retryAfterMs: number };

/** A family of buckets by key (e.g. one per API key, or the single key "polyv"). */
export interface TokenBuckets {
  take(key: string): Promise<TakeResult>;
  /**
   * Takes `tokens` for work already done (the CPU a document cost to parse and validate): the
   * bucket may go into debt, down to minus its burst, which the client's next requests wait off.
   */
  charge(key: string, tokens: number): Promise<void>;
}

interface BucketState {
  tokens: number;
  updatedAt: number;
}

/**
 * A clock that never goes backwards, in epoch-like ms: Date.now() can jump (NTP), and a jump
 * back then forward would hand out a second burst.
 */
export const monotonicClock = (): number => performance.timeOrigin + performance.now();

/** In-process buckets; at most `maxKeys` are remembered (the least recently used go first). */
export class MemoryTokenBuckets implements TokenBuckets {
  private readonly buckets: LRUCache<string, BucketState>;

  constructor(
    private readonly options: BucketOptions,
    private readonly clock: () => number = monotonicClock,
    maxKeys = 10_000,
  ) {
    if (!(options.ratePerSecond > 0) || !(options.burst >= 1)) {
      throw new RangeError(
        `a token bucket needs ratePerSecond > 0 and burst >= 1: ${JSON.stringify(options)}`,
      );
    }
    this.buckets = new LRUCache({ max: maxKeys });
  }

  async take(key: string): Promise<TakeResult> {
    return takeToken(this.buckets.get(key), this.options, this.clock(), (state) =>
      this.buckets.set(key, state),
    );
  }

  async charge(key: string, tokens: number): Promise<void> {
    chargeTokens(this.buckets.get(key), this.options, this.clock(), tokens, (state) =>
      this.buckets.set(key, state),
    );
  }
}

/** The bucket arithmetic, shared by every backend. */
export function takeToken(
  state: BucketState | undefined,
  { ratePerSecond, burst }: BucketOptions,
  clockNow: number,
  save: (state: BucketState) => void,
): TakeResult {
  const perMs = ratePerSecond / 1000;
  // A clock behind the last update refills nothing and moves nothing back.
  const now = state ? Math.max(clockNow, state.updatedAt) : clockNow;
  const elapsed = state ? now - state.updatedAt : 0;
  const tokens = Math.min(burst, (state?.tokens ?? burst) + elapsed * perMs);
  if (tokens >= 1) {
    save({ tokens: tokens - 1, updatedAt: now });
    return { ok: true, at: now };
  }
  save({ tokens, updatedAt: now });
  return { ok: false, retryAfterMs: Math.ceil((1 - tokens) / perMs) };
}

/** Takes `cost` tokens whatever the balance, down to minus the burst (a debt, see `charge`). */
export function chargeTokens(
  state: BucketState | undefined,
  { ratePerSecond, burst }: BucketOptions,
  clockNow: number,
  cost: number,
  save: (state: BucketState) => void,
): void {
  const now = state ? Math.max(clockNow, state.updatedAt) : clockNow;
  const elapsed = state ? now - state.updatedAt : 0;
  const tokens = Math.min(burst, (state?.tokens ?? burst) + (elapsed * ratePerSecond) / 1000);
  save({ tokens: Math.max(-burst, tokens - Math.max(0, cost)), updatedAt: now });
}
