/**
 * What changed in a channel's red packs between two polls: a pure diff of the list's head (its
 * newest red packs, as Polyv lists them) against the head seen last. Events come oldest first
 * and are numbered in that order, so every subscriber, on every replica, sees the same stream.
 */
import type { RedPackModel, RedPackReceiveModel } from '../domain/models.js';

export type RedPackEventKind = 'SNAPSHOT' | 'CREATED' | 'UPDATED';

export interface RedPackEventModel {
  kind: RedPackEventKind;
  /** The red pack as it now stands. */
  redPack: RedPackModel;
  /** Receives since the last event about it, oldest first (all of them when CREATED). */
  newReceives: RedPackReceiveModel[];
  /** One more than the event before it, per channel and session filter. */
  sequence: number;
  observedAt: Date;
}

/** The head of a channel's list as last seen: what the next poll is compared with. */
export interface Head {
  /** The newest red packs, newest first. */
  redPacks: RedPackModel[];
  /** Polyv's totalItems then: how many arrived since tells how deep the next poll must read. */
  totalItems: number;
  /** The sequence of the last event produced. */
  sequence: number;
}

export const EMPTY_HEAD: Head = { redPacks: [], totalItems: 0, sequence: 0 };

/** A red pack changed when what a receiver or a dashboard sees of it did. */
const changed = (before: RedPackModel, now: RedPackModel) =>
  before.balance.fen !== now.balance.fen ||
  before.statusLabel !== now.statusLabel ||
  before.receives.length !== now.receives.length;

/** A receive's identity: Polyv gives receives no id, but one user receives a pack once a time. */
const receiveKey = (receive: RedPackReceiveModel) =>
  `${receive.user.openId}\u0000${receive.receivedAt.getTime()}\u0000${receive.amount.fen}`;

const oldestFirst = (receives: readonly RedPackReceiveModel[]) =>
  [...receives].sort((a, b) => a.receivedAt.getTime() - b.receivedAt.getTime());

/** The receives in `now` that `before` did not have (as a multiset: twice the same counts twice). */
export function addedReceives(
  before: readonly RedPackReceiveModel[],
  now: readonly RedPackReceiveModel[],
): RedPackReceiveModel[] {
  const seen = new Map<string, number>();
  for (const receive of before) {
    const key = receiveKey(receive);
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  const added: RedPackReceiveModel[] = [];
  for (const receive of now) {
    const key = receiveKey(receive);
    const left = seen.get(key) ?? 0;
    if (left > 0) seen.set(key, left - 1);
    else added.push(receive);
  }
  return oldestFirst(added);
}

/** A change to one red pack, before it is numbered. */
export interface RedPackChange {
  kind: 'CREATED' | 'UPDATED';
  redPack: RedPackModel;
  /** What it was, for an update. */
  before: RedPackModel | undefined;
  newReceives: RedPackReceiveModel[];
}

/**
 * The changes from `before` to `head` (both newest first), oldest first. A red pack of `head`
 * that `before` does not hold is new; one that left the head is only older than it now, not
 * gone (Polyv does not delete red packs), so it produces nothing.
 */
export function changesBetween(
  before: readonly RedPackModel[],
  head: readonly RedPackModel[],
): RedPackChange[] {
  const known = new Map(before.map((redPack) => [redPack.id, redPack]));
  const changes: RedPackChange[] = [];
  // Oldest first: the head is newest first, so it is read from its end.
  for (let index = head.length - 1; index >= 0; index--) {
    const redPack = head[index]!;
    const previous = known.get(redPack.id);
    if (!previous)
      changes.push({
        kind: 'CREATED',
        redPack,
        before: undefined,
        newReceives: oldestFirst(redPack.receives),
      });
    else if (changed(previous, redPack))
      changes.push({
        kind: 'UPDATED',
        redPack,
        before: previous,
        newReceives: addedReceives(previous.receives, redPack.receives),
      });
  }
  return changes;
}

/** Numbers changes as events, continuing from the head's sequence. */
export function numbered(
  changes: readonly RedPackChange[],
  after: number,
  observedAt: Date,
): RedPackEventModel[] {
  return changes.map((change, index) => ({
    kind: change.kind,
    redPack: change.redPack,
    newReceives: change.newReceives,
    sequence: after + index + 1,
    observedAt,
  }));
}

/** The newest `count` red packs of a head as SNAPSHOT events, oldest first. */
export function snapshotEvents(head: Head, count: number, observedAt: Date): RedPackEventModel[] {
  return head.redPacks
    .slice(0, count)
    .reverse()
    .map((redPack) => ({
      kind: 'SNAPSHOT',
      redPack,
      newReceives: [],
      sequence: head.sequence,
      observedAt,
    }));
}
