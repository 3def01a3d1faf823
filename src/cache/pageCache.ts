/**
 * The Polyv page cache, between the resolvers' DataLoaders and the signed Polyv client.
 *
 * - Keyed by endpoint and normalised parameters (never timestamp or signature), with a TTL per
 *   endpoint. Only successful answers are cached: what is stored is Polyv's validated `data`,
 *   re-validated on the way out like any upstream answer.
 * - Single flight: concurrent requests for the same page while it is being fetched wait for
 *   that one fetch. In process always; across replicas with Redis, through a short lock: the
 *   replica holding it fetches, the others wait for its answer to land in the cache.
 * - `fresh` (a client's Cache-Control: no-cache) skips the read but still shares a fetch in
 *   flight and refreshes the cache; it still passes the upstream guard like any call.
 * - `noStore` (a bulk read: an export) reads the cache and shares fetches in flight but writes
 *   nothing: an export's 100 pages do not fit the cache's share (32 MB) anyway, so storing them
 *   only evicts the dashboards' pages and, measured in bench/export.ts, grew the gateway's RSS
 *   by 54 MB over a 100,000-row export where 8 MB is the export's own.
 *
 * Why ours and not a library: the caches that coalesce (cache-manager's `wrap`, keyv wrappers,
 * @apollo/datasource-rest's request deduplication) do so within one process; behind a load
 * balancer every replica would then ask Polyv for the same page, and the upstream budget is the
 * account's, shared by all of them. Measured (test/redis.test.ts): 60 identical dashboard
 * queries spread over 3 replicas, Polyv at 100 ms, make exactly one call per distinct page (2),
 * where per-process coalescing makes up to one per replica (6). The lock is a plain
 * `SET NX PX` with a 5 s expiry and waiters polling the cache: a lock lost to a crash costs one
 * extra fetch, never a wrong answer, so it needs none of Redlock's multi-master quorum.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { z } from 'zod';
import { readWire } from '../polyv/wireCheck.js';
import type { SharedRedis } from './redis.js';
import type { SharedCache } from './sharedCache.js';

export interface CachedFetch<T> {
  /** Short endpoint name, e.g. `redPackStatistics`. */
  endpoint: string;
  /** Normalised parameters (without appId, timestamp, sign). */
  params: string;
  /** 0 disables caching for this call. */
  ttlMs: number;
  /** Skip the cache read (still coalesce and write). */
  fresh: boolean;
  /** Keep what this call fetches out of the cache (still read it and coalesce): a bulk read. */
  noStore?: boolean;
  /** Validates what comes out of the cache, as the client validates Polyv's answers. */
  schema: z.ZodType<T>;
  fetch: () => Promise<T>;
}

/** A page's data and when it was fetched from Polyv (epoch ms). */
export interface Fetched<T> {
  value: T;
  fetchedAt: number;
}

/** How long a replica may hold a page's fetch lock; other replicas wait at most this long. */
const LOCK_MS = 5_000;
const LOCK_POLL_MS = 25;

const RELEASE_LOCK = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

export class PolyvPageCache {
  private readonly inFlight = new Map<string, Promise<Fetched<unknown>>>();

  constructor(
    private readonly cache: SharedCache,
    private readonly redis: SharedRedis | undefined,
  ) {}

  /** Bytes the in-process copy holds. */
  get localBytes(): number {
    return this.cache.localBytes;
  }

  /** The page's data and when Polyv produced it (epoch ms): a cached page is as old as its fetch. */
  async get<T>(call: CachedFetch<T>): Promise<Fetched<T>> {
    if (call.ttlMs <= 0) return { value: await call.fetch(), fetchedAt: Date.now() };
    const key = `${call.endpoint}:${call.params}`;

    if (!call.fresh) {
      const cached = await this.read(key, call.schema);
      if (cached !== undefined) return cached;
    }
    const pending = this.inFlight.get(key);
    if (pending) return pending as Promise<Fetched<T>>;
    const flight = this.fetchOnce(key, call).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, flight);
    return flight;
  }

  private async fetchOnce<T>(key: string, call: CachedFetch<T>): Promise<Fetched<T>> {
    const lock = await this.acquireLock(key);
    try {
      if (lock === 'held-elsewhere') {
        // Another replica is fetching this page: wait for its answer, then fetch only if it fails.
        const landed = await this.waitForOtherReplica(key, call.schema);
        if (landed !== undefined) return landed;
      } else if (lock !== undefined && !call.fresh) {
        // Another replica may have fetched it between our cache miss and taking the lock.
        const landed = await this.read(key, call.schema);
        if (landed !== undefined) return landed;
      }
      const fetchedAt = Date.now();
      const value = await call.fetch();
      // A page is as old as its fetch: it stays cached for its TTL from then, not from now.
      const leftMs = call.ttlMs - (Date.now() - fetchedAt);
      if (!call.noStore && leftMs > 0)
        await this.cache.set(key, JSON.stringify({ at: fetchedAt, data: value }), {
          ttl: leftMs / 1000,
        });
      return { value, fetchedAt };
    } finally {
      if (typeof lock === 'string' && lock !== 'held-elsewhere') await this.releaseLock(key, lock);
    }
  }

  private async read<T>(key: string, schema: z.ZodType<T>): Promise<Fetched<T> | undefined> {
    const text = await this.cache.get(key);
    if (text === undefined) return undefined;
    try {
      const entry: unknown = JSON.parse(text);
      if (
        typeof entry !== 'object' ||
        entry === null ||
        !('at' in entry) ||
        typeof entry.at !== 'number' ||
        !('data' in entry)
      )
        return undefined;
      const parsed = readWire(schema, entry.data);
      // A corrupt entry is a miss, never a wrong answer.
      return parsed.success ? { value: parsed.data, fetchedAt: entry.at } : undefined;
    } catch {
      return undefined;
    }
  }

  /** A token when we hold the lock, 'held-elsewhere', or undefined when there is no Redis. */
  private async acquireLock(key: string): Promise<string | 'held-elsewhere' | undefined> {
    if (!this.redis?.available) return undefined;
    const token = `${process.pid}:${Math.random().toString(36).slice(2)}`;
    try {
      const set = await this.redis.client.set(this.lockKey(key), token, 'PX', LOCK_MS, 'NX');
      return set === 'OK' ? token : 'held-elsewhere';
    } catch (error) {
      this.redis.fellBack(error);
      return undefined;
    }
  }

  private async waitForOtherReplica<T>(
    key: string,
    schema: z.ZodType<T>,
  ): Promise<Fetched<T> | undefined> {
    const until = Date.now() + LOCK_MS;
    while (Date.now() < until) {
      await sleep(LOCK_POLL_MS);
      const landed = await this.read(key, schema);
      if (landed !== undefined) return landed;
      if (!this.redis?.available) return undefined;
      try {
        if ((await this.redis.client.exists(this.lockKey(key))) === 0)
          return this.read(key, schema);
      } catch (error) {
        this.redis.fellBack(error);
        return undefined;
      }
    }
    return undefined;
  }

  private async releaseLock(key: string, token: string): Promise<void> {
    try {
      await this.redis?.client.eval(RELEASE_LOCK, 1, this.lockKey(key), token);
    } catch (error) {
      // The lock expires by itself.
      this.redis?.fellBack(error);
    }
  }

  private lockKey(key: string): string {
    return `${this.redis?.prefix ?? ''}lock:${key}`;
  }
}
