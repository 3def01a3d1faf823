/**
 * Fair shares of the upstream budget: calls wait in one queue per client, served in turn.
 *
 * The round robin (FairQueue) and the gate that hands out slots and tokens (FairGate) are pure
 * enough to run on a fake clock: table-driven cases, then properties over random schedules of
 * clients, holds and deadlines, with a real token bucket on the same fake clock. End to end, one
 * API key floods a slow upstream and another key's uncached query is answered at once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { FairGate, type Timers, type Turn } from '../src/polyv/guard.js';
import { FairQueue } from '../src/ratelimit/fairQueue.js';
import { MemoryTokenBuckets, type BucketOptions } from '../src/ratelimit/tokenBucket.js';
import { bearer, KEYS, writeKeysFile } from './support/keys.js';
import { startStack } from './support/stack.js';

/** Timers on a clock that moves only when told to. */
class FakeTimers implements Timers {
  private time = 0;
  private sequence = 0;
  private readonly pending = new Map<number, { at: number; run: () => void }>();

  now(): number {
    return this.time;
  }

  after(ms: number, run: () => void): () => void {
    const id = this.sequence++;
    this.pending.set(id, { at: this.time + Math.max(0, ms), run });
    return () => this.pending.delete(id);
  }

  /** Runs every timer due by `until` in time order (then creation order), settling promises after each. */
  async advanceTo(until: number): Promise<void> {
    await settled();
    for (;;) {
      let due: [number, { at: number; run: () => void }] | undefined;
      for (const entry of this.pending)
        if (entry[1].at <= until && (!due || entry[1].at < due[1].at)) due = entry;
      if (!due) break;
      this.pending.delete(due[0]);
      this.time = due[1].at;
      due[1].run();
      await settled();
    }
    this.time = Math.max(this.time, until);
  }
}

/** Lets every promise chain that can move, move (setImmediate runs after the microtasks). */
const settled = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Arrival {
  at: number;
  client: string;
  /** How long the call holds its slot once granted. */
  holdMs: number;
  /** How long it may wait. */
  waitMs: number;
}

interface Setup {
  bucket: BucketOptions;
  maxConcurrency: number;
  maxQueue: number;
  pausedUntil?: number;
}

interface Outcome {
  client: string;
  arrivedAt: number;
  until: number;
  /** `granted`, `QUEUE_FULL` or `LATE`. */
  result: string;
  at: number;
  grantedAt?: number;
  /** When it arrived and when it was answered, in the order of everything that happened. */
  arrivalSeq: number;
  settleSeq: number;
}

