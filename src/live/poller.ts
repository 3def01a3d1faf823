/**
 * One topic's poll (a channel, optionally one session): read the head of its red-pack list,
 * compare it with the head seen last, and say what changed as messages for subscribers. It
 * also keeps the topic's totals: added up from every red pack once (a walk, like
 * `redPackSummary`), then kept current from the same diffs, so a poll costs one Polyv page
 * whatever the channel's size. Whoever polls (one replica, see bus.ts) owns one of these.
 */
import type { RedPackModel } from '../domain/models.js';
import type { RedPackSummaryBuilder, RedPackSummaryModel } from '../domain/summaries.js';
import type { LiveCall } from './budget.js';
import {
  changesBetween,
  EMPTY_HEAD,
  numbered,
  type Head,
  type RedPackEventModel,
} from './events.js';

/** What a poll is about: a channel's red packs, all of them or one session's. */
export interface Topic {
  channelId: string;
  sessionId?: string | undefined;
}

/** The topic's name in maps, logs and Redis keys. */
export const topicKey = (topic: Topic): string =>
  topic.sessionId === undefined ? topic.channelId : `${topic.channelId}/${topic.sessionId}`;

/** An error as the client sees it (already through the error formatter): data, so it travels. */
export interface LiveError {
  message: string;
  extensions: Record<string, unknown>;
}

/** What subscribers of a topic are told, in order. */
export type LiveMessage =
  | { type: 'events'; events: RedPackEventModel[] }
  | { type: 'totals'; totals: RedPackSummaryModel }
  /** Something failed: every subscriber of the topic (`all`), or of its totals only. */
  | { type: 'error'; about: 'all' | 'totals'; error: LiveError }
  /** The poller has seen the head once: a SNAPSHOT can be served from `TopicState`. */
  | { type: 'ready' };

/** What a late subscriber starts from, and what a poller that takes over resumes from. */
export interface TopicState {
  head: Head;
  totals: RedPackSummaryModel | undefined;
  /** Epoch ms of the poll that produced it. */
  savedAt: number;
}

/** Red packs the poll watches: one Polyv page. Changes to older red packs reach totals only. */
export const HEAD_SIZE = 100;
/** Pages one poll may read when more red packs arrived than a page holds. */
export const MAX_HEAD_PAGES = 5;
/** Totals are added up from every red pack again this often, to see changes outside the head. */
export const TOTALS_RESYNC_MS = 10 * 60_000;
/** After a failed walk, the next one waits this long (a channel too large stays too large). */
const TOTALS_RETRY_MS = 60_000;

export interface PollerDependencies {
  /**
   * One page of the topic's list, newest first, past every cache read. `call` (given by whoever
   * polls) says who pays and when to give up: see budget.ts.
   */
  readHead(
    topic: Topic,
    pageNumber: number,
    pageSize: number,
    call?: LiveCall,
  ): Promise<{ items: RedPackModel[]; totalItems: number }>;
  /**
   * Every red pack of the topic added up; `head` is the newest HEAD_SIZE of the same walk. A walk
   * checks `call` before each page: once the topic is left, it asks for no other.
   */
  walkTotals(
    topic: Topic,
    call?: LiveCall,
  ): Promise<{ builder: RedPackSummaryBuilder; head: RedPackModel[]; asOf: Date }>;
  /** Turns a failure into what a client sees (the gateway's one error formatter). */
  describeError(error: unknown): LiveError;
  now(): number;
}

export class TopicPoller {
  /** Undefined until the first poll: that one only looks (there is nothing to compare with). */
  private head: Head | undefined;
  private totals:
    { builder: RedPackSummaryBuilder; base: RedPackModel[]; builtAt: number } | undefined;
  private totalsRetryAt = 0;
  /** The totals last sent. */
  private lastTotals: RedPackSummaryModel | undefined;
  /** The code of the failure subscribers were last told about; cleared by a poll that works. */
  private failing: unknown;

  constructor(
    readonly topic: Topic,
    private readonly dependencies: PollerDependencies,
    /** A state saved by the poller before this one (another replica's), to go on from. */
    resumeFrom?: TopicState,
    /** Without a state to go on from: the sequence the first events follow (bus.ts). */
    private readonly sequenceFrom = 0,
  ) {
    this.head = resumeFrom?.head;
  }

  /** The state now, for late subscribers and for whoever polls next. */
  state(): TopicState | undefined {
    if (!this.head) return undefined;
    return {
      head: this.head,
      totals: this.lastTotals,
      savedAt: this.dependencies.now(),
    };
  }

