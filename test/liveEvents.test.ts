/**
 * The pure cores of live updates: the diff of a list's head (src/live/events.ts), totals kept
 * by removing what a red pack was and adding what it is (domain/summaries.ts), and one topic's
 * poller (src/live/poller.ts) on a list that changes under it, read through a fake Polyv.
 * Tables for the cases, and properties over random histories of a channel.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { money } from '../src/domain/convert.js';
import type { RedPackModel, RedPackReceiveModel } from '../src/domain/models.js';
import { redPackSummaryBuilder } from '../src/domain/summaries.js';
import { addedReceives, changesBetween, snapshotEvents } from '../src/live/events.js';
import {
  HEAD_SIZE,
  MAX_HEAD_PAGES,
  TopicPoller,
  type LiveMessage,
  type PollerDependencies,
} from '../src/live/poller.js';
import { decodeMessage, decodeState, encodeMessage, encodeState } from '../src/live/wire.js';

// ---------------------------------------------------------------------------------------------
// A channel's red packs, as a model history

const receive = (
  redPackId: string,
  openId: string,
  fen: number,
  at: number,
): RedPackReceiveModel => ({
  redPackId,
  user: { openId, nickname: openId, avatarUrl: null },
  amount: money(fen),
  receivedAt: new Date(at),
});

function redPack(
  id: string,
  createdAt: number,
  amountFen: number,
  receives: RedPackReceiveModel[] = [],
): RedPackModel {
  const received = receives.reduce((sum, r) => sum + r.amount.fen, 0);
  const balance = amountFen - received;
  return {
    id,
    channelId: '2812610',
    sessionId: null,
    sender: { openId: 'sender', nickname: null, avatarUrl: null },
    amount: money(amountFen),
    balance: money(balance),
    allotType: 'RANDOM',
    allotTypeLabel: '随机分配红包',
    status: balance === 0 ? 'ENDED' : 'IN_PROGRESS',
    statusLabel: balance === 0 ? '已结束' : '进行中',
    type: 'NORMAL',
    typeLabel: '普通红包',
    createdAt: new Date(createdAt),
    receives,
  };
}

/** Receives `fen` from red pack `id` of the list (newest first), as Polyv would show it after. */
function received(list: RedPackModel[], id: string, openId: string, fen: number, at: number) {
  return list.map((pack) =>
    pack.id === id
      ? redPack(pack.id, pack.createdAt.getTime(), pack.amount.fen, [
          ...pack.receives,
          receive(id, openId, fen, at),
        ])
      : pack,
  );
}