/** Runs the arrivals through a gate on a fake clock; every call's outcome, in arrival order. */
async function simulate(setup: Setup, arrivals: Arrival[]) {
  const timers = new FakeTimers();
  const buckets = new MemoryTokenBuckets(setup.bucket, () => timers.now());
  const gate = new FairGate({
    maxConcurrency: setup.maxConcurrency,
    maxQueue: setup.maxQueue,
    take: () => buckets.take('polyv'),
    pausedUntil: () => setup.pausedUntil ?? 0,
    timers,
  });
  const outcomes: Outcome[] = [];
  /** Grants in the order the gate made them. */
  const grantOrder: Outcome[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let sequence = 0;
  for (const arrival of [...arrivals].sort((a, b) => a.at - b.at)) {
    await timers.advanceTo(arrival.at);
    const until = arrival.at + arrival.waitMs;
    const outcome: Outcome = {
      client: arrival.client,
      arrivedAt: arrival.at,
      until,
      result: '',
      at: NaN,
      arrivalSeq: sequence++,
      settleSeq: NaN,
    };
    outcomes.push(outcome);
    void gate.wait(arrival.client, until).then((turn: Turn) => {
      outcome.at = timers.now();
      outcome.settleSeq = sequence++;
      if (!turn.ok) {
        outcome.result = turn.why;
        return;
      }
      outcome.result = 'granted';
      outcome.grantedAt = turn.grantedAt;
      grantOrder.push(outcome);
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      timers.after(arrival.holdMs, () => {
        inFlight--;
        turn.release();
      });
    });
  }
  await timers.advanceTo(Number.MAX_SAFE_INTEGER / 2);
  return { outcomes, grantOrder, maxInFlight, gate };
}

const allowed = ({ burst, ratePerSecond }: BucketOptions, windowMs: number) =>
  Math.floor(burst + (ratePerSecond * windowMs) / 1000 + 1e-9);

describe('FairQueue: round robin between clients', () => {
  it.each([
    ['one client: first in, first out', ['a1', 'a2', 'a3'], ['a1', 'a2', 'a3']],
    ['two clients alternate', ['a1', 'a2', 'a3', 'b1'], ['a1', 'b1', 'a2', 'a3']],
    [
      'a newcomer joins the end of the round',
      ['a1', 'a2', 'b1', 'b2', 'c1'],
      ['a1', 'b1', 'c1', 'a2', 'b2'],
    ],
  ])('%s', (_what, pushed, served) => {
    const queue = new FairQueue<string>();
    for (const item of pushed) queue.push(item[0]!, item);
    const order: string[] = [];
    for (let item = queue.shift(); item !== undefined; item = queue.shift()) order.push(item);
    expect(order).toEqual(served);
    expect(queue.size).toBe(0);
  });

  it.each([
    // [what, queued before, newcomer's client, shed item or undefined]
    ['a flood gives up its newest for a quiet client', ['a1', 'a2', 'a3'], 'b', 'a3'],
    ['a client is never shed for itself', ['a1', 'a2', 'a3'], 'a', undefined],
    ['equal shares stay', ['a1', 'a2', 'b1', 'b2'], 'b', undefined],
    ['only a queue longer than the newcomer would make', ['a1', 'a2', 'b1'], 'b', undefined],
    ['the longest queue gives, not the first', ['a1', 'b1', 'b2', 'b3'], 'c', 'b3'],
  ])('shedding: %s', (_what, queued, client, shed) => {
    const queue = new FairQueue<string>();
    for (const item of queued) queue.push(item[0]!, item);
    expect(queue.shedFor(client)).toBe(shed);
    expect(queue.size).toBe(queued.length - (shed ? 1 : 0));
  });

  it('while a client waits, no other client is served twice; each client stays FIFO', () => {
    const op = fc.oneof(
      fc.record({ push: fc.integer({ min: 0, max: 4 }) }),
      fc.record({ shift: fc.constant(true) }),
      fc.record({ remove: fc.nat() }),
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), (ops) => {
        const queue = new FairQueue<{ client: string; n: number }>();
        const model = new Map<string, { client: string; n: number }[]>();
        /** For each waiting client: how often each other client was served since its last turn. */
        const servedSince = new Map<string, Map<string, number>>();
        let n = 0;
        for (const step of ops) {
          if ('push' in step) {
            const client = `c${step.push}`;
            const item = { client, n: n++ };
            queue.push(client, item);
            model.set(client, [...(model.get(client) ?? []), item]);
            if (!servedSince.has(client)) servedSince.set(client, new Map());
          } else if ('shift' in step) {
            const item = queue.shift();
            if (model.size === 0) {
              expect(item).toBeUndefined();
              continue;
            }
            if (!item) throw new Error('a waiter was lost');
            const own = model.get(item.client)!;
            // FIFO within a client.
            expect(item).toBe(own[0]);
            own.shift();
            if (own.length === 0) {
              model.delete(item.client);
              servedSince.delete(item.client);
            } else servedSince.set(item.client, new Map());
            for (const [waiting, counts] of servedSince) {
              if (waiting === item.client) continue;
              const count = (counts.get(item.client) ?? 0) + 1;
              counts.set(item.client, count);
              expect(count).toBeLessThanOrEqual(1);
            }
          } else {
            const all = [...model.values()].flat();
            if (all.length === 0) continue;
            const item = all[step.remove % all.length]!;
            expect(queue.remove(item.client, item)).toBe(true);
            expect(queue.remove(item.client, item)).toBe(false);
            const rest = model.get(item.client)!.filter((other) => other !== item);
            if (rest.length === 0) {
              model.delete(item.client);
              servedSince.delete(item.client);
            } else model.set(item.client, rest);
          }
          expect(queue.size).toBe(
            [...model.values()].reduce((sum, items) => sum + items.length, 0),
          );
        }
      }),
      { numRuns: 500, seed: 20261124 },
    );
  });
});

