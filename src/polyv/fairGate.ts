/**
 * Where calls wait for their turn at the upstream: a free slot (at most `maxConcurrency` in
 * flight) and a token of the upstream bucket. Waiters queue per client (FairQueue); whenever a
 * slot and a token are both to be had, the client whose turn it is gets them. One dispatcher
 * takes the tokens, so a token is never taken for nobody, and nobody polls the bucket on their
 * own schedule (which would serve whoever happened to wake first, i.e. mostly the flood).
 *
 * Each waiter gives up at its own `until`; a full queue refuses, or sheds the longest client's
 * newest waiter to admit a shorter one. Time comes from `Timers`, so the whole behaviour runs
 * on a fake clock in tests.
 */
import type { TakeResult } from '../ratelimit/tokenBucket.js';
import { FairQueue } from '../ratelimit/fairQueue.js';

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