describe('the diff of a head', () => {
  const t0 = Date.UTC(2026, 11, 5);
  const a = redPack('a', t0, 1000);
  const b = redPack('b', t0 + 1, 500);
  const c = redPack('c', t0 + 2, 300);

  it.each([
    { name: 'nothing changed', before: [b, a], after: [b, a], expected: [] },
    { name: 'one new at the head', before: [b, a], after: [c, b, a], expected: [['CREATED', 'c']] },
    {
      name: 'several new, oldest first',
      before: [a],
      after: [c, b, a],
      expected: [
        ['CREATED', 'b'],
        ['CREATED', 'c'],
      ],
    },
    {
      name: 'a receive',
      before: [b, a],
      after: received([b, a], 'a', 'u1', 100, t0 + 10),
      expected: [['UPDATED', 'a']],
    },
    {
      name: 'a red pack older than the head now: not gone, nothing to say',
      before: [c, b, a],
      after: [c, b],
      expected: [],
    },
  ])('$name', ({ before, after, expected }) => {
    expect(changesBetween(before, after).map((change) => [change.kind, change.redPack.id])).toEqual(
      expected,
    );
  });

  it('an update carries the receives added since, oldest first, and what the red pack was', () => {
    const once = received([a], 'a', 'u1', 100, t0 + 10);
    const thrice = received(received(once, 'a', 'u3', 50, t0 + 30), 'a', 'u2', 70, t0 + 20);
    const [change] = changesBetween(once, thrice);
    expect(change!.before).toBe(once[0]);
    expect(change!.newReceives.map((r) => r.user.openId)).toEqual(['u2', 'u3']);
  });

  it('a new red pack carries every receive it has', () => {
    const withReceives = received([c], 'c', 'u1', 100, t0 + 10);
    expect(changesBetween([], withReceives)[0]!.newReceives).toHaveLength(1);
  });

  it('a snapshot is the newest red packs, oldest first, at the head sequence', () => {
    const events = snapshotEvents(
      { redPacks: [c, b, a], totalItems: 3, sequence: 7 },
      2,
      new Date(t0),
    );
    expect(events.map((event) => [event.kind, event.redPack.id, event.sequence])).toEqual([
      ['SNAPSHOT', 'b', 7],
      ['SNAPSHOT', 'c', 7],
    ]);
  });

  it('added receives are a multiset difference: the same receive twice counts twice', () => {
    const arbitraryReceive = fc
      .record({
        user: fc.constantFrom('u1', 'u2', 'u3'),
        fen: fc.integer({ min: 1, max: 3 }),
        at: fc.integer({ min: 0, max: 3 }),
      })
      .map(({ user, fen, at }) => receive('a', user, fen, at));
    fc.assert(
      fc.property(
        fc.array(arbitraryReceive, { maxLength: 8 }),
        fc.array(arbitraryReceive, { maxLength: 8 }),
        (before, more) => {
          const added = addedReceives(before, [...before, ...more]);
          const key = (r: RedPackReceiveModel) =>
            `${r.user.openId}/${r.amount.fen}/${r.receivedAt.getTime()}`;
          expect(added.map(key).sort()).toEqual(more.map(key).sort());
          // Oldest first.
          expect(added.map((r) => r.receivedAt.getTime())).toEqual(
            [...added].map((r) => r.receivedAt.getTime()).sort((x, y) => x - y),
          );
        },
      ),
      { seed: 0x11fe_0001, numRuns: 300 },
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Random histories: red packs sent, receives taken

type Step =
  { kind: 'send'; fen: number } | { kind: 'receive'; pick: number; share: number; user: number };

const arbitraryStep: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant('send' as const), fen: fc.integer({ min: 1, max: 10_000 }) }),
  fc.record({
    kind: fc.constant('receive' as const),
    pick: fc.nat(),
    share: fc.integer({ min: 1, max: 100 }),
    user: fc.integer({ min: 1, max: 5 }),
  }),
);

/** Plays a history on a list (newest first); every state, the start included. */
function play(steps: Step[], start = 0): RedPackModel[][] {
  let list: RedPackModel[] = [];
  const states = [list];
  let clock = Date.UTC(2026, 11, 5);
  let sent = start;
  for (const step of steps) {
    clock += 1000;
    if (step.kind === 'send') {
      sent++;
      list = [redPack(`rp${sent}`, clock, step.fen), ...list];
    } else {
      const open = list.filter((pack) => pack.balance.fen > 0);
      if (open.length === 0) continue;
      const pack = open[step.pick % open.length]!;
      const fen = Math.max(1, Math.floor((pack.balance.fen * step.share) / 100));
      list = received(list, pack.id, `u${step.user}`, fen, clock);
    }
    states.push(list);
  }
  return states;
}

describe('totals kept from diffs', () => {
  it('equal totals added up from scratch, after any history (remove what it was, add what it is)', () => {
    fc.assert(
      fc.property(
        fc.array(arbitraryStep, { maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 5 }),
        (steps, cuts) => {
          const states = play(steps);
          // Polls see some of the states, not all: any subsequence, the last one included.
          const seen = [
            ...new Set([...cuts.map((cut) => cut % states.length), states.length - 1]),
          ].sort((x, y) => x - y);
          const kept = redPackSummaryBuilder();
          let previous: RedPackModel[] = [];
          for (const index of seen) {
            for (const change of changesBetween(previous, states[index]!)) {
              if (change.before) kept.remove([change.before]);
              kept.add([change.redPack]);
            }
            previous = states[index]!;
          }
          const scratch = redPackSummaryBuilder();
          scratch.add(states.at(-1)!);
          const asOf = new Date(0);
          expect(kept.build(asOf)).toEqual(scratch.build(asOf));
        },
      ),
      { seed: 0x11fe_0002, numRuns: 300 },
    );
  });

  it('removing everything leaves the empty summary: no row with nothing in it', () => {
    const builder = redPackSummaryBuilder();
    const list = play([
      { kind: 'send', fen: 500 },
      { kind: 'receive', pick: 0, share: 40, user: 1 },
    ]).at(-1)!;
    builder.add(list);
    builder.remove(list);
    expect(builder.build(new Date(0))).toEqual(redPackSummaryBuilder().build(new Date(0)));
  });
});

// ---------------------------------------------------------------------------------------------
// One topic's poller, on a fake Polyv

/** A fake Polyv: the list as it stands, read by pages newest first; a switch to fail. */
function fakePolyv() {
  const state = {
    list: [] as RedPackModel[],
    failing: undefined as string | undefined,
    reads: 0,
    walks: 0,
    now: 0,
  };
  const dependencies: PollerDependencies = {
    readHead: async (_topic, pageNumber, pageSize) => {
      state.reads++;
      if (state.failing) throw new Error(state.failing);
      return {
        items: state.list.slice((pageNumber - 1) * pageSize, pageNumber * pageSize),
        totalItems: state.list.length,
      };
    },
    walkTotals: async () => {
      state.walks++;
      if (state.failing) throw new Error(state.failing);
      const builder = redPackSummaryBuilder();
      builder.add(state.list);
      return { builder, head: state.list.slice(0, HEAD_SIZE), asOf: new Date(state.now) };
    },
    describeError: (error) => ({
      message: error instanceof Error ? error.message : 'failed',
      extensions: { code: error instanceof Error ? error.message : 'UNKNOWN' },
    }),
    now: () => state.now,
  };
  return { state, dependencies };
}

const eventsOf = (messages: LiveMessage[]) =>
  messages.flatMap((message) => (message.type === 'events' ? message.events : []));
const totalsOf = (messages: LiveMessage[]) =>
  messages.flatMap((message) => (message.type === 'totals' ? [message.totals] : []));

describe('a topic poller', () => {
  it('first looks, then reports every change once, numbered in order, with totals that follow', async () => {
    const polyv = fakePolyv();
    const states = play([
      { kind: 'send', fen: 100 },
      { kind: 'send', fen: 200 },
      { kind: 'receive', pick: 0, share: 50, user: 1 },
      { kind: 'send', fen: 300 },
    ]);
    polyv.state.list = states[2]!;
    const poller = new TopicPoller({ channelId: '2812610' }, polyv.dependencies);

    const first = await poller.poll();
    expect(first.map((message) => message.type)).toEqual(['ready', 'totals']);
    expect(totalsOf(first)[0]!.count).toBe(2);

    polyv.state.list = states[4]!;
    const second = await poller.poll();
    expect(eventsOf(second).map((event) => [event.kind, event.redPack.id, event.sequence])).toEqual(
      [
        ['UPDATED', 'rp2', 1],
        ['CREATED', 'rp3', 2],
      ],
    );
    expect(totalsOf(second)[0]!.count).toBe(3);
    expect(totalsOf(second)[0]!.receiveCount).toBe(1);

    // Nothing changed: nothing to say, and one page read.
    const reads = polyv.state.reads;
    expect(await poller.poll()).toEqual([]);
    expect(polyv.state.reads - reads).toBe(1);
    expect(polyv.state.walks).toBe(1);
  });

  it('tells a failure once, stays quiet while it lasts, and goes on from where it was when Polyv returns', async () => {
    const polyv = fakePolyv();
    polyv.state.list = play([{ kind: 'send', fen: 100 }]).at(-1)!;
    const poller = new TopicPoller({ channelId: '2812610' }, polyv.dependencies);
    await poller.poll();
    polyv.state.failing = 'UPSTREAM_UNAVAILABLE';
    const failed = await poller.poll();
    expect(failed).toEqual([
      {
        type: 'error',
        about: 'all',
        error: { message: 'UPSTREAM_UNAVAILABLE', extensions: { code: 'UPSTREAM_UNAVAILABLE' } },
      },
    ]);
    expect(await poller.poll()).toEqual([]);
    polyv.state.failing = undefined;
    polyv.state.list = play([
      { kind: 'send', fen: 100 },
      { kind: 'send', fen: 50 },
    ]).at(-1)!;
    const back = await poller.poll();
    expect(eventsOf(back).map((event) => [event.redPack.id, event.sequence])).toEqual([['rp2', 1]]);
    expect(totalsOf(back)[0]!.count).toBe(2);
    // Back with nothing new: the totals again, so subscribers learn the failure is over.
    polyv.state.failing = 'UPSTREAM_UNAVAILABLE';
    await poller.poll();
    polyv.state.failing = undefined;
    expect(totalsOf(await poller.poll())[0]!.count).toBe(2);
  });

  it('reads deeper when more arrived than a page holds, and misses none up to its page limit', async () => {
    const polyv = fakePolyv();
    const arrivals = HEAD_SIZE * 2 + 17;
    const states = play(
      Array.from({ length: 3 + arrivals }, () => ({ kind: 'send' as const, fen: 10 })),
    );
    polyv.state.list = states[3]!;
    const poller = new TopicPoller({ channelId: '2812610' }, polyv.dependencies);
    await poller.poll();
    polyv.state.list = states.at(-1)!;
    const events = eventsOf(await poller.poll());
    expect(events).toHaveLength(arrivals);
    expect(events.map((event) => event.sequence)).toEqual(
      Array.from({ length: arrivals }, (_, i) => i + 1),
    );
    expect(new Set(events.map((event) => event.redPack.id)).size).toBe(arrivals);
  });

  it('past its page limit, it walks the totals again rather than let them drift', async () => {
    const polyv = fakePolyv();
    const states = play(
      Array.from({ length: 1 + HEAD_SIZE * (MAX_HEAD_PAGES + 1) }, () => ({
        kind: 'send' as const,
        fen: 10,
      })),
    );
    polyv.state.list = states[1]!;
    const poller = new TopicPoller({ channelId: '2812610' }, polyv.dependencies);
    await poller.poll();
    polyv.state.list = states.at(-1)!;
    const messages = await poller.poll();
    expect(polyv.state.walks).toBe(2);
    expect(totalsOf(messages)[0]!.count).toBe(states.at(-1)!.length);
  });

  it('a poller that takes over goes on from the saved state: the sequence continues and nothing is missed', async () => {
    const polyv = fakePolyv();
    const states = play([
      { kind: 'send', fen: 100 },
      { kind: 'send', fen: 200 },
      { kind: 'send', fen: 300 },
    ]);
    polyv.state.list = states[1]!;
    const first = new TopicPoller({ channelId: '2812610' }, polyv.dependencies);
    await first.poll();
    polyv.state.list = states[2]!;
    await first.poll();
    const saved = first.state()!;
    expect(saved.head.sequence).toBe(1);
    // The first poller dies; a red pack arrives before the next one polls.
    polyv.state.list = states[3]!;
    const next = new TopicPoller({ channelId: '2812610' }, polyv.dependencies, saved);
    expect(eventsOf(await next.poll()).map((event) => [event.redPack.id, event.sequence])).toEqual([
      ['rp3', 2],
    ]);
  });

  it('over any history polled at any moments: every red pack CREATED once, in order, and totals equal to a fresh walk', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(arbitraryStep, { maxLength: 40 }),
        fc.array(fc.boolean(), { maxLength: 41 }),
        async (steps, polls) => {
          const polyv = fakePolyv();
          const states = play(steps);
          const poller = new TopicPoller({ channelId: '2812610' }, polyv.dependencies);
          const messages: LiveMessage[] = [];
          for (const [index, state] of states.entries()) {
            polyv.state.list = state;
            // The first and the last state are always polled; the rest when the schedule says.
            if (index === 0 || index === states.length - 1 || polls[index])
              messages.push(...(await poller.poll()));
          }
          const created = eventsOf(messages).filter((event) => event.kind === 'CREATED');
          const sent = states
            .at(-1)!
            .map((pack) => pack.id)
            .reverse();
          expect(created.map((event) => event.redPack.id)).toEqual(sent);
          expect(eventsOf(messages).map((event) => event.sequence)).toEqual(
            eventsOf(messages).map((_, index) => index + 1),
          );
          const scratch = redPackSummaryBuilder();
          scratch.add(states.at(-1)!);
          const last = totalsOf(messages).at(-1)!;
          expect({ ...last, asOf: undefined }).toEqual({
            ...scratch.build(new Date(0)),
            asOf: undefined,
          });
        },
      ),
      { seed: 0x11fe_0003, numRuns: 200 },
    );
  });
});