describe('FairGate on a fake clock', () => {
  const flood = (count: number, at = 0, waitMs = 10_000, client = 'flood'): Arrival[] =>
    Array.from({ length: count }, () => ({ at, client, holdMs: 10, waitMs }));

  it('serves a quiet client on the next token, ahead of a flood already queued', async () => {
    // 1 token per 100 ms; the flood queued 30 calls at t=0, the quiet client asks at t=1,050.
    const { outcomes } = await simulate(
      { bucket: { ratePerSecond: 10, burst: 1 }, maxConcurrency: 20, maxQueue: 1_000 },
      [...flood(30), { at: 1_050, client: 'quiet', holdMs: 10, waitMs: 10_000 }],
    );
    const quiet = outcomes.find((outcome) => outcome.client === 'quiet')!;
    // The next token (t=1,100) is the flood's turn, the one after (t=1,200) the quiet client's.
    expect(quiet).toMatchObject({ result: 'granted', at: 1_200 });
    // Without fairness it would wait for the 19 flood calls still queued: until t=3,000.
  });

  it.each([
    [
      'a full queue sheds the flood, not the quiet client',
      { bucket: { ratePerSecond: 10, burst: 1 }, maxConcurrency: 5, maxQueue: 4 },
      [...flood(5), { at: 1, client: 'quiet', holdMs: 10, waitMs: 10_000 }],
      // flood 1 is served at once; 2–5 fill the queue; the quiet client takes flood 5's place.
      ['granted', 'granted', 'granted', 'granted', 'QUEUE_FULL', 'granted'],
    ],
    [
      'a full queue refuses a client that already has the longest queue',
      { bucket: { ratePerSecond: 10, burst: 1 }, maxConcurrency: 5, maxQueue: 2 },
      flood(4),
      ['granted', 'granted', 'granted', 'QUEUE_FULL'],
    ],
    [
      'waiters give up at their own deadline',
      { bucket: { ratePerSecond: 10, burst: 1 }, maxConcurrency: 5, maxQueue: 10 },
      flood(4, 0, 150),
      // Tokens at 0 and 100; the other two are LATE at 150.
      ['granted', 'granted', 'LATE', 'LATE'],
    ],
    [
      'a back-off longer than the wait allowed refuses at once',
      {
        bucket: { ratePerSecond: 10, burst: 5 },
        maxConcurrency: 5,
        maxQueue: 10,
        pausedUntil: 500,
      },
      [
        { at: 0, client: 'a', holdMs: 10, waitMs: 400 },
        { at: 0, client: 'b', holdMs: 10, waitMs: 600 },
      ],
      ['LATE', 'granted'],
    ],
  ] as [string, Setup, Arrival[], string[]][])('%s', async (_what, setup, arrivals, expected) => {
    const { outcomes } = await simulate(setup, arrivals);
    expect(outcomes.map((outcome) => outcome.result)).toEqual(expected);
    if (setup.pausedUntil)
      for (const outcome of outcomes)
        if (outcome.result === 'granted')
          expect(outcome.at).toBeGreaterThanOrEqual(setup.pausedUntil);
        else expect(outcome.at).toBe(outcome.arrivedAt);
  });

  it('keeps every guarantee, and each client its turn, for any schedule', async () => {
    const arrival = fc.record({
      at: fc.integer({ min: 0, max: 3_000 }),
      client: fc.constantFrom('a', 'b', 'c', 'd'),
      holdMs: fc.integer({ min: 0, max: 300 }),
      waitMs: fc.integer({ min: 0, max: 2_000 }),
    });
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          bucket: fc.record({
            ratePerSecond: fc.integer({ min: 1, max: 50 }),
            burst: fc.integer({ min: 1, max: 5 }),
          }),
          maxConcurrency: fc.integer({ min: 1, max: 6 }),
          maxQueue: fc.integer({ min: 1, max: 30 }),
        }),
        fc.array(arrival, { maxLength: 80 }),
        async (setup, arrivals) => {
          const { outcomes, grantOrder, maxInFlight, gate } = await simulate(setup, arrivals);
          // Everyone got an answer, and nobody is left waiting or holding a slot.
          expect(outcomes.filter((outcome) => outcome.result === '')).toEqual([]);
          expect(gate.waiting).toBe(0);
          expect(gate.inFlight).toBe(0);
          expect(maxInFlight).toBeLessThanOrEqual(setup.maxConcurrency);
          for (const outcome of outcomes) {
            // A grant comes by the deadline, LATE exactly at it, QUEUE_FULL at once or when shed.
            if (outcome.result === 'granted') expect(outcome.at).toBeLessThanOrEqual(outcome.until);
            if (outcome.result === 'LATE') expect(outcome.at).toBe(outcome.until);
            if (outcome.result === 'QUEUE_FULL')
              expect(outcome.at).toBeLessThanOrEqual(outcome.until);
          }
          // The token bucket's bound, exactly, on the grants.
          const times = grantOrder.map((outcome) => outcome.grantedAt!);
          for (let i = 0; i < times.length; i++)
            for (let j = i; j < times.length; j++)
              expect(j - i + 1).toBeLessThanOrEqual(allowed(setup.bucket, times[j]! - times[i]!));
          // Round robin: while a call waits, every other client is granted at most once per
          // turn of the waiting call's own client (its calls queued ahead of it, then its own).
          for (const waiter of grantOrder) {
            const waitedDuring = (other: Outcome) =>
              other.settleSeq > waiter.arrivalSeq && other.settleSeq < waiter.settleSeq;
            const ahead = outcomes.filter(
              (other) =>
                other.client === waiter.client &&
                other.arrivalSeq < waiter.arrivalSeq &&
                other.settleSeq > waiter.arrivalSeq,
            ).length;
            const byClient = new Map<string, number>();
            for (const other of grantOrder)
              if (other.client !== waiter.client && waitedDuring(other))
                byClient.set(other.client, (byClient.get(other.client) ?? 0) + 1);
            for (const count of byClient.values()) expect(count).toBeLessThanOrEqual(ahead + 1);
          }
        },
      ),
      { numRuns: 300, seed: 20261125 },
    );
  });
});

