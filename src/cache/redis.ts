/**
 * The optional Redis connection replicas share: cache, token buckets, APQ.
 * Redis failure is not our failure: commands fail fast (no offline queue, short timeout) so
 * callers fall back to in-process state at once, and ioredis reconnects by itself. Availability
 * changes are logged once per change, not once per command.
 */
import type { Redis } from 'ioredis';
import type { Logger } from '../logger.js';

export interface RedisOptions {
  url: string;
  /** Prefix of every key we write, so several deployments (or test runs) can share one Redis. */
  prefix: string;
  /** A command slower than this counts as Redis being unavailable. */
  commandTimeoutMs: number;
}

export class SharedRedis {
  /** Connects; ioredis is loaded here, so a gateway without Redis never loads it. */
  static async connect(options: RedisOptions, logger: Logger): Promise<SharedRedis> {
    const { Redis } = await import('ioredis');
    return new SharedRedis(options, logger, Redis);
  }

  readonly client: Redis;
  readonly prefix: string;
  /** Times a caller fell back to in-process state because Redis failed (for metrics). */
  fallbacks = 0;
  private wasAvailable: boolean | undefined;

  private constructor(
    options: RedisOptions,
    private readonly logger: Logger,
    RedisClient: typeof Redis,
  ) {
    this.prefix = options.prefix;
    this.client = new RedisClient(options.url, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      commandTimeout: options.commandTimeoutMs,
      connectTimeout: 2_000,
      // Reconnect forever, at most every 2 s.
      retryStrategy: (times) => Math.min(times * 100, 2_000),
      lazyConnect: false,
    });
    this.client.on('ready', () => this.noteAvailability(true));
    this.client.on('end', () => this.noteAvailability(false));
    this.client.on('close', () => this.noteAvailability(false));
    // Errors surface through commands; the event only needs a listener so it is not thrown.
    this.client.on('error', () => this.noteAvailability(false));
  }

  get available(): boolean {
    return this.client.status === 'ready';
  }

  /** Called by users of Redis when a command failed and they used in-process state instead. */
  fellBack(error: unknown): void {
    this.fallbacks++;
    this.noteAvailability(false, error);
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }

  private noteAvailability(available: boolean, error?: unknown): void {
    if (available === this.wasAvailable) return;
    this.wasAvailable = available;
    if (available)
      this.logger.info('redis available: sharing cache and limits with other replicas');
    else {
      this.logger.warn(
        { err: error instanceof Error ? { message: error.message } : undefined },
        'redis unavailable: falling back to in-process cache and limits until it returns',
      );
    }
  }
}