describe('live messages through Redis (JSON)', () => {
  const pack = redPack('rp1', 1_763_512_200_000, 1234, [
    receive('rp1', 'viewer', 98, 1_763_512_260_000),
  ]);

  it('come back as the models that went in: instants as Dates, money with its decimal amount', () => {
    const message: LiveMessage = {
      type: 'events',
      events: [
        {
          kind: 'CREATED',
          redPack: pack,
          newReceives: pack.receives,
          sequence: 1,
          observedAt: new Date(1_763_512_300_000),
        },
      ],
    };
    const back = decodeMessage(encodeMessage(message));
    expect(back).toEqual(message);
    if (back.type !== 'events') throw new Error('not events');
    const event = back.events[0]!;
    expect(event.observedAt).toBeInstanceOf(Date);
    // `amount` is a getter of the money model, not a property JSON carries.
    expect(event.redPack.amount.amount).toBe('12.34');
    expect(event.redPack.balance.amount).toBe('11.36');
    expect(event.newReceives[0]!.amount.amount).toBe('0.98');
    expect(event.newReceives[0]!.receivedAt).toBeInstanceOf(Date);
  });

  it("keep the head's and the totals' money readable in a saved state", () => {
    const builder = redPackSummaryBuilder();
    builder.add([pack]);
    const totals = builder.build(new Date(1_763_512_300_000));
    const state = { head: { redPacks: [pack], totalItems: 1, sequence: 1 }, totals, savedAt: 1 };
    const back = decodeState(encodeState(state));
    expect(back).toEqual(state);
    expect(back.totals!.totalAmount.amount).toBe('12.34');
    expect(back.head.redPacks[0]!.receives[0]!.amount.amount).toBe('0.98');
  });
});
