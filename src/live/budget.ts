/**
 * What live polling may spend on Polyv, in token buckets (ratelimit/tokenBucket.ts, shared in
 * Redis like the gateway's others when it is configured):
 *
 * - A ceiling: every live Polyv call (a poll's head, its extra pages, every page of a totals
 *   walk) first takes a token of one bucket, `GATEWAY_LIVE_RATE_PER_SECOND` (half of
 *   POLYV_RATE_PER_SECOND by default) with a burst of one second of it, waiting for it. So
 *   whatever subscribers do, live polling makes at most burst + rate × t Polyv calls in any t
 *   seconds, and queries keep the rest of the upstream's rate.
 * - A budget per client (API key, or address with keys off), for what a client can make the
 *   gateway spend by choosing topics rather than by following them: starting a topic the
 *   replica did not follow takes one token when it subscribes (its first poll's head; refused,
 *   RATE_LIMITED, when the bucket is empty: `admit`), and every page of that first poll's totals
 *   walk takes one as it is asked for (waiting for the bucket to refill), from the oldest client
 *   subscribed to it (the one that started it, while it stays). So subscribing and
 *   unsubscribing with ever new topics costs a client at most its bucket, however fast it goes.
 *   What remains comes with following a topic, not with choosing one: a head read an interval,
 *   bounded by the topics a client may hold (LiveHub's per-client share), and a walk every
 *   TOTALS_RESYNC_MS (within the ceiling).
 *
 * Every wait gives up as soon as the topic is left (its AbortSignal), and no call starts after
 * that: nothing is spent for a topic nobody follows any more.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { BucketOptions, TakeResult, TokenBuckets } from '../ratelimit/tokenBucket.js';

/** The ceiling's one key. */
const CEILING_KEY = 'all';

/** One poll's way to Polyv: given up when the topic is left, and who pays for its walk. */
export interface LiveCall {
  /** Aborted when the topic is left: no call starts, no wait goes on, after that. */
  signal: AbortSignal;
  /** The client whose budget pays for the walk's pages (none: the ceiling only). */
  payer?: string | undefined;
}

export interface LiveBudgetOptions {
  /** The ceiling of every live Polyv call (one key). */
  ceiling: TokenBuckets;
  /** Each client's budget for the topics it starts and their walks (keyed by client). */
  clients: TokenBuckets;
  /** Waits `ms`, or rejects with the signal's reason when it aborts first. */
  wait?(ms: number, signal: AbortSignal): Promise<void>;
}

const abortableSleep = (ms: number, signal: AbortSignal) =>
  sleep(Math.max(1, ms), undefined, { signal, ref: false });

export class LiveBudget {
  private readonly wait: (ms: number, signal: AbortSignal) => Promise<void>;

  constructor(private readonly options: LiveBudgetOptions) {
    this.wait = options.wait ?? abortableSleep;
  }

  /**
   * A client is about to make the replica follow a new topic: the first call of its first poll
   * is paid now, or the subscription is refused (how long until the client may try again).
   */
  admit(client: string): Promise<TakeResult> {
    return this.options.clients.take(client);
  }

  /**
   * Before one live Polyv call: waits for a token of `payer`'s bucket, if given, then for one of
   * the ceiling. Rejects with the signal's reason once it is aborted, so that no call starts
   * after that.
   */
  async spend(signal: AbortSignal, payer?: string): Promise<void> {
    if (payer !== undefined) await this.take(this.options.clients, payer, signal);
    await this.take(this.options.ceiling, CEILING_KEY, signal);
  }

  private async take(buckets: TokenBuckets, key: string, signal: AbortSignal): Promise<void> {
    for (;;) {
      signal.throwIfAborted();
      const taken = await buckets.take(key);
      signal.throwIfAborted();
      if (taken.ok) return;
      await this.wait(taken.retryAfterMs, signal);
    }
  }
}

/** The live settings the bounds depend on. */
export interface LiveSpendSettings {
  pollMs: number;
  maxChannelsPerClient: number;
  ceiling: BucketOptions;
  clientBudget: BucketOptions;
}

/**
 * The most live polling may ask Polyv in any window of `windowMs` (docs/subscriptions.md quotes
 * these for 10 s at the defaults):
 * - `perClient`: what one client can cause on one replica: its bucket (the topics it starts and
 *   their first walks), and one head read an interval of each topic it may hold. Following a
 *   topic adds, within the ceiling, its walk every 10 minutes (a page per 1,000 red packs), and
 *   up to 4 more pages a poll while more than 100 red packs arrive within one interval: Polyv's
 *   activity, not the client's choice.
 * - `ceiling`: all live polling (of one replica; of all of them with Redis).
 */
export function liveSpendBounds(
  live: LiveSpendSettings,
  windowMs: number,
): { perClient: number; ceiling: number } {
  const bucket = ({ ratePerSecond, burst }: BucketOptions) =>
    Math.floor(burst + (ratePerSecond * windowMs) / 1000 + 1e-9);
  return {
    perClient:
      bucket(live.clientBudget) +
      live.maxChannelsPerClient * (Math.floor(windowMs / live.pollMs) + 1),
    ceiling: bucket(live.ceiling),
  };
}
