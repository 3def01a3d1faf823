/**
 * This process's subscribers: who listens to which topic, within which limits, and the stream
 * each one reads. A topic is joined on the bus (bus.ts) when its first subscriber arrives here
 * and left when its last one goes, so nothing is polled for nobody.
 *
 * A subscription first takes its place (`reserve`, asynchronous): the limits are checked, and a
 * client that makes this process follow a new topic pays for its first poll (budget.ts; refused
 * RATE_LIMITED, `limit: liveUpstreamCalls`, when its budget is spent). It may start following a
 * new topic only while it subscribes to fewer than `maxTopicsPerClient` topics here (`limit:
 * liveChannelsPerClient`), so no client can take every topic of a replica: another can always
 * follow its own channel. The place counts as a subscription and keeps its topic followed until
 * the subscription's stream takes it (`redPackEvents`, `channelTotals`, synchronous) and ends,
 * or until it is given back unused.
 *
 * Each subscriber's stream holds what it has not yet read. A transport takes the next item only
 * once the previous one is written to the socket, so a consumer that does not read fills its
 * queue; when a message arrives and finds `maxQueued` items of earlier ones still unread, the
 * subscriber is dropped (its transport closes it with the reason), never buffered without bound.
 * A message is admitted whole: one poll that finds more red packs than `maxQueued` (a burst)
 * must not drop a consumer that reads, so the queue holds at most `maxQueued` − 1 items plus one
 * poll's events (MAX_HEAD_PAGES × HEAD_SIZE at most, shared by every subscriber).
 */
import { GraphQLError } from 'graphql';
import type { RedPackSummaryModel } from '../domain/summaries.js';
import { ErrorCode } from '../publicErrors.js';
import type { LiveBudget } from './budget.js';
import type { LiveBus } from './bus.js';
import { snapshotEvents, type RedPackEventModel } from './events.js';
import { topicKey, type LiveError, type LiveMessage, type Topic } from './poller.js';

export interface HubLimits {
  /** Subscriptions open in this process. */
  maxSubscriptions: number;
  /** Subscriptions one client (API key, or address with keys off) may hold open here. */
  maxPerClient: number;
  /** Topics (channel and session filter) this process may have subscribers for. */
  maxTopics: number;
  /**
   * Topics one client may subscribe to here and still start following another: past it, it may
   * only join topics already followed.
   */
  maxTopicsPerClient: number;
  /** Items a subscriber may leave unread before it is dropped. */
  maxQueued: number;
}

/**
 * A subscription's place (LiveHub.reserve): counted in every limit, its topic followed. A stream
 * takes it; else `release` gives it back.
 */
export interface LivePlace {
  readonly topic: Topic;
  readonly client: string;
  /** Gives the place back, unless a stream holds it (it goes when the stream ends). Idempotent. */
  release(): void;
}

/** What a subscription's stream yields: data, or an error that leaves the stream open. */
export type LiveItem<T> = { data: T } | { error: LiveError };

/**
 * A subscription item's error, as its resolver throws it. It was formatted once, by the one
 * error formatter, where the poll failed (live/index.ts): the formatter passes it on as it is
 * rather than taking it for a new, unexpected failure.
 */
export class FormattedLiveError extends Error {
  constructor(readonly formatted: LiveError) {
    super(formatted.message);
    this.name = 'FormattedLiveError';
  }
}

/** Why a subscriber was dropped, for its transport's close reason. */
export const SLOW_CONSUMER = 'SLOW_CONSUMER';

export interface SubscribeOptions {
  /** Who asks, as limits count clients. */
  client: string;
  /** Called when the subscriber is dropped; the transport closes the connection with the reason. */
  onDrop(reason: string): void;
  /**
   * Called when the snapshot is known (its item count, 0 for none), before it goes out: it goes
   * out once this resolves, or the error it resolves to goes out instead (the stream goes on).
   */
  beforeSnapshot?(items: number): Promise<LiveError | undefined>;
}

/** One subscriber's stream: a bounded queue read as an async iterator. */
class Feed<T> implements AsyncIterableIterator<LiveItem<T>> {
  private readonly queue: LiveItem<T>[] = [];
  private waiting: ((result: IteratorResult<LiveItem<T>>) => void) | undefined;
  private ended = false;
  /** While the first items (a snapshot, the current totals) are read, the live ones wait here. */
  private held: LiveItem<T>[] | undefined = [];