  /**
   * One poll: what subscribers must be told, in order (often nothing). Once `call.signal` is
   * aborted (the topic was left), it rejects with no other call to Polyv: a poll given up is not
   * a failure to tell anyone about.
   */
  async poll(call?: LiveCall): Promise<LiveMessage[]> {
    const messages: LiveMessage[] = [];
    const { now } = this.dependencies;
    let items: RedPackModel[];
    let totalItems: number;
    try {
      ({ items, totalItems } = await this.readNewHead(call));
    } catch (error) {
      call?.signal.throwIfAborted();
      const described = this.dependencies.describeError(error);
      const code = described.extensions['code'];
      // Told once per failure, not once per poll; the stream stays open and resumes by itself.
      if (code !== this.failing) messages.push({ type: 'error', about: 'all', error: described });
      this.failing = code;
      return messages;
    }
    const recovered = this.failing !== undefined;
    this.failing = undefined;
    const observedAt = new Date(now());

    const first = this.head === undefined;
    const previous = this.head ?? { ...EMPTY_HEAD, redPacks: items, sequence: this.sequenceFrom };
    const events = numbered(
      changesBetween(previous.redPacks, items),
      previous.sequence,
      observedAt,
    );
    this.head = {
      redPacks: items.slice(0, HEAD_SIZE),
      totalItems,
      sequence: previous.sequence + events.length,
    };
    if (first) messages.push({ type: 'ready' });
    if (events.length > 0) messages.push({ type: 'events', events });

    // After a failure, the totals are sent again even unchanged: subscribers learn it is over.
    const totals =
      (await this.updateTotals(items, call)) ??
      (recovered && this.lastTotals
        ? { type: 'totals' as const, totals: this.lastTotals }
        : undefined);
    if (totals) messages.push(totals);
    if (totals?.type === 'totals') this.lastTotals = totals.totals;
    return messages;
  }

  /**
   * The list's newest red packs: one page, or more when more arrived since the last poll than
   * one page holds (up to MAX_HEAD_PAGES; past that, totals are walked again).
   */
  private async readNewHead(call: LiveCall | undefined) {
    const { readHead } = this.dependencies;
    const first = await readHead(this.topic, 1, HEAD_SIZE, call);
    const items = [...first.items];
    if (!this.head) return { items, totalItems: first.totalItems };
    const known = new Set(this.head.redPacks.map((redPack) => redPack.id));
    const arrived = first.totalItems - this.head.totalItems;
    let pageNumber = 1;
    while (
      arrived > items.length &&
      items.length === pageNumber * HEAD_SIZE &&
      !items.some((redPack) => known.has(redPack.id))
    ) {
      if (pageNumber === MAX_HEAD_PAGES) {
        // Red packs between this read and the last head were not seen: totals must be redone.
        this.totals = undefined;
        break;
      }
      pageNumber++;
      items.push(...(await readHead(this.topic, pageNumber, HEAD_SIZE, call)).items);
    }
    return { items, totalItems: first.totalItems };
  }

  /** Keeps the totals current; the message to send when they changed. */
  private async updateTotals(
    items: RedPackModel[],
    call: LiveCall | undefined,
  ): Promise<LiveMessage | undefined> {
    const now = this.dependencies.now();
    if (this.totals && now - this.totals.builtAt > TOTALS_RESYNC_MS) this.totals = undefined;
    if (!this.totals) {
      if (now < this.totalsRetryAt) return undefined;
      try {
        const walked = await this.dependencies.walkTotals(this.topic, call);
        this.totals = {
          builder: walked.builder,
          base: walked.head,
          builtAt: walked.asOf.getTime(),
        };
      } catch (error) {
        call?.signal.throwIfAborted();
        this.totalsRetryAt = now + TOTALS_RETRY_MS;
        return { type: 'error', about: 'totals', error: this.dependencies.describeError(error) };
      }
      this.applyToTotals(items);
      return { type: 'totals', totals: this.totals.builder.build(new Date(now)) };
    }
    if (!this.applyToTotals(items)) return undefined;
    this.totals.builtAt = now;
    return { type: 'totals', totals: this.totals.builder.build(new Date(now)) };
  }

  /** Moves the totals from their base to `items`: whether anything changed. */
  private applyToTotals(items: RedPackModel[]): boolean {
    const totals = this.totals!;
    // After a walk the base is the walk's head, and this poll may have read deeper than it:
    // red packs older than a full base are counted already (Polyv adds new ones at the head).
    const oldest =
      totals.base.length >= HEAD_SIZE ? totals.base.at(-1)!.createdAt.getTime() : -Infinity;
    const changes = changesBetween(totals.base, items).filter(
      (change) => change.before !== undefined || change.redPack.createdAt.getTime() >= oldest,
    );
    for (const change of changes) {
      if (change.before) totals.builder.remove([change.before]);
      totals.builder.add([change.redPack]);
    }
    totals.base = items.slice(0, HEAD_SIZE);
    return changes.length > 0;
  }
}
