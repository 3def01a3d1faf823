/**
 * Upstream protection, whatever clients do. Every attempt to call Polyv passes, in order:
 *
 * 1. the circuit breaker: while Polyv keeps failing, fail fast (CIRCUIT_OPEN) and let one
 *    probe through after a pause;
 * 2. the QPS back-off: once Polyv answers "qps exceeds", nobody calls it until the back-off ends;
 * 3. the concurrency bound: at most N calls in flight;
 * 4. the token bucket: at most burst + rate × t calls in any t seconds.
 *
 * Waiting in 2–4 happens in one queue per client, served in turn (FairGate, below), so one
 * client's flood cannot make another client wait behind it. Waiting is bounded by the queue
 * timeout and the request's deadline, and at most `maxQueue` attempts may wait at all: a request
 * that cannot be served in time fails cleanly with UPSTREAM_UNAVAILABLE instead of piling up.
 *
 * FairGate is where calls wait for their turn: a free slot (at most `maxConcurrency` in flight)
 * and a token of the upstream bucket. Waiters queue per client (FairQueue); whenever a slot and a
 * token are both to be had, the client whose turn it is gets them. One dispatcher takes the
 * tokens, so a token is never taken for nobody, and nobody polls the bucket on their own schedule
 * (which would serve whoever happened to wake first, i.e. mostly the flood). Each waiter gives up
 * at its own `until`; a full queue refuses, or sheds the longest client's newest waiter to admit
 * a shorter one. Time comes from `Timers`, so the gate runs on a fake clock in tests.
 */
import CircuitBreaker from 'opossum';
import { FairQueue } from '../ratelimit/fairQueue.js';
import type { TakeResult, TokenBuckets } from '../ratelimit/tokenBucket.js';
import {
  PolyvMalformedResponseError,
  PolyvRateLimitedError,
  PolyvUnavailableError,
  PolyvCallRefusedError,
  type UnavailableReason,
} from './errors.js';

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

// The fair gate: every call's wait for a slot and a token, one queue per client.

/** The clock and timers the gate runs on (real ones, or a test's fake). */
export interface Timers {
  /** Epoch ms, the clock deadlines are given on. */
  now(): number;
  /** Calls `run` after `ms`; returns a canceller. */
  after(ms: number, run: () => void): () => void;
}

export const realTimers: Timers = {
  now: () => Date.now(),
  after(ms, run) {
    const timer = setTimeout(run, Math.max(0, ms));
    // A wait alone keeps no process alive: the server's sockets do while it serves.
    timer.unref();
    return () => clearTimeout(timer);
  },
};

export interface FairGateOptions {
  maxConcurrency: number;
  maxQueue: number;
  /** Takes one upstream token (its grant time on the bucket's clock), or says how long until one. */
  take: () => Promise<TakeResult>;
  /** Until when (epoch ms) nobody may be served: Polyv's QPS back-off. */
  pausedUntil: () => number;
  timers?: Timers;
}

/** A waiter's turn: a slot (give it back with `release`) and a token; or why not. */
export type Turn =
  { ok: true; grantedAt: number; release: () => void } | { ok: false; why: 'QUEUE_FULL' | 'LATE' };

interface Waiter {
  client: string;
  until: number;
  settle: (turn: Turn) => void;
  fail: (error: unknown) => void;
  cancelTimer: () => void;
}

export class FairGate {
  private readonly queue = new FairQueue<Waiter>();
  private readonly timers: Timers;
  private active = 0;
  /** The dispatcher is running (it awaits the bucket), or sleeping until a token or the back-off ends. */
  private dispatching = false;

  constructor(private readonly options: FairGateOptions) {
    this.timers = options.timers ?? realTimers;
  }

  /** Calls waiting for a turn. */
  get waiting(): number {
    return this.queue.size;
  }

  /** Turns granted and not yet released. */
  get inFlight(): number {
    return this.active;
  }

  /** Waits for `client`'s turn until `until` (epoch ms). */
  wait(client: string, until: number): Promise<Turn> {
    // A back-off that outlasts the wait allowed: no point queueing.
    if (this.options.pausedUntil() > until) return Promise.resolve({ ok: false, why: 'LATE' });
    if (this.queue.size >= this.options.maxQueue) {
      const shed = this.queue.shedFor(client);
      if (!shed) return Promise.resolve({ ok: false, why: 'QUEUE_FULL' });
      shed.cancelTimer();
      shed.settle({ ok: false, why: 'QUEUE_FULL' });
    }
    return new Promise((settle, fail) => {
      const waiter: Waiter = {
        client,
        until,
        settle,
        fail,
        cancelTimer: this.timers.after(until - this.timers.now(), () => {
          if (this.queue.remove(client, waiter)) settle({ ok: false, why: 'LATE' });
        }),
      };
      this.queue.push(client, waiter);
      this.dispatch();
    });
  }

  /** Serves waiters while there are waiters, slots and tokens. */
  private dispatch(): void {
    if (this.dispatching) return;
    this.dispatching = true;
    void this.serve();
  }

  private async serve(): Promise<void> {
    while (this.queue.size > 0 && this.active < this.options.maxConcurrency) {
      const pause = this.options.pausedUntil() - this.timers.now();
      if (pause > 0) return this.sleep(pause);
      // The slot is held while the token is taken, so no one else can claim it meanwhile.
      this.active++;
      let taken: TakeResult;
      try {
        taken = await this.options.take();
      } catch (error) {
        this.active--;
        const next = this.queue.shift();
        next?.cancelTimer();
        next?.fail(error);
        continue;
      }
      if (!taken.ok) {
        this.active--;
        return this.sleep(taken.retryAfterMs);
      }
      // Chosen only now, with the token in hand: whoever gave up meanwhile is not chosen.
      const next = this.nextInTime();
      if (!next) {
        // Everybody gave up while the token was taken: it goes unused (the bound only gets safer).
        this.active--;
        break;
      }
      next.cancelTimer();
      next.settle({ ok: true, grantedAt: taken.at, release: this.releaser() });
    }
    this.dispatching = false;
  }

  /**
   * The next waiter whose time is not up. A waiter's own timer may run late on a busy event loop;
   * the deadline holds all the same.
   */
  private nextInTime(): Waiter | undefined {
    for (;;) {
      const next = this.queue.shift();
      if (!next || next.until >= this.timers.now()) return next;
      next.cancelTimer();
      next.settle({ ok: false, why: 'LATE' });
    }
  }

  /** Dispatches again after `ms`; arrivals and releases meanwhile need no dispatch of their own. */
  private sleep(ms: number): void {
    this.timers.after(ms, () => void this.serve());
  }

  private releaser(): () => void {
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.active--;
      this.dispatch();
    };
  }
}