  constructor(
    private readonly maxQueued: number,
    private readonly overflow: () => void,
    private readonly onEnd: () => void,
  ) {}

  /**
   * Queues one message's items, all of them or none: the subscriber is dropped instead when
   * `maxQueued` items of earlier messages are still unread.
   */
  push(...items: LiveItem<T>[]): void {
    if (this.ended || items.length === 0) return;
    if (this.held) {
      if (this.held.length >= this.maxQueued) return this.overflow();
      this.held.push(...items);
      return;
    }
    if (this.queue.length >= this.maxQueued) return this.overflow();
    this.queue.push(...items);
    this.handOver();
  }

  /** Ends holding: `first` goes out before what arrived meanwhile (which `keep` may filter). */
  release(first: LiveItem<T>[], keep: (item: LiveItem<T>) => boolean = () => true): void {
    const held = this.held ?? [];
    this.held = undefined;
    // The snapshot (at most 100) and what was admitted while holding go out whole: none of it
    // was offered to the consumer yet, so none of it is a backlog of theirs.
    if (this.ended) return;
    this.queue.push(...first, ...held.filter(keep));
    this.handOver();
  }

  /** Gives the consumer waiting in `next()`, if any, the oldest item. */
  private handOver(): void {
    const resolve = this.waiting;
    const item = resolve ? this.queue.shift() : undefined;
    if (!resolve || !item) return;
    this.waiting = undefined;
    resolve({ value: item, done: false });
  }

  /** What arrived while holding. */
  get heldItems(): readonly LiveItem<T>[] {
    return this.held ?? [];
  }

  next(): Promise<IteratorResult<LiveItem<T>>> {
    const item = this.queue.shift();
    if (item) return Promise.resolve({ value: item, done: false });
    if (this.ended) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => (this.waiting = resolve));
  }

  return(): Promise<IteratorResult<LiveItem<T>>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.queue.length = 0;
    this.held = undefined;
    this.waiting?.({ value: undefined, done: true });
    this.waiting = undefined;
    this.onEnd();
  }

  [Symbol.asyncIterator]() {
    return this;
  }
}

interface TopicListeners {
  topic: Topic;
  events: Set<Feed<RedPackEventModel>>;
  totals: Set<Feed<RedPackSummaryModel>>;
  /** Resolved by the topic's next message: a SNAPSHOT waits for the first poll. */
  nextMessage: Array<() => void>;
  /** Places taken in it (subscriptions and reservations), by client. */
  clients: Map<string, number>;
  /** Places taken in it, in all: the topic is left when none is. */
  places: number;
}

/** A place as the hub keeps it. */
class Place implements LivePlace {
  state: 'reserved' | 'streaming' | 'released' = 'reserved';
  constructor(
    readonly topic: Topic,
    readonly client: string,
    readonly listeners: TopicListeners,
    private readonly giveBack: () => void,
  ) {}

  release(): void {
    if (this.state === 'reserved') this.end();
  }

  /** Gives the place back, whoever held it. */
  end(): void {
    if (this.state === 'released') return;
    this.state = 'released';
    this.giveBack();
  }
}

export interface HubMetrics {
  subscribed(kind: 'redPackEvents' | 'channelTotals', delta: 1 | -1): void;
  dropped(reason: string): void;
  delivered(kind: 'event' | 'totals' | 'error', count: number): void;
}

export class LiveHub {
  private readonly topics = new Map<string, TopicListeners>();
  private readonly perClient = new Map<string, number>();
  /** Topics each client subscribes to here. */
  private readonly topicsPerClient = new Map<string, number>();
  /** Topics being started (their first poll being paid for): who else subscribes waits. */
  private readonly starting = new Map<string, Promise<void>>();
  private open = 0;

  constructor(
    private readonly bus: LiveBus,
    private readonly limits: HubLimits,
    private readonly budget: LiveBudget,
    private readonly metrics: HubMetrics,
    /** The longest a SNAPSHOT waits for a topic's first poll. */
    private readonly firstPollWaitMs: number,
  ) {}

  /** Subscriptions open in this process. */
  get subscriptions(): number {
    return this.open;
  }

