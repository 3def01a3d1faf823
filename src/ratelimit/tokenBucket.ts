/**
 * Token buckets: the one rate-limiting mechanism of the gateway, for calls to Polyv and for
 * each client's GraphQL requests alike. A bucket holds at most `burst` tokens and refills at
 * `ratePerSecond`; each call takes one. So in ANY window of t seconds at most
 * burst + ratePerSecond × t calls pass (no window-boundary doubling, unlike fixed windows).
 */
import { LRUCache } from 'lru-cache';

export interface BucketOptions {
  ratePerSecond: number;
  burst: number;
}

export type TakeResult = { ok: true } | { ok: false; retryAfterMs: number };

/** A family of buckets by key (e.g. one per API key, or the single key "polyv"). */
export interface TokenBuckets {
  take(key: string): Promise<TakeResult>;
}

interface BucketState {
  tokens: number;
  updatedAt: number;
}

/** In-process buckets; at most `maxKeys` are remembered (the least recently used go first). */
export class MemoryTokenBuckets implements TokenBuckets {
  private readonly buckets: LRUCache<string, BucketState>;

  constructor(
    private readonly options: BucketOptions,
    private readonly clock: () => number = Date.now,
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
}

/** The bucket arithmetic, shared by every backend. */
export function takeToken(
  state: BucketState | undefined,
  { ratePerSecond, burst }: BucketOptions,
  now: number,
  save: (state: BucketState) => void,
): TakeResult {
  const perMs = ratePerSecond / 1000;
  const elapsed = state ? Math.max(0, now - state.updatedAt) : 0;
  const tokens = Math.min(burst, (state?.tokens ?? burst) + elapsed * perMs);
  if (tokens >= 1) {
    save({ tokens: tokens - 1, updatedAt: now });
    return { ok: true };
  }
  save({ tokens, updatedAt: now });
  return { ok: false, retryAfterMs: Math.ceil((1 - tokens) / perMs) };
}
