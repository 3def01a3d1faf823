/**
 * What live polling may spend on Polyv, in token buckets (ratelimit/tokenBucket.ts, shared in
 * Redis like the others when it is configured):
 *
 * - A ceiling: every live Polyv call (a poll's head, its extra pages, every page of a totals
 *   walk) first takes a token of one bucket, `GATEWAY_LIVE_RATE_PER_SECOND` (half of
 *   POLYV_RATE_PER_SECOND by default), waiting for it. So whatever subscribers do, live polling
 *   takes at most burst + rate × t Polyv calls in any t seconds, and queries keep the rest.
 * - A budget per client (API key, or address with keys off): the first poll of a topic a client
 *   makes the replica follow (its head, and its totals walk page by page) is paid from that
 *   client's bucket. Its first call is paid when it subscribes (refused, RATE_LIMITED, when the
 *   bucket is empty: `admit`), the rest as they are made (waiting for the bucket to refill). So
 *   subscribing and unsubscribing with ever new topics costs a client at most its bucket,
 *   however fast it goes; following the topics it holds costs one call an interval each
 *   (LiveHub bounds how many it holds).
 *
 * Every wait gives up as soon as the topic is left (its AbortSignal): nothing is spent for a
 * topic nobody follows any more.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { TakeResult, TokenBuckets } from '../ratelimit/tokenBucket.js';

/** The ceiling's one key. */
const CEILING_KEY = 'all';

/** One poll's way to Polyv: given up when the topic is left, and who pays for it. */
export interface LiveCall {
  /** Aborted when the topic is left: no call is started, no wait goes on, after that. */
  signal: AbortSignal;
  /** The client whose budget pays this poll's calls (a topic's first poll), if any. */
  payer?: string | undefined;
  /** Calls already paid by `payer` (at subscribe): they take the ceiling's token only. */
  prepaid?: number;
}

/** Who pays for a topic's first poll, and how much of it is paid already. */
export type FirstPollPayer = Omit<LiveCall, 'signal'>;

export interface LiveBudgetOptions {
  /** The ceiling of every live Polyv call (one key). */
  ceiling: TokenBuckets;
  /** Each client's budget for the topics it starts (keyed by client). */
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

  /** The first poll of a topic `admit` let `client` start: its first call is paid. */
  firstPollOf(client: string): FirstPollPayer {
    return { payer: client, prepaid: 1 };
  }

  /**
   * Before one live Polyv call: waits for the payer's token (when the call is the payer's and
   * not prepaid), then for the ceiling's. Rejects with the signal's reason once it is aborted,
   * and never lets a call start after that.
   */
  async spend(call: LiveCall): Promise<void> {
    if (call.payer !== undefined) {
      if ((call.prepaid ?? 0) > 0) call.prepaid! -= 1;
      else await this.take(this.options.clients, call.payer, call.signal);
    }
    await this.take(this.options.ceiling, CEILING_KEY, call.signal);
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