describe('end to end: a flood from one API key', () => {
  /** Low enough that the flood's queue takes seconds to drain: 1 upstream call per 100 ms. */
  const RATE = 10;
  const CONNECTIONS = 40;
  const FLOOD_CHANNEL = '2812612';
  /** The only channel the ops key may read. */
  const QUIET_CHANNEL = '2812610';

  it("answers another key's uncached query without waiting behind the flood's queue", async () => {
    const stack = await startStack({
      env: {
        GATEWAY_AUTH: 'on',
        GATEWAY_API_KEYS_FILE: writeKeysFile(),
        POLYV_RATE_PER_SECOND: String(RATE),
        POLYV_RATE_BURST: '1',
        // Every query needs its own Polyv call (the stack's default, said here because it matters).
        GATEWAY_CACHE: 'off',
        // The defaults' execution gate (32 operations) is smaller than the flood, so the flood
        // queues there as well as at the upstream: both serve clients in turn.
      },
    });
    try {
      let flooding = true;
      let counter = 0;
      const floodAnswers: { finishedAt: number; ms: number; outcome: string }[] = [];
      // The finance key floods from many connections, each asking again as soon as answered.
      const loops = Array.from({ length: CONNECTIONS }, async () => {
        while (flooding) {
          const first = (counter++ % 1_000) + 1;
          const startedAt = performance.now();
          const answer = await stack.graphql(
            `{ channel(id: "${FLOOD_CHANNEL}") { redPacks(first: ${first}) { totalCount } } }`,
            undefined,
            bearer(KEYS.finance),
          );
          const code =
            answer.errors?.[0]?.extensions?.reason ?? answer.errors?.[0]?.extensions?.code;
          floodAnswers.push({
            finishedAt: performance.now(),
            ms: performance.now() - startedAt,
            outcome: typeof code === 'string' ? code : 'data',
          });
        }
      });
      // Wait until the flood has queued most of its connections' calls (or say why not).
      const formingSince = performance.now();
      while (stack.gateway.guard.queueDepth < CONNECTIONS * 0.75) {
        if (performance.now() - formingSince > 20_000)
          throw new Error(`the flood queued only ${stack.gateway.guard.queueDepth} upstream calls`);
        await sleep(20);
      }
      const queuedAt = performance.now();
      const queueDepth = stack.gateway.guard.queueDepth;

      // The ops key asks for its own channel, three times over, each a new upstream page.
      const quiet: number[] = [];
      const floodCallsBefore: number[] = [];
      for (const first of [2, 3, 4]) {
        const callsBefore = stack.emulator.calls.length;
        const startedAt = performance.now();
        const answer = await stack.graphql(
          `{ channel(id: "${QUIET_CHANNEL}") { redPacks(first: ${first}) { totalCount } } }`,
          undefined,
          bearer(KEYS.ops),
        );
        quiet.push(performance.now() - startedAt);
        expect(answer.errors).toBeUndefined();
        expect(answer.data).toEqual({ channel: { redPacks: { totalCount: 3500 } } });
        // Calls that reached Polyv for the flood while this query waited for its turn.
        const since = stack.emulator.calls.slice(callsBefore);
        const own = since.findIndex((call) => call.params.channelId === QUIET_CHANNEL);
        expect(own).toBeGreaterThanOrEqual(0);
        floodCallsBefore.push(own);
      }
      flooding = false;
      await Promise.all(loops);

      // What the flood's own calls waited once the queue had formed: the queue the quiet key
      // did not stand in.
      const floodWaits = floodAnswers
        .filter((answer) => answer.finishedAt >= queuedAt)
        .map((answer) => answer.ms)
        .sort((a, b) => a - b);
      const floodMedian = floodWaits[Math.floor(floodWaits.length / 2)] ?? NaN;
      const outcomes = countBy(floodAnswers.map((answer) => answer.outcome));
      console.log(
        [
          `fairness: ${CONNECTIONS} connections of one key flood an upstream of ${RATE} calls/s`,
          `  flood calls queued when the quiet key asked: ${queueDepth}`,
          `  flood answers: ${[...outcomes].map(([outcome, n]) => `${outcome} ${n}`).join(', ')}`,
          `  flood answers since the queue formed, median: ${floodMedian.toFixed(0)} ms` +
            ` (of ${floodWaits.length})`,
          `  quiet key's uncached queries: ${quiet.map((ms) => ms.toFixed(0)).join(', ')} ms`,
          `  flood calls reaching Polyv while each quiet query waited: ${floodCallsBefore.join(', ')}`,
        ].join('\n'),
      );

      // Not vacuous: the flood's own calls waited for seconds in its queue.
      expect(floodMedian).toBeGreaterThan(1_500);
      // The quiet key did not stand in that queue: each answer came in a fraction of it (about
      // two upstream turns, 200 ms, plus the machine's own time), not after ~30 flood calls.
      for (const ms of quiet) expect(ms).toBeLessThan(floodMedian / 2);
      for (const calls of floodCallsBefore) expect(calls).toBeLessThanOrEqual(CONNECTIONS / 8);
    } finally {
      await stack.close();
    }
  }, 60_000);
});

function countBy(items: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const item of items) counts.set(item, (counts.get(item) ?? 0) + 1);
  return counts;
}