  /** Ends every subscription (their transports complete them) and stops polling. */
  async close(): Promise<void> {
    for (const listeners of [...this.topics.values()])
      for (const feed of [...listeners.events, ...listeners.totals]) feed.end();
    await this.bus.close();
  }

  /**
   * Takes a place for a subscription of `client` to `topic`: refused (throws) past a limit, or
   * when starting the topic is past the client's budget. Concurrent first subscribers of one
   * topic pay once: the others wait for its start, then join it.
   */
  async reserve(topic: Topic, client: string): Promise<LivePlace> {
    const key = topicKey(topic);
    while (this.admissible(key, client)) {
      // Someone is starting the topic: wait for them, then join it (or start it, if they could not).
      const starting = this.starting.get(key);
      if (starting) {
        await starting.catch(() => undefined);
        continue;
      }
      // A new topic's first poll is the client's to pay for: its first call now.
      const admission = this.budget.admit(client).then((taken) => {
        if (!taken.ok) throw rateLimited(taken.retryAfterMs);
      });
      this.starting.set(key, admission);
      try {
        await admission;
      } finally {
        this.starting.delete(key);
      }
      // Others came and went meanwhile: the limits are checked again, and nothing waits
      // between this check and the place it gives.
      this.admissible(key, client);
      break;
    }

    const listeners = this.topics.get(key) ?? this.follow(topic, key);
    this.open++;
    increment(this.perClient, client);
    if (increment(listeners.clients, client) === 1) increment(this.topicsPerClient, client);
    listeners.places++;
    const place: Place = new Place(topic, client, listeners, () => {
      this.open--;
      decrement(this.perClient, client);
      if (decrement(listeners.clients, client) === 0) decrement(this.topicsPerClient, client);
      if (--listeners.places === 0) {
        this.topics.delete(key);
        this.bus.leave(topic);
      }
    });
    return place;
  }

  redPackEvents(place: LivePlace, recent: number, options: SubscribeOptions) {
    const { feed, listeners } = this.attach(place, 'events', options);
    // Live events that arrive while the snapshot is read wait behind it; those it already
    // holds (a sequence it includes) are not sent twice.
    void this.latestAfterFirstPoll(place.topic, listeners, recent > 0)
      .catch(() => undefined)
      .then(async (state) => {
        const snapshot = state && recent > 0 ? snapshotEvents(state.head, recent, new Date()) : [];
        const covered = snapshot.length > 0 ? state!.head.sequence : 0;
        const refused = await options.beforeSnapshot?.(snapshot.length);
        if (refused) return feed.release([{ error: refused }]);
        feed.release(
          snapshot.map((data) => ({ data })),
          (item) => !('data' in item) || item.data.sequence > covered,
        );
      });
    return feed;
  }

  channelTotals(place: LivePlace, options: SubscribeOptions) {
    const { feed, listeners } = this.attach(place, 'totals', options);
    // The current totals first, unless newer ones arrived while they were read.
    void this.latestAfterFirstPoll(place.topic, listeners, false).then(
      (state) => {
        const newer = feed.heldItems.some((item) => 'data' in item);
        feed.release(state?.totals && !newer ? [{ data: state.totals }] : []);
      },
      () => feed.release([]),
    );
    return feed;
  }

  /** Refuses a place past a limit (throws); else whether it starts a new topic here. */
  private admissible(key: string, client: string): boolean {
    const { maxSubscriptions, maxPerClient, maxTopics, maxTopicsPerClient } = this.limits;
    if (this.open >= maxSubscriptions)
      throw limit(
        'subscriptions',
        `This gateway holds its ${maxSubscriptions} subscriptions; retry later or on another replica.`,
      );
    if ((this.perClient.get(client) ?? 0) >= maxPerClient)
      throw limit(
        'subscriptionsPerClient',
        `You hold the ${maxPerClient} subscriptions one client may hold open.`,
      );
    if (this.topics.has(key)) return false;
    const held = this.topicsPerClient.get(client) ?? 0;
    if (held >= maxTopicsPerClient)
      throw limit(
        'liveChannelsPerClient',
        `You subscribe to ${held} channels (or sessionId filters) on this gateway, as many as one client may and still make it follow another; subscribe to one it already follows, or unsubscribe from one.`,
      );
    if (this.topics.size >= maxTopics)
      throw limit(
        'liveChannels',
        `This gateway follows its ${maxTopics} channels; subscribe to one of them, or retry later.`,
      );
    return true;
  }

