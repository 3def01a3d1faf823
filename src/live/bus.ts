/**
 * Who polls a topic, and how its messages reach this process's subscribers.
 *
 * Without Redis, each process polls the topics it has subscribers for and hands the messages
 * to them directly. With Redis, one replica polls a topic at a time: it holds the topic's lease
 * (renewed at every poll), publishes each poll's messages over Redis pub/sub, and saves the
 * topic's state, all in one script that does nothing unless the lease is still its own (so a
 * replica that lost its lease while polling cannot publish twice). Every replica with
 * subscribers receives the messages from pub/sub, the poller's own included. If the poller
 * dies, its lease lapses and a replica with subscribers takes over within one lease period,
 * going on from the saved state, so the diff of its first poll holds whatever happened in
 * between: subscribers miss nothing. If Redis is lost, every replica polls for itself (the
 * per-process mode, with a warning) until Redis returns.
 *
 * Why a lease of ours and not redlock: a lock only says who held it when it was taken; a poller
 * that stalls past its expiry and then publishes would send every event twice. Here the check
 * and the publish are one script (PUBLISH_IF_LEASED), so a poller that lost its lease publishes
 * nothing, which redlock's API cannot express (its quorum across Redis masters is also moot with
 * one Redis). Measured (test/live.test.ts, "takeover"): polling resumed 1.2 s after the poller
 * was killed (bound: one lease, 1.5 s there), and the red packs inserted around the kill reached
 * all 50 subscribers of the survivor exactly once and in order.
 */
import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import { LRUCache } from 'lru-cache';
import type { SharedRedis } from '../cache/redis.js';
import type { Logger } from '../logger.js';
import type { LiveCall } from './budget.js';
import type { TopicPoller } from './poller.js';
import { topicKey, type LiveMessage, type Topic, type TopicState } from './poller.js';
import { decodeMessage, decodeState, encodeMessage, encodeState } from './wire.js';

export interface BusOptions {
  /** Time between two polls of a topic. */
  pollMs: number;
  /** How long a poller's lease lasts unrenewed: a dead poller's topics move within this. */
  leaseMs: number;
  /** `sequenceFrom`: without a state to go on from, where the topic's sequence goes on from. */
  newPoller(topic: Topic, resumeFrom?: TopicState, sequenceFrom?: number): TopicPoller;
  redis: SharedRedis | undefined;
  logger: Logger;
  /** Counts polls and who made them (for metrics). */
  onPoll?(topic: Topic): void;
  now?(): number;
}

type Deliver = (message: LiveMessage) => void;

/**
 * A topic's sequence never goes back: a poller that starts afresh (nobody followed the topic
 * for a while, or the process just started) goes on past the last sequence the topic reached in
 * this process, and from no less than the seconds since this instant. So `sequence` keeps
 * growing per channel however often its last subscriber leaves, and across restarts and
 * replicas too unless the channel's events outran the clock (more than one a second, on
 * average, since it was taken up). The jump says what it is: changes while nobody followed the
 * channel were not events.
 */
const SEQUENCE_EPOCH = Date.UTC(2026, 0, 1);
/** Topics whose last sequence a process remembers (a number each); past it, the clock's floor. */
const SEQUENCES_KEPT = 10_000;

/**
 * Publishes a poll's messages and saves the topic's state, only while the lease is ours.
 * KEYS: lease, state. ARGV: owner, state (or ''), state TTL ms, channel, messages...
 */
