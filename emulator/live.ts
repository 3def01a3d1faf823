/**
 * Live red-pack activity, for demos and for the gateway's subscriptions: on a timer, a channel
 * gets new red packs and claims into the ones in progress near its head. Those are the two
 * changes a poll of the list head turns into events: a red pack not seen before, and one whose
 * balance, status or claims changed.
 *
 * Choices come from the dataset's seeded random source, so the same seed and the same calls
 * give the same activity; only the timing is the wall clock's.
 */
import { isClaimable, type DemoDataset, type EmulatedRedPack } from './data.js';
import { POLYV_ENDPOINTS } from '../src/polyv/endpoints.js';
import { pick } from './random.js';

/** A new red pack on the first tick and every this many ticks after; claims in between. */
export const NEW_RED_PACK_EVERY_TICKS = 4;
/** Default interval between ticks. */
export const DEFAULT_LIVE_EVERY_MS = 2000;
/** Faster than this, the timer would crowd out the Polyv requests the emulator is there for. */
export const MIN_LIVE_EVERY_MS = 10;
/** Slower than this is no live activity to watch (and past 2^31 - 1 ms Node's timers misfire). */
export const MAX_LIVE_EVERY_MS = 600_000;
/**
 * Claims go only to red packs on the list's first default-sized page: a subscription polls the
 * head, so a claim further down would change nothing anyone watching can see.
 */
const CLAIMABLE_HEAD_SIZE = POLYV_ENDPOINTS.redPackStatistics.defaultPageSize;

/** What the activity needs of the emulator; its inserts stamp claims with the emulator clock. */
export interface LiveTarget {
  readonly store: DemoDataset;
  insertRedPack(channelId: string): EmulatedRedPack;
  insertReceive(redPackId: string): EmulatedRedPack;
}

/** What one tick did. */
export type LiveChange =
  | { kind: 'redPackCreated'; redPack: EmulatedRedPack }
  | { kind: 'receiveAdded'; redPack: EmulatedRedPack };

/**
 * One tick of activity on a channel (`tick` counts from 0): a new red pack every
 * {@link NEW_RED_PACK_EVERY_TICKS} ticks, or whenever nothing near the head can be claimed;
 * otherwise a claim into a random red pack in progress near the head.
 */
export function liveTick(target: LiveTarget, channelId: string, tick: number): LiveChange {
  const head = (target.store.redPacks.get(channelId) ?? []).slice(0, CLAIMABLE_HEAD_SIZE);
  const claimable = head.filter(isClaimable);
  if (tick % NEW_RED_PACK_EVERY_TICKS === 0 || claimable.length === 0) {
    return { kind: 'redPackCreated', redPack: target.insertRedPack(channelId) };
  }
  const chosen = pick(target.store.random, claimable);
  return { kind: 'receiveAdded', redPack: target.insertReceive(chosen.redPackId) };
}

/** A running schedule as the control API reports it. */
export interface LiveScheduleStatus {
  channelId: string;
  everyMs: number;
  ticks: number;
  redPacksCreated: number;
  receivesAdded: number;
}

/** Ticks {@link liveTick} for one channel on an interval until stopped. */
export class LiveSchedule {
  readonly channelId: string;
  readonly everyMs: number;
  #ticks = 0;
  #redPacksCreated = 0;
  #receivesAdded = 0;
  readonly #timer: NodeJS.Timeout;

  /** Starts ticking; the caller has checked the channel and the interval. */
  constructor(target: LiveTarget, channelId: string, everyMs: number) {
    this.channelId = channelId;
    this.everyMs = everyMs;
    this.#timer = setInterval(() => {
      const change = liveTick(target, channelId, this.#ticks);
      this.#ticks += 1;
      if (change.kind === 'redPackCreated') this.#redPacksCreated += 1;
      else this.#receivesAdded += 1;
    }, everyMs);
    // Demo activity alone must not keep a process (a test run, a CLI being shut down) alive.
    this.#timer.unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  get status(): LiveScheduleStatus {
    return {
      channelId: this.channelId,
      everyMs: this.everyMs,
      ticks: this.#ticks,
      redPacksCreated: this.#redPacksCreated,
      receivesAdded: this.#receivesAdded,
    };
  }
}

/** The interval, checked: a number of milliseconds from {@link MIN_LIVE_EVERY_MS} to {@link MAX_LIVE_EVERY_MS}. */
export function checkLiveEveryMs(everyMs: number): number {
  if (!Number.isFinite(everyMs) || everyMs < MIN_LIVE_EVERY_MS || everyMs > MAX_LIVE_EVERY_MS) {
    throw new RangeError(
      `everyMs must be a number from ${MIN_LIVE_EVERY_MS} to ${MAX_LIVE_EVERY_MS}: ${everyMs}`,
    );
  }
  return everyMs;
}