  /** Starts following a topic here. */
  private follow(topic: Topic, key: string): TopicListeners {
    const listeners: TopicListeners = {
      topic,
      events: new Set(),
      totals: new Set(),
      nextMessage: [],
      clients: new Map(),
      places: 0,
    };
    this.topics.set(key, listeners);
    // A new poller's walk is paid by the oldest client in it: the one that started it, as long
    // as it stays (a Map keeps insertion order).
    this.bus.join(
      topic,
      (message) => this.deliver(listeners, message),
      () => listeners.clients.keys().next().value,
    );
    return listeners;
  }

  /** The place's stream: it holds the place until it ends. */
  private attach<K extends 'events' | 'totals'>(
    held: LivePlace,
    kind: K,
    options: SubscribeOptions,
  ) {
    const place = held as Place;
    if (!(place instanceof Place) || place.state !== 'reserved')
      throw new Error('live hub: a subscription needs a place of its own, reserved and unused');
    place.state = 'streaming';
    const { listeners } = place;
    const metricKind = kind === 'events' ? 'redPackEvents' : 'channelTotals';
    this.metrics.subscribed(metricKind, 1);
    const set = listeners[kind] as Set<Feed<unknown>>;
    const feed: Feed<unknown> = new Feed(
      this.limits.maxQueued,
      () => {
        this.metrics.dropped(SLOW_CONSUMER);
        options.onDrop(`${SLOW_CONSUMER}: more than ${this.limits.maxQueued} messages unread`);
        feed.end();
      },
      () => {
        set.delete(feed);
        this.metrics.subscribed(metricKind, -1);
        place.end();
      },
    );
    set.add(feed);
    return {
      feed: feed as K extends 'events' ? Feed<RedPackEventModel> : Feed<RedPackSummaryModel>,
      listeners,
    };
  }

  /** The topic's state, once it has been polled (a snapshot needs one poll; totals do not wait). */
  private async latestAfterFirstPoll(topic: Topic, listeners: TopicListeners, wait: boolean) {
    const state = await this.bus.latest(topic);
    if (state || !wait) return state;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, this.firstPollWaitMs);
      timer.unref();
      listeners.nextMessage.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
    return this.bus.latest(topic);
  }

  private deliver(listeners: TopicListeners, message: LiveMessage): void {
    for (const resolve of listeners.nextMessage.splice(0)) resolve();
    switch (message.type) {
      case 'events':
        for (const feed of listeners.events)
          feed.push(...message.events.map((event) => ({ data: event })));
        this.metrics.delivered('event', message.events.length * listeners.events.size);
        return;
      case 'totals':
        for (const feed of listeners.totals) feed.push({ data: message.totals });
        this.metrics.delivered('totals', listeners.totals.size);
        return;
      case 'error': {
        const feeds =
          message.about === 'all'
            ? [...listeners.events, ...listeners.totals]
            : [...listeners.totals];
        for (const feed of feeds) (feed as Feed<unknown>).push({ error: message.error });
        this.metrics.delivered('error', feeds.length);
        return;
      }
      case 'ready':
        return;
    }
  }
}

/** Adds one to a count; the new count. */
function increment(counts: Map<string, number>, key: string): number {
  const count = (counts.get(key) ?? 0) + 1;
  counts.set(key, count);
  return count;
}

/** Takes one from a count, forgetting it at zero; the new count. */
function decrement(counts: Map<string, number>, key: string): number {
  const count = (counts.get(key) ?? 1) - 1;
  if (count > 0) counts.set(key, count);
  else counts.delete(key);
  return count;
}

/** The client's budget for new topics is spent (budget.ts): when it may try again. */
function rateLimited(retryAfterMs: number): GraphQLError {
  const seconds = Math.max(1, Math.ceil(retryAfterMs / 1000));
  return new GraphQLError(
    `You have started following too many channels (or sessionId filters) lately; retry in ${seconds} s, or subscribe to one already followed.`,
    {
      extensions: {
        code: ErrorCode.RateLimited,
        limit: 'liveUpstreamCalls',
        retryAfterSeconds: seconds,
      },
    },
  );
}

function limit(name: string, message: string): GraphQLError {
  return new GraphQLError(message, {
    extensions: { code: ErrorCode.QueryLimitExceeded, limit: name },
  });
}
