/**
 * The execution gate that bounds the heap: operations are admitted by the records they may
 * hold, first in, first out. Pure: no server, no clock but the deadlines' timers.
 */
import { describe, expect, it } from '@jest/globals';
import fc from 'fast-check';
import { ConcurrencyGate } from '../src/server/limits/runtime.js';

const FAR = () => Date.now() + 60_000;
const settled = () => new Promise((resolve) => setImmediate(resolve));

/** Starts an acquire and records when it is admitted. */
function ask(gate: ConcurrencyGate, records: number, deadline = FAR(), client = 'a') {
  const entry = {
    admitted: false,
    release: undefined as (() => void) | undefined,
    refused: undefined as unknown,
  };
  // Every outcome is handled: a waiter still queued when its test ends is refused at its
  // deadline, later, and an unhandled rejection then would fail whichever suite is running.
  const done = gate.acquire(records, deadline, client).then(
    (release) => {
      entry.admitted = true;
      entry.release = release;
    },
    (error: unknown) => {
      entry.refused = error;
    },
  );
  return Object.assign(entry, { done });
}

describe('ConcurrencyGate', () => {
  it('runs light operations side by side, up to the count limit', async () => {
    const gate = new ConcurrencyGate({ maxActive: 3, maxRecords: 1_000, maxQueued: 10 });
    const asks = [1, 20, 20, 20].map((records) => ask(gate, records));
    await settled();
    expect(asks.map((a) => a.admitted)).toEqual([true, true, true, false]);
    expect(gate.recordsHeld).toBe(41);
    asks[0]!.release!();
    await settled();
    expect(asks[3]!.admitted).toBe(true);
  });

  it('makes a heavy operation wait for the records, and lets nobody overtake it', async () => {
    const gate = new ConcurrencyGate({ maxActive: 10, maxRecords: 1_000, maxQueued: 10 });
    const running = ask(gate, 700);
    const heavy = ask(gate, 500);
    const light = ask(gate, 10);
    await settled();
    expect([running.admitted, heavy.admitted, light.admitted]).toEqual([true, false, false]);
    running.release!();
    await settled();
    // Both fit now, and are let in in order.
    expect([heavy.admitted, light.admitted]).toEqual([true, true]);
    expect(gate.recordsHeld).toBe(510);
  });

  it("serves waiting clients in turn: one client's flood never stands between another and a slot", async () => {
    const gate = new ConcurrencyGate({ maxActive: 2, maxRecords: 1_000, maxQueued: 50 });
    const flood = Array.from({ length: 12 }, () => ask(gate, 1, FAR(), 'flood'));
    await settled();
    const quiet = ask(gate, 1, FAR(), 'quiet');
    await settled();
    expect(quiet.admitted).toBe(false);
    // The flood had the turn before the quiet client joined the round: one more of its waiters
    // goes first, then the quiet client, ahead of the flood's other nine.
    flood[0]!.release!();
    await settled();
    expect(quiet.admitted).toBe(false);
    flood[1]!.release!();
    await settled();
    expect(quiet.admitted).toBe(true);
    expect(flood.filter((a) => a.admitted)).toHaveLength(3);
  });

  it('makes room in a full queue by shedding the longest queue, not the newcomer', async () => {
    const gate = new ConcurrencyGate({ maxActive: 1, maxRecords: 1_000, maxQueued: 3 });
    ask(gate, 1, FAR(), 'flood');
    const queued = [1, 2, 3].map(() => ask(gate, 1, FAR(), 'flood'));
    const quiet = ask(gate, 1, FAR(), 'quiet');
    await settled();
    // The flood's newest waiter gave way; the quiet client waits.
    expect(queued.map((a) => a.refused !== undefined)).toEqual([false, false, true]);
    expect(queued[2]!.refused).toMatchObject({ extensions: { code: 'SERVER_BUSY' } });
    expect(quiet.refused).toBeUndefined();
    // A flood waiter beyond the bound is refused itself: the flood's queue is not the shorter.
    const more = ask(gate, 1, FAR(), 'flood');
    await settled();
    expect(more.refused).toMatchObject({ extensions: { code: 'SERVER_BUSY' } });
  });

  it('counts an operation heavier than the gate as the whole gate, so it still runs alone', async () => {
    const gate = new ConcurrencyGate({ maxActive: 10, maxRecords: 1_000, maxQueued: 10 });
    const huge = ask(gate, 5_000);
    const next = ask(gate, 1);
    await settled();
    expect([huge.admitted, next.admitted]).toEqual([true, false]);
    huge.release!();
    await settled();
    expect(next.admitted).toBe(true);
  });

  it('refuses with SERVER_BUSY when the queue is full, and at the deadline', async () => {
    const gate = new ConcurrencyGate({ maxActive: 1, maxRecords: 1_000, maxQueued: 1 });
    const first = ask(gate, 1);
    // Its refusal is awaited from the start: on a busy machine the 30 ms may pass before the
    // next line runs.
    const queued = expect(gate.acquire(1, Date.now() + 30)).rejects.toMatchObject({
      extensions: { code: 'SERVER_BUSY' },
    });
    await expect(gate.acquire(1, FAR())).rejects.toMatchObject({
      extensions: { code: 'SERVER_BUSY', retryAfterSeconds: 1 },
    });
    await queued;
    await first.done;
    first.release!();
    // The timed-out waiter left no trace: the gate is empty and admits at once.
    expect(gate.recordsHeld).toBe(0);
    const again = ask(gate, 1);
    await settled();
    expect(again.admitted).toBe(true);
  });

  it('lets lighter waiters in when a heavy waiter at the head gives up', async () => {
    const gate = new ConcurrencyGate({ maxActive: 10, maxRecords: 100, maxQueued: 10 });
    const running = ask(gate, 60);
    const heavy = expect(gate.acquire(80, Date.now() + 30)).rejects.toMatchObject({
      extensions: { code: 'SERVER_BUSY' },
    });
    const light = ask(gate, 30);
    await heavy;
    await settled();
    expect(light.admitted).toBe(true);
    expect(running.admitted).toBe(true);
  });

  it('never holds more than its records or operations, whatever the order of arrivals and releases', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 0, max: 400 }), { minLength: 1, maxLength: 40 }),
        fc.array(fc.nat(), { minLength: 1, maxLength: 80 }),
        async (weights, releaseOrder) => {
          const limits = { maxActive: 5, maxRecords: 500, maxQueued: 100 };
          const gate = new ConcurrencyGate(limits);
          const asks = weights.map((records) => ask(gate, records));
          let peakOps = 0;
          let peakRecords = 0;
          const check = () => {
            const running = asks.filter((a) => a.admitted && a.release);
            peakOps = Math.max(peakOps, running.length);
            peakRecords = Math.max(peakRecords, gate.recordsHeld);
          };
          await settled();
          check();
          for (const pick of releaseOrder) {
            const running = asks.filter((a) => a.admitted && a.release);
            if (running.length === 0) break;
            const chosen = running[pick % running.length]!;
            chosen.release!();
            chosen.release = undefined;
            await settled();
            check();
          }
          // Release the rest so that every waiter gets in eventually: nothing is lost.
          for (;;) {
            const running = asks.filter((a) => a.admitted && a.release);
            if (running.length === 0) break;
            for (const a of running) {
              a.release!();
              a.release = undefined;
            }
            await settled();
            check();
          }
          expect(peakOps).toBeLessThanOrEqual(limits.maxActive);
          expect(peakRecords).toBeLessThanOrEqual(limits.maxRecords);
          expect(asks.every((a) => a.admitted)).toBe(true);
          expect(gate.recordsHeld).toBe(0);
        },
      ),
      { numRuns: 200, seed: 42 },
    );
  });
});
