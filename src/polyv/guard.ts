/**
 * Upstream protection, whatever clients do. Every attempt to call Polyv passes, in order:
 *
 * 1. the circuit breaker: while Polyv keeps failing, fail fast (CIRCUIT_OPEN) and let one
 *    probe through after a pause;
 * 2. the QPS back-off: once Polyv answers "qps exceeds", nobody calls it until the back-off ends;
 * 3. the concurrency bound: at most N calls in flight;
 * 4. the token bucket: at most burst + rate × t calls in any t seconds.
 *
 * Waiting in 2–4 happens in one queue per client, served in turn (FairGate), so one client's
 * flood cannot make another client wait behind it. Waiting is bounded by the queue timeout and
 * the request's deadline, and at most `maxQueue` attempts may wait at all: a request that cannot
 * be served in time fails cleanly with UPSTREAM_UNAVAILABLE instead of piling up.
 */
import CircuitBreaker from 'opossum';
import type { TokenBuckets } from '../ratelimit/tokenBucket.js';
import {
  PolyvMalformedResponseError,
  PolyvRateLimitedError,
  PolyvUnavailableError,
  PolyvCallRefusedError,
  type UnavailableReason,
} from './errors.js';
import { FairGate } from './fairGate.js';

export interface GuardOptions {
  maxConcurrency: number;
  maxQueue: number;
  queueTimeoutMs: number;
  qpsBackoffMs: number;
  breaker: { errorPercent: number; volume: number; resetMs: number };
  /** The upstream token bucket (in memory, or shared by replicas). */
  buckets: TokenBuckets;
}

/**
 * One call that was granted an upstream token: when (on the bucket's clock, where the rate
 * promise is made) and how long it then took until Polyv's answer or failure was in hand.
 */
export interface PolyvGrant {
  endpoint: string;
  grantedAt: number;
  heldMs: number;
}

/** The bucket key of the single upstream. */
const UPSTREAM_BUCKET = 'polyv';

/** The queue of calls made on behalf of no particular client. */
export const UNKNOWN_CLIENT = 'unknown';

export class PolyvGuard {
  private readonly gate: FairGate;
  private readonly breaker: CircuitBreaker<[() => Promise<unknown>], unknown>;
  private pausedUntil = 0;
  private readonly grantListeners: ((grant: PolyvGrant) => void)[] = [];

  constructor(private readonly options: GuardOptions) {
    this.gate = new FairGate({
      maxConcurrency: options.maxConcurrency,
      maxQueue: options.maxQueue,
      take: () => options.buckets.take(UPSTREAM_BUCKET),
      pausedUntil: () => this.pausedUntil,
    });
    this.breaker = new CircuitBreaker((call: () => Promise<unknown>) => call(), {
      timeout: false, // each attempt has its own HTTP timeout
      errorThresholdPercentage: options.breaker.errorPercent,
      volumeThreshold: options.breaker.volume,
      resetTimeout: options.breaker.resetMs,
      rollingCountTimeout: 10_000,
      rollingCountBuckets: 10,
      // Only Polyv being unwell counts; its answers about our requests do not.
      errorFilter: (error: unknown) =>
        !(error instanceof PolyvUnavailableError || error instanceof PolyvMalformedResponseError),
    });
  }

  /** Breaker state, for health checks and metrics. */
  get state(): 'closed' | 'open' | 'halfOpen' {
    return this.breaker.opened ? 'open' : this.breaker.halfOpen ? 'halfOpen' : 'closed';
  }

  get queueDepth(): number {
    return this.gate.waiting;
  }

  get inFlight(): number {
    return this.gate.inFlight;
  }

  /**
   * Runs one attempt under every protection; `deadline` is the request's (epoch ms), `client`
   * whose turn it waits for (the API key's name, else the client's address). The attempt is
   * told when its token was granted, on the bucket's clock.
   */
  async run<T>(
    endpoint: string,
    attempt: (grantedAt: number) => Promise<T>,
    deadline: number,
    client: string = UNKNOWN_CLIENT,
  ): Promise<T> {
    if (this.breaker.opened)
      throw this.refused(
        endpoint,
        'CIRCUIT_OPEN',
        'Polyv keeps failing: calls are paused for a while (circuit open)',
      );

    const queueDeadline = Math.min(deadline, Date.now() + this.options.queueTimeoutMs);
    const late = () =>
      queueDeadline === deadline
        ? this.refused(
            endpoint,
            'DEADLINE_EXCEEDED',
            'The request ran out of time waiting to call Polyv',
          )
        : this.refused(
            endpoint,
            'QUEUE_TIMEOUT',
            `Waited ${this.options.queueTimeoutMs} ms for a turn to call Polyv`,
          );

    const turn = await this.gate.wait(client, queueDeadline);
    if (!turn.ok)
      throw turn.why === 'QUEUE_FULL'
        ? this.refused(endpoint, 'QUEUE_FULL', 'Too many calls to Polyv are waiting')
        : late();
    const { grantedAt, release } = turn;

    const heldFrom = performance.now();
    try {
      return (await this.breaker.fire(() => attempt(grantedAt))) as T;
    } catch (error) {
      if (error instanceof PolyvRateLimitedError)
        this.pausedUntil = Math.max(this.pausedUntil, Date.now() + this.options.qpsBackoffMs);
      if (isOpenCircuit(error))
        throw this.refused(
          endpoint,
          'CIRCUIT_OPEN',
          'Polyv keeps failing: calls are paused for a while (circuit open)',
        );
      throw error;
    } finally {
      release();
      const grant = { endpoint, grantedAt, heldMs: performance.now() - heldFrom };
      for (const listener of this.grantListeners) listener(grant);
    }
  }

  /** Stops timers so the process can exit. */
  shutdown(): void {
    this.breaker.shutdown();
  }

  /** Listens to breaker transitions (logs, metrics). */
  onBreakerChange(listener: (state: 'open' | 'halfOpen' | 'closed') => void): void {
    this.breaker.on('open', () => listener('open'));
    this.breaker.on('halfOpen', () => listener('halfOpen'));
    this.breaker.on('close', () => listener('closed'));
  }

  /**
   * Listens to every upstream token granted, once its call has settled: the rate limit's
   * promise can be checked on the grants themselves, not only where calls land.
   */
  onGrant(listener: (grant: PolyvGrant) => void): void {
    this.grantListeners.push(listener);
  }

  private refused(
    endpoint: string,
    reason: UnavailableReason,
    message: string,
  ): PolyvCallRefusedError {
    return new PolyvCallRefusedError(message, { endpoint, reason });
  }
}

const isOpenCircuit = (error: unknown): boolean =>
  error instanceof Error && 'code' in error && error.code === 'EOPENBREAKER';
