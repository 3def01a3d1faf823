/**
 * Token buckets shared by every replica, in Redis: the same arithmetic as the in-process
 * buckets (tokenBucket.ts), done atomically by a Lua script on Redis's own clock, so N replicas
 * together let at most burst + rate × t calls through in any t seconds.
 *
 * If Redis fails, each replica falls back to an in-process bucket holding its share of the rate
 * (rate / replicas), so an outage never multiplies the global rate. (Why not a library's Redis
 * limiter: see tokenBucket.ts; the arithmetic is one Lua script on Redis's own clock, so
 * replicas with skewed clocks still share one bound.)
 */
import type { SharedRedis } from '../cache/redis.js';
import {
  MemoryTokenBuckets,
  type BucketOptions,
  type TakeResult,
  type TokenBuckets,
} from './tokenBucket.js';

const TAKE_TOKEN = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local perMs = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
if now < at then now = at end
tokens = math.min(burst, tokens + (now - at) * perMs)
local retry = 0
if tokens >= 1 then tokens = tokens - 1 else retry = math.ceil((1 - tokens) / perMs) end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / perMs) + 1000)
return {retry, now}
`;

/** The same refill, then `cost` taken whatever the balance, down to minus the burst. */
const CHARGE_TOKENS = `
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local perMs = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
if now < at then now = at end
tokens = math.max(-burst, math.min(burst, tokens + (now - at) * perMs) - tonumber(ARGV[3]))
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil(2 * burst / perMs) + 1000)
return 1
`;

export class RedisTokenBuckets implements TokenBuckets {
  private readonly fallback: MemoryTokenBuckets;

  constructor(
    private readonly redis: SharedRedis,
    /** Namespace, e.g. "bucket:upstream:". */
    private readonly namespace: string,
    private readonly options: BucketOptions,
    /** Replicas sharing the limit: each takes this share of it while Redis is down. */
    replicas: number,
  ) {
    this.fallback = new MemoryTokenBuckets({
      ratePerSecond: options.ratePerSecond / replicas,
      burst: Math.max(1, Math.floor(options.burst / replicas)),
    });
  }

  async take(key: string): Promise<TakeResult> {
    if (this.redis.available) {
      try {
        const [retryAfterMs, at] = (await this.redis.client.eval(
          TAKE_TOKEN,
          1,
          `${this.redis.prefix}${this.namespace}${key}`,
          this.options.ratePerSecond / 1000,
          this.options.burst,
        )) as [number, number];
        return retryAfterMs === 0 ? { ok: true, at } : { ok: false, retryAfterMs };
      } catch (error) {
        this.redis.fellBack(error);
      }
    }
    return this.fallback.take(key);
  }

  async charge(key: string, tokens: number): Promise<void> {
    if (this.redis.available) {
      try {
        await this.redis.client.eval(
          CHARGE_TOKENS,
          1,
          `${this.redis.prefix}${this.namespace}${key}`,
          this.options.ratePerSecond / 1000,
          this.options.burst,
          Math.max(0, tokens),
        );
        return;
      } catch (error) {
        this.redis.fellBack(error);
      }
    }
    return this.fallback.charge(key, tokens);
  }
}