const PUBLISH_IF_LEASED = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[5])
if ARGV[2] ~= '' then redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3]) end
for i = 6, #ARGV do redis.call('PUBLISH', ARGV[4], ARGV[i]) end
return 1
`;
/** Takes the lease if free, or renews it if ours: whether we hold it. KEYS: lease. ARGV: owner, ms. */
const HOLD_LEASE = `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then redis.call('PEXPIRE', KEYS[1], ARGV[2]) return 1 end
if holder then return 0 end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
return 1
`;
/** Lets the lease go, if ours. KEYS: lease. ARGV: owner. */
const RELEASE_LEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

export class LiveBus {
  /** This replica, as lease holder. */
  private readonly owner = randomUUID();
  private readonly topics = new Map<string, TopicLoop>();
  private subscriber: Redis | undefined;
  private degraded = false;
  private readonly now: () => number;
  /** The last sequence each topic reached here: it outlives the topic's poller. */
  private readonly reached = new LRUCache<string, number>({ max: SEQUENCES_KEPT });

  constructor(private readonly options: BusOptions) {
    this.now = options.now ?? Date.now;
    if (options.redis) {
      // Pub/sub needs a connection of its own; it resubscribes by itself after a reconnect.
      this.subscriber = options.redis.client.duplicate({ enableOfflineQueue: true });
      this.subscriber.on('error', () => undefined);
      // A SUBSCRIBE sent while the connection is in its handshake (a topic joined in the first
      // moments after start) is answered but may not take: ioredis 5 races it with its ready
      // check (ioredis#2037), and the replica would never hear its topic. Once ready, every
      // topic is subscribed again (a channel subscribed twice is still subscribed once).
      this.subscriber.on('ready', () => {
        const channels = [...this.topics.keys()].map((key) => this.channelPrefix + key);
        if (channels.length > 0) this.subscriber?.subscribe(...channels).catch(() => undefined);
      });
      this.subscriber.on('message', (channel: string, text: string) => {
        if (!channel.startsWith(this.channelPrefix)) return;
        const loop = this.topics.get(channel.slice(this.channelPrefix.length));
        if (!loop) return;
        let message: LiveMessage;
        try {
          message = decodeMessage(text);
        } catch {
          return;
        }
        loop.deliver(message);
      });
    }
  }

  /**
   * This process has subscribers to the topic: poll it (or see it polled) and deliver. `payer`
   * says which client pays for the first poll's totals walk here (budget.ts).
   */
  join(topic: Topic, deliver: Deliver, payer: () => string | undefined = () => undefined): void {
    const key = topicKey(topic);
    if (this.topics.has(key)) return;
    const loop = new TopicLoop(
      this,
      topic,
      (message) => {
        // Whoever polled it (this process, or another replica over pub/sub).
        if (message.type === 'events' && message.events.length > 0)
          this.reached.set(key, message.events.at(-1)!.sequence);
        deliver(message);
      },
      payer,
    );
    this.topics.set(key, loop);
    this.subscriber?.subscribe(this.channelPrefix + key).catch(() => undefined);
    loop.start();
  }

  /**
   * It has none left: stop polling it at once (another replica with subscribers takes over). A
   * poll under way asks Polyv for nothing more, and nothing else is scheduled for it.
   */
  leave(topic: Topic): void {
    const key = topicKey(topic);
    const loop = this.topics.get(key);
    if (!loop) return;
    this.topics.delete(key);
    loop.stop();
    this.subscriber?.unsubscribe(this.channelPrefix + key).catch(() => undefined);
    this.redisCall((redis) => redis.eval(RELEASE_LEASE, 1, this.leaseKey(key), this.owner));
  }

  /** The topic's latest state: what a SNAPSHOT or a first totals message is made of. */
  async latest(topic: Topic): Promise<TopicState | undefined> {
    const local = this.topics.get(topicKey(topic))?.poller?.state();
    if (local || !this.options.redis || this.degraded) return local;
    const text = await this.redisCall((redis) => redis.get(this.stateKey(topicKey(topic))));
    return typeof text === 'string' ? decodeState(text) : undefined;
  }

  /** Topics this process polls now (for metrics and tests). */
  get polling(): number {
    return [...this.topics.values()].filter((loop) => loop.poller !== undefined).length;
  }

  async close(): Promise<void> {
    for (const loop of this.topics.values()) loop.stop();
    await Promise.all(
      [...this.topics.keys()].map((key) =>
        this.redisCall((redis) => redis.eval(RELEASE_LEASE, 1, this.leaseKey(key), this.owner)),
      ),
    );
    this.topics.clear();
    this.subscriber?.disconnect();
  }

  // The loops' ways to Redis. Each answers undefined when Redis failed (and notes it).

  /** Whether this replica polls the topic now; undefined: Redis is unusable, poll alone. */
  async holdLease(key: string): Promise<boolean | undefined> {
    if (!this.options.redis) return undefined;
    const held = await this.redisCall((redis) =>
      redis.eval(HOLD_LEASE, 1, this.leaseKey(key), this.owner, String(this.leaseTtlMs)),
    );
    return held === undefined ? undefined : held === 1;
  }

  /** The state the last poller saved, if recent enough to go on from (a takeover, not a restart). */
  async savedState(key: string): Promise<TopicState | undefined> {
    const text = await this.redisCall((redis) => redis.get(this.stateKey(key)));
    if (typeof text !== 'string') return undefined;
    const state = decodeState(text);
    const age = this.now() - state.savedAt;
    if (age <= 2 * this.options.leaseMs) return state;
    // Nobody polled it for a while (everyone left, then someone came back): start afresh.
    // Changes in between are not events; the totals are added up again and include them.
    this.options.logger.info(
      { topic: key, ageMs: age },
      'live updates: the saved state is too old to go on from; starting from the list as it is',
    );
    return undefined;
  }

  /** Publishes a poll's messages if the lease is still ours: whether it was (undefined: Redis failed). */
  async publish(key: string, messages: LiveMessage[], state: TopicState | undefined) {
    const result = await this.redisCall((redis) =>
      redis.eval(
        PUBLISH_IF_LEASED,
        2,
        this.leaseKey(key),
        this.stateKey(key),
        this.owner,
        state ? encodeState(state) : '',
        // Long enough for a takeover to go on from it, short enough to be forgotten after.
        String(4 * this.options.leaseMs),
        this.channelPrefix + key,
        String(this.leaseTtlMs),
        ...messages.map(encodeMessage),
      ),
    );
    return result === undefined ? undefined : result === 1;
  }

  get pollMs(): number {
    return this.options.pollMs;
  }
  /** How often a replica that does not poll a topic checks its lease. */
  get leaseCheckMs(): number {
    return Math.max(50, Math.floor(this.options.leaseMs / 5));
  }
  /**
   * How long a lease lasts unrenewed: one lease period less one check, so a follower's check
   * takes over within one lease period of the poller's last renewal.
   */
  private get leaseTtlMs(): number {
    return this.options.leaseMs - this.leaseCheckMs;
  }
  /** A bug in a poll (Polyv's failures are messages, not exceptions): logged, polling goes on. */
  failed(error: unknown): void {
    this.options.logger.error({ err: error }, 'live updates: a poll failed unexpectedly');
  }
  newPoller(topic: Topic, resumeFrom?: TopicState): TopicPoller {
    const floor = Math.floor((this.now() - SEQUENCE_EPOCH) / 1000);
    const sequenceFrom = Math.max(this.reached.get(topicKey(topic)) ?? 0, floor);
    return this.options.newPoller(topic, resumeFrom, sequenceFrom);
  }
  polled(topic: Topic): void {
    this.options.onPoll?.(topic);
  }
  get shared(): boolean {
    return this.options.redis !== undefined;
  }

  private get channelPrefix() {
    return `${this.options.redis?.prefix ?? ''}live:events:`;
  }
  private leaseKey(key: string) {
    return `${this.options.redis?.prefix ?? ''}live:lease:${key}`;
  }
  private stateKey(key: string) {
    return `${this.options.redis?.prefix ?? ''}live:state:${key}`;
  }

  private async redisCall<T>(command: (redis: Redis) => Promise<T>): Promise<T | undefined> {
    const redis = this.options.redis;
    if (!redis) return undefined;
    try {
      const result = await command(redis.client);
      if (this.degraded) {
        this.degraded = false;
        this.options.logger.info(
          'live updates: Redis is back, one replica polls each channel again',
        );
      }
      return result;
    } catch (error) {
      redis.fellBack(error);
      if (!this.degraded) {
        this.degraded = true;
        this.options.logger.warn(
          { err: error instanceof Error ? { message: error.message } : undefined },
          'live updates: Redis unavailable, every replica polls its own channels until it returns',
        );
      }
      return undefined;
    }
  }
}

/**
 * One topic's loop in this process: poll when it is ours to poll (always without Redis), else
 * check the lease often enough to take over within one lease period. Stopped, it is over at
 * once: its AbortSignal stops the poll under way between two calls (and any wait for a token),
 * and every step after an await checks that it still runs.
 */
class TopicLoop {
  poller: TopicPoller | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly abort = new AbortController();
  /** When this process last polled the topic (epoch ms). */
  private lastPolledAt = 0;

  constructor(
    private readonly bus: LiveBus,
    readonly topic: Topic,
    readonly deliver: Deliver,
    /** Who pays for a new poller's first walk: when it starts polling here, or takes over. */
    private readonly payer: () => string | undefined,
  ) {}

  start(): void {
    this.schedule(0);
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.poller = undefined;
    this.abort.abort(new Error('live updates: nobody follows the topic any more'));
  }

  private schedule(ms: number) {
    if (this.stopped) return;
    this.timer = setTimeout(() => void this.tick(), ms);
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const started = Date.now();
    const leading = this.bus.shared ? await this.bus.holdLease(topicKey(this.topic)) : undefined;
    if (this.stopped) return;
    if (leading === false) {
      // Someone else polls: check again soon enough to take over within one lease period.
      this.poller = undefined;
      return this.schedule(this.bus.leaseCheckMs);
    }
    await this.pollOnce(leading === true).catch((error: unknown) => {
      // Given up because the topic was left: not a failure.
      if (!this.stopped) this.bus.failed(error);
    });
    this.schedule(Math.max(0, this.bus.pollMs - (Date.now() - started)));
  }

  /** One poll, ours to make: `leased` with Redis (publish there), else deliver here. */
  private async pollOnce(leased: boolean): Promise<void> {
    const key = topicKey(this.topic);
    const before = this.poller;
    if (leased) {
      // Taking over (or back): go on from the saved state when it is newer than our own.
      const saved = await this.bus.savedState(key);
      if (this.stopped) return;
      if (!this.poller || (saved && saved.savedAt > this.lastPolledAt))
        this.poller = this.bus.newPoller(this.topic, saved);
    } else {
      this.poller ??= this.bus.newPoller(this.topic);
    }
    const poller = this.poller;
    // A new poller walks the totals: when the topic starts here, or is taken over. That walk is
    // what subscribing to ever new topics would cost, so a client pays for it; later walks (every
    // TOTALS_RESYNC_MS, after a burst or a failure) come with following a topic, and must never
    // keep its polls waiting: the ceiling alone.
    const call: LiveCall = {
      signal: this.abort.signal,
      payer: poller === before ? undefined : this.payer(),
    };
    // The lease is renewed while the poll runs: it must lapse when this process dies, not when
    // Polyv is slow. A poll longer than the lease (a first poll walks every red pack for the
    // totals) would otherwise lose it before publishing, and the replicas would take turns
    // walking, each fenced off in turn, with nothing ever published.
    const renewal = leased
      ? setInterval(() => void this.bus.holdLease(key), this.bus.leaseCheckMs)
      : undefined;
    renewal?.unref();
    let messages: LiveMessage[];
    try {
      messages = await poller.poll(call);
    } finally {
      clearInterval(renewal);
    }
    if (this.stopped) return;
    // Stamped once: the copy of it saved in Redis must not look newer than our own poller, or
    // the next poll would rebuild the poller from it and walk the totals again for nothing.
    const state = poller.state();
    this.lastPolledAt = state?.savedAt ?? Date.now();
    this.bus.polled(this.topic);
    if (!leased) {
      for (const message of messages) this.deliver(message);
      return;
    }
    const published = await this.bus.publish(key, messages, state);
    // Lost the lease while polling: someone else polls now, and their messages count.
    if (published === false) this.poller = undefined;
    // Redis failed between the lease and the publish: tell our own subscribers at least.
    if (published === undefined && !this.stopped)
      for (const message of messages) this.deliver(message);
  }
}
