/**
 * One cache interface for everything the gateway caches (upstream pages, whole responses,
 * persisted queries): Apollo's KeyValueCache, so Apollo's own plugins use it as they are.
 *
 * In process, an LRU bounded in bytes. With Redis, Redis is the shared store and the LRU still
 * gets every write, so when Redis fails reads fall back to a warm local copy.
 */
import type { KeyValueCache, KeyValueCacheSetOptions } from '@apollo/utils.keyvaluecache';
import { LRUCache } from 'lru-cache';
import type { SharedRedis } from './redis.js';

export class SharedCache implements KeyValueCache<string> {
  private readonly local: LRUCache<string, string>;

  constructor(
    maxBytes: number,
    private readonly redis: SharedRedis | undefined,
    /** Namespace within the deployment's prefix, e.g. "page:". */
    private readonly namespace: string,
  ) {
    this.local = new LRUCache<string, string>({
      maxSize: maxBytes,
      // UTF-16 strings: two bytes a code unit, plus the key.
      sizeCalculation: (value, key) => 2 * (value.length + key.length) + 64,
      ttlAutopurge: false,
    });
  }

  async get(key: string): Promise<string | undefined> {
    if (this.redis?.available) {
      try {
        const value = await this.redis.client.get(this.redisKey(key));
        return value ?? undefined;
      } catch (error) {
        this.redis.fellBack(error);
      }
    }
    return this.local.get(key);
  }

  /** `ttl` in seconds, as Apollo's caches expect. */
  async set(key: string, value: string, options?: KeyValueCacheSetOptions): Promise<void> {
    const ttlMs = options?.ttl ? Math.ceil(options.ttl * 1000) : undefined;
    this.local.set(key, value, ttlMs ? { ttl: ttlMs } : {});
    if (!this.redis?.available) return;
    try {
      if (ttlMs) await this.redis.client.set(this.redisKey(key), value, 'PX', ttlMs);
      else await this.redis.client.set(this.redisKey(key), value);
    } catch (error) {
      this.redis.fellBack(error);
    }
  }

  async delete(key: string): Promise<boolean> {
    const deleted = this.local.delete(key);
    if (!this.redis?.available) return deleted;
    try {
      return (await this.redis.client.del(this.redisKey(key))) > 0 || deleted;
    } catch (error) {
      this.redis.fellBack(error);
      return deleted;
    }
  }

  /** Bytes held in process (for metrics and the benchmark). */
  get localBytes(): number {
    return this.local.calculatedSize;
  }

  private redisKey(key: string): string {
    return `${this.redis?.prefix ?? ''}${this.namespace}${key}`;
  }
}
