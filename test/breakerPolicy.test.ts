/**
 * PolyvGuard's circuit breaker and QPS back-off, as pure policy: attempts are plain functions
 * that resolve or throw PolyvErrors, and time is Jest's fake clock. That clock drives all of it:
 * opossum rotates its rolling window (ten 1 s buckets) with setInterval, opens and half-opens
 * with setTimeout, and the fair gate waits out the back-off with setTimeout too.
 *
 * The policy, as the guard configures opossum:
 * - a failure that counts (Polyv unreachable, 5xx, timeout, malformed answer) opens the circuit
 *   once at least `volume` calls were made in the window and MORE than `errorPercent` of them
 *   failed: the rate is checked only when such a failure lands, and exactly `errorPercent`
 *   does not open it (opossum compares strictly);
 * - while open, calls are refused (CIRCUIT_OPEN) without being made; after `resetMs` the circuit
 *   is half-open and one probe goes through: a failure that counts re-opens it, anything else
 *   (Polyv answered) closes it. Closing does not clear the window;
 * - "qps exceeds" holds every caller back for `qpsBackoffMs`; a call that cannot wait that long
 *   is refused at once. Refused calls are never counted.
 */
import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import fc from 'fast-check';
import {
  PolyvApiError,
  PolyvCallRefusedError,
  PolyvMalformedResponseError,
  PolyvRateLimitedError,
  PolyvUnavailableError,
} from '../src/polyv/errors.js';
import { PolyvGuard, type GuardOptions } from '../src/polyv/guard.js';
import { MemoryTokenBuckets } from '../src/ratelimit/tokenBucket.js';

const ENDPOINT = 'redPackStatistics';
const START = Date.UTC(2024, 0, 1);
/** opossum's rolling window, as the guard sets it up: 10 buckets over 10 s. */
const BUCKET_MS = 1_000;
const WINDOW_BUCKETS = 10;

/** What Polyv (or our own code) does with one attempt. */
type Outcome = 'ok' | 'network' | 'timeout' | 'http5xx' | 'malformed' | 'answered' | 'qps' | 'bug';
const OUTCOMES: Outcome[] = [
  'ok',
  'network',
  'timeout',
  'http5xx',
  'malformed',
  'answered',
  'qps',
  'bug',
];
/** The failures that say Polyv is unwell, so the breaker counts them. */
const COUNTED: Outcome[] = ['network', 'timeout', 'http5xx', 'malformed'];

function failureOf(outcome: Outcome): Error | undefined {
  const endpoint = ENDPOINT;
  switch (outcome) {
    case 'ok':
      return undefined;
    case 'network':
      return new PolyvUnavailableError('connection reset', { endpoint, reason: 'NETWORK' });
    case 'timeout':
      return new PolyvUnavailableError('no answer in time', { endpoint, reason: 'TIMEOUT' });
    case 'http5xx':
      return new PolyvUnavailableError('HTTP 503', {
        endpoint,
        httpStatus: 503,
        reason: 'HTTP_5XX',
      });
    case 'malformed':
      return new PolyvMalformedResponseError('not JSON', {
        endpoint,
        httpStatus: 200,
        reason: 'MALFORMED',
      });
    case 'answered':
      return new PolyvApiError('Polyv refused the request', {
        endpoint,
        httpStatus: 200,
        polyvCode: 20002,
        polyvMessage: 'invalid signature.',
      });
    case 'qps':
      return new PolyvRateLimitedError('qps exceeds number of calls', {
        endpoint,
        reason: 'POLYV_RATE_LIMIT',
      });
    case 'bug':
      return new TypeError('a bug of ours, not Polyv failing');
  }
}

const guards: PolyvGuard[] = [];
/** Stops every guard's timers (opossum's window and reset timers). */
const shutdownAll = () => {
  for (const guard of guards.splice(0)) guard.shutdown();
};

function guardWith(
  options: { breaker?: Partial<GuardOptions['breaker']> } & Partial<
    Omit<GuardOptions, 'breaker'>
  > = {},
): PolyvGuard {
  const guard = new PolyvGuard({
    maxConcurrency: 4,
    maxQueue: 100,
    queueTimeoutMs: 5_000,
    qpsBackoffMs: 2_000,
    // Tokens are never what a call waits for here: that is tokenBucket.test.ts's business.
    buckets: new MemoryTokenBuckets({ ratePerSecond: 1e6, burst: 1e6 }, () => Date.now()),
    ...options,
    breaker: { errorPercent: 50, volume: 4, resetMs: 1_000, ...options.breaker },
  });
  guards.push(guard);
  return guard;
}

/** One call through the guard, observed: whether (and when) the attempt ran, how it ended. */
interface Call {
  ran: boolean;
  ranAt: number | undefined;
  settled: boolean;
  answer: unknown;
  error: unknown;
}

function start(
  guard: PolyvGuard,
  attempt: () => Promise<string>,
  { deadline = Date.now() + 60_000, client = 'a' } = {},
): Call {
  const call: Call = {
    ran: false,
    ranAt: undefined,
    settled: false,
    answer: undefined,
    error: undefined,
  };
  guard
    .run(
      ENDPOINT,
      () => {
        call.ran = true;
        call.ranAt = Date.now();
        return attempt();
      },
      deadline,
      client,
    )
    .then(
      (answer) => Object.assign(call, { settled: true, answer }),
      (error: unknown) => Object.assign(call, { settled: true, error }),
    );
  return call;
}

const attemptFor = (outcome: Outcome) => async () => {
  const failure = failureOf(outcome);
  if (failure) throw failure;
  return 'answer';
};

/** Runs microtasks and any timer already due, without moving the clock. */
const flush = () => jest.advanceTimersByTimeAsync(0);

/** Lets one call finish, moving the clock from timer to timer only while it has to wait. */
async function finish(call: Call): Promise<Call> {
  await flush();
  for (let timers = 0; !call.settled; timers++) {
    if (timers > 1_000) throw new Error('the call never settled');
    await jest.advanceTimersToNextTimerAsync();
  }
  return call;
}

const callWith = (
  guard: PolyvGuard,
  outcome: Outcome,
  options?: { deadline?: number; client?: string },
) => finish(start(guard, attemptFor(outcome), options));

async function callAll(guard: PolyvGuard, outcomes: Outcome[]): Promise<void> {
  for (const outcome of outcomes) await callWith(guard, outcome);
}

/** An attempt that stays in flight until the test settles it. */
function pendingAttempt() {
  let settle!: (outcome: Outcome) => void;
  const attempt = () =>
    new Promise<string>((resolve, reject) => {
      settle = (outcome) => {
        const failure = failureOf(outcome);
        if (failure) reject(failure);
        else resolve('answer');
      };
    });
  return { attempt, settle: (outcome: Outcome) => settle(outcome) };
}

const refusal = (reason: string) =>
  expect.objectContaining({ constructor: PolyvCallRefusedError, reason, endpoint: ENDPOINT });

/** Opens a fresh guard's circuit with `volume` failures. */
async function openedGuard(breaker: Partial<GuardOptions['breaker']> = {}) {
  const guard = guardWith({ breaker });
  await callAll(guard, Array<Outcome>(breaker.volume ?? 4).fill('http5xx'));
  expect(guard.state).toBe('open');
  return guard;
}

beforeEach(() => {
  jest.useFakeTimers({ now: START, doNotFake: ['nextTick', 'queueMicrotask'] });
});

afterEach(() => {
  shutdownAll();
  jest.useRealTimers();
});

describe('when the circuit opens', () => {
  it.each<[string, { volume: number; errorPercent: number }, Outcome[], 'closed' | 'open']>([
    [
      'below the volume, every call failing',
      { volume: 4, errorPercent: 50 },
      ['http5xx', 'http5xx', 'http5xx'],
      'closed',
    ],
    [
      'the volume reached, every call failing',
      { volume: 4, errorPercent: 50 },
      ['http5xx', 'http5xx', 'http5xx', 'http5xx'],
      'open',
    ],
    ['a volume of one: the first failure', { volume: 1, errorPercent: 1 }, ['network'], 'open'],
    [
      'exactly errorPercent failing (2 of 4 at 50%)',
      { volume: 4, errorPercent: 50 },
      ['ok', 'ok', 'http5xx', 'http5xx'],
      'closed',
    ],
    [
      'over errorPercent (3 of 5 at 50%)',
      { volume: 4, errorPercent: 50 },
      ['ok', 'ok', 'http5xx', 'http5xx', 'timeout'],
      'open',
    ],
    [
      'under errorPercent at the volume (2 of 5 at 50%)',
      { volume: 5, errorPercent: 50 },
      ['ok', 'ok', 'ok', 'http5xx', 'http5xx'],
      'closed',
    ],
    [
      'a low errorPercent (1 of 10 at 9%)',
      { volume: 10, errorPercent: 9 },
      [...Array<Outcome>(9).fill('ok'), 'malformed'],
      'open',
    ],
    // 3 of 4 failed, but the volume was reached by a success: nothing checks the rate then.
    [
      'the rate is checked when a failure lands, not a success',
      { volume: 4, errorPercent: 50 },
      ['http5xx', 'http5xx', 'http5xx', 'ok'],
      'closed',
    ],
    [
      '… and the next failure opens it',
      { volume: 4, errorPercent: 50 },
      ['http5xx', 'http5xx', 'http5xx', 'ok', 'http5xx'],
      'open',
    ],
  ])('%s', async (_what, breaker, outcomes, expected) => {
    const guard = guardWith({ breaker });
    await callAll(guard, outcomes);
    expect(guard.state).toBe(expected);
  });

  it('remembers failures for the 10 s window', async () => {
    const guard = guardWith({ breaker: { volume: 4, errorPercent: 50 } });
    await callAll(guard, ['http5xx', 'http5xx', 'http5xx']);
    await jest.advanceTimersByTimeAsync((WINDOW_BUCKETS - 1) * BUCKET_MS);
    await callWith(guard, 'http5xx');
    expect(guard.state).toBe('open');
  });

  it('forgets failures older than the 10 s window', async () => {
    const guard = guardWith({ breaker: { volume: 4, errorPercent: 50 } });
    await callAll(guard, ['http5xx', 'http5xx', 'http5xx']);
    // Ten bucket rotations later those three are gone: one more failure is below the volume.
    await jest.advanceTimersByTimeAsync(WINDOW_BUCKETS * BUCKET_MS);
    await callWith(guard, 'http5xx');
    expect(guard.state).toBe('closed');
  });
});

describe('which failures count', () => {
  it.each(COUNTED)('%s counts as Polyv failing', async (outcome) => {
    const guard = guardWith();
    for (let index = 0; index < 4; index++) {
      const call = await callWith(guard, outcome);
      expect(call.error).toEqual(failureOf(outcome)); // handed back to the caller as it was
    }
    expect(guard.state).toBe('open');
  });

  it.each<[Outcome, string]>([
    ['answered', 'Polyv answered "no" (a bad signature): it is up'],
    ['qps', '"qps exceeds": the back-off deals with that'],
    ['bug', 'a failure of ours, not of Polyv'],
  ])('%s does not count: %s', async (outcome) => {
    const guard = guardWith({ qpsBackoffMs: 0 });
    for (let index = 0; index < 10; index++) {
      const call = await callWith(guard, outcome);
      expect(call.ran).toBe(true);
      expect(call.error).toEqual(failureOf(outcome));
    }
    expect(guard.state).toBe('closed');
    // They count as calls made, though, so they dilute the failure rate: 4 of 14 is under 50%.
    await callAll(guard, ['http5xx', 'http5xx', 'http5xx', 'http5xx']);
    expect(guard.state).toBe('closed');
  });

  it('does not count refusals: neither as failures nor as calls made', async () => {
    const guard = guardWith();
    for (let index = 0; index < 10; index++) {
      const late = await callWith(guard, 'ok', { deadline: Date.now() - 1 });
      expect(late.ran).toBe(false);
      expect(late.error).toEqual(refusal('DEADLINE_EXCEEDED'));
    }
    expect(guard.state).toBe('closed');
    // Had they counted as calls, 4 failures of 14 would leave it closed.
    await callAll(guard, ['http5xx', 'http5xx', 'http5xx', 'http5xx']);
    expect(guard.state).toBe('open');
  });
});

describe('while the circuit is open', () => {
  it('refuses every call with CIRCUIT_OPEN without making it, until resetMs has passed', async () => {
    const guard = await openedGuard({ resetMs: 1_000 });
    for (const outcome of OUTCOMES) {
      const call = await callWith(guard, outcome, { client: outcome });
      expect(call.ran).toBe(false);
      expect(call.error).toEqual(refusal('CIRCUIT_OPEN'));
    }
    await jest.advanceTimersByTimeAsync(999);
    expect(guard.state).toBe('open');
    expect((await callWith(guard, 'ok')).ran).toBe(false);
    await jest.advanceTimersByTimeAsync(1);
    expect(guard.state).toBe('halfOpen');
  });
});

describe('half-open', () => {
  it('lets exactly one probe through; the others are refused without being made', async () => {
    const guard = await openedGuard({ resetMs: 1_000 });
    await jest.advanceTimersByTimeAsync(1_000);
    const probe = pendingAttempt();
    const first = start(guard, probe.attempt, { client: 'a' });
    const others = ['a', 'b', 'c'].map((client) => start(guard, attemptFor('ok'), { client }));
    await flush();
    expect(first.ran).toBe(true);
    for (const other of others) {
      expect(other.ran).toBe(false);
      expect(other.error).toEqual(refusal('CIRCUIT_OPEN'));
    }
    expect(guard.state).toBe('halfOpen');
    probe.settle('ok');
    await finish(first);
    expect(first.answer).toBe('answer');
    expect(guard.state).toBe('closed');
  });

  it.each<[Outcome, 'closed' | 'open']>([
    ['ok', 'closed'],
    ['answered', 'closed'],
    ['qps', 'closed'],
    ['bug', 'closed'],
    ['network', 'open'],
    ['timeout', 'open'],
    ['http5xx', 'open'],
    ['malformed', 'open'],
  ])('a probe ending %s leaves it %s', async (outcome, expected) => {
    const guard = await openedGuard({ resetMs: 1_000 });
    await jest.advanceTimersByTimeAsync(1_000);
    const probe = await callWith(guard, outcome);
    expect(probe.ran).toBe(true);
    expect(guard.state).toBe(expected);
  });

  it('after a bad probe, waits a whole resetMs again before the next probe', async () => {
    const guard = await openedGuard({ resetMs: 1_000 });
    await jest.advanceTimersByTimeAsync(1_500);
    await callWith(guard, 'http5xx');
    await jest.advanceTimersByTimeAsync(999);
    expect(guard.state).toBe('open');
    await jest.advanceTimersByTimeAsync(1);
    expect(guard.state).toBe('halfOpen');
    expect((await callWith(guard, 'ok')).ran).toBe(true);
    expect(guard.state).toBe('closed');
  });

  it('closes without forgetting: a failure soon after closing re-opens it at once', async () => {
    const guard = await openedGuard({ resetMs: 1_000, volume: 4 });
    await jest.advanceTimersByTimeAsync(1_000);
    await callWith(guard, 'ok');
    expect(guard.state).toBe('closed');
    // The window still holds the four failures: 5 of 6 calls failed.
    await callWith(guard, 'http5xx');
    expect(guard.state).toBe('open');
  });

  it('does not count the calls it refused while open', async () => {
    const guard = await openedGuard({ resetMs: 1_000, volume: 4, errorPercent: 50 });
    await callAll(guard, ['ok', 'ok', 'ok', 'ok']);
    await jest.advanceTimersByTimeAsync(1_000);
    await callWith(guard, 'ok');
    // 5 of 6 calls made failed; counting the four refused would make it 5 of 10.
    await callWith(guard, 'http5xx');
    expect(guard.state).toBe('open');
  });
});

describe('the QPS back-off', () => {
  it('holds every caller back until it ends, then lets them all through', async () => {
    const guard = guardWith({ qpsBackoffMs: 2_000, queueTimeoutMs: 5_000 });
    const limited = await callWith(guard, 'qps');
    expect(limited.error).toEqual(failureOf('qps'));
    const pausedAt = Date.now();

    const waiting = ['a', 'b', 'c'].map((client) => start(guard, attemptFor('ok'), { client }));
    await jest.advanceTimersByTimeAsync(1_999);
    expect(waiting.map((call) => call.ran)).toEqual([false, false, false]);
    await jest.advanceTimersByTimeAsync(1);
    expect(waiting.map((call) => call.ranAt)).toEqual(Array(3).fill(pausedAt + 2_000));
    expect(waiting.map((call) => call.answer)).toEqual(Array(3).fill('answer'));

    // Over: the next call is made at once.
    const after = start(guard, attemptFor('ok'));
    await flush();
    expect(after.ranAt).toBe(pausedAt + 2_000);
  });

  it('refuses at once, without making it, a call that cannot wait that long', async () => {
    const guard = guardWith({ qpsBackoffMs: 2_000, queueTimeoutMs: 5_000 });
    await callWith(guard, 'qps');
    const hurried = await callWith(guard, 'ok', { deadline: Date.now() + 1_999 });
    expect(hurried.ran).toBe(false);
    expect(hurried.error).toEqual(refusal('DEADLINE_EXCEEDED'));

    const impatient = guardWith({ qpsBackoffMs: 2_000, queueTimeoutMs: 1_000 });
    await callWith(impatient, 'qps');
    const queued = await callWith(impatient, 'ok');
    expect(queued.ran).toBe(false);
    expect(queued.error).toEqual(refusal('QUEUE_TIMEOUT'));
    // Neither time passed nor anything counted: the refusals were immediate.
    expect(Date.now()).toBe(START);
    expect(impatient.state).toBe('closed');
  });

  it('starts again from the latest "qps exceeds"', async () => {
    const guard = guardWith({ qpsBackoffMs: 2_000 });
    await callWith(guard, 'qps');
    await jest.advanceTimersByTimeAsync(2_000);
    const second = await callWith(guard, 'qps');
    expect(second.ranAt).toBe(START + 2_000);
    const next = await callWith(guard, 'ok');
    expect(next.ranAt).toBe(START + 4_000);
  });
});

/**
 * The policy in a few lines, to compare the guard with step by step: the calls made (with the
 * time each was made and whether it counted as a failure), when the circuit last opened, and
 * until when "qps exceeds" holds calls back.
 */
class PolicyModel {
  private readonly made: { at: number; failed: boolean }[] = [];
  /** When the circuit last opened; undefined while it is closed. */
  private openedAt: number | undefined;
  private pausedUntil = 0;

  constructor(
    private readonly options: {
      breaker: GuardOptions['breaker'];
      qpsBackoffMs: number;
      queueTimeoutMs: number;
    },
    private readonly createdAt: number,
  ) {}

  state(now: number): 'closed' | 'open' | 'halfOpen' {
    if (this.openedAt === undefined) return 'closed';
    return now < this.openedAt + this.options.breaker.resetMs ? 'open' : 'halfOpen';
  }

  /** A call started at `now`: refused, or made at some time (after any back-off). */
  call(now: number, outcome: Outcome): { refused: string } | { madeAt: number } {
    const state = this.state(now);
    if (state === 'open') return { refused: 'CIRCUIT_OPEN' };
    // A back-off ending exactly at the queue deadline refuses too, though not at once: the
    // waiter's own timer, set before the gate's, fires first at that instant.
    if (this.pausedUntil >= now + this.options.queueTimeoutMs) return { refused: 'QUEUE_TIMEOUT' };
    const madeAt = Math.max(now, this.pausedUntil);
    const failed = COUNTED.includes(outcome);
    this.made.push({ at: madeAt, failed });
    if (outcome === 'qps') this.pausedUntil = madeAt + this.options.qpsBackoffMs;
    if (state === 'halfOpen') {
      this.openedAt = failed ? madeAt : undefined;
    } else if (failed && this.overThreshold(madeAt)) {
      this.openedAt = madeAt;
    }
    return { madeAt };
  }

  private overThreshold(now: number): boolean {
    const bucket = (at: number) => Math.floor((at - this.createdAt) / BUCKET_MS);
    const recent = this.made.filter(({ at }) => bucket(now) - bucket(at) < WINDOW_BUCKETS);
    const failures = recent.filter(({ failed }) => failed).length;
    const { volume, errorPercent } = this.options.breaker;
    // opossum's own arithmetic, floating point included (11 / 20 * 100 is 55.00000000000001).
    return recent.length >= volume && (failures / recent.length) * 100 > errorPercent;
  }
}

describe('the policy, over random sequences of outcomes and clock advances', () => {
  const step = fc.oneof(
    { arbitrary: fc.constantFrom(...OUTCOMES).map((outcome) => ({ outcome })), weight: 3 },
    {
      arbitrary: fc.integer({ min: 0, max: 3_000 }).map((advanceMs) => ({ advanceMs })),
      weight: 1,
    },
  );
  const options = fc.record({
    breaker: fc.record({
      volume: fc.integer({ min: 1, max: 8 }),
      errorPercent: fc.integer({ min: 1, max: 100 }),
      resetMs: fc.integer({ min: 1, max: 3_000 }),
    }),
    qpsBackoffMs: fc.integer({ min: 0, max: 3_000 }),
    queueTimeoutMs: fc.integer({ min: 1, max: 3_000 }),
  });

  it('the guard makes and refuses the calls the model does, and is in its state after each step', async () => {
    await fc.assert(
      fc.asyncProperty(options, fc.array(step, { maxLength: 60 }), async (chosen, steps) => {
        jest.useFakeTimers({ now: START, doNotFake: ['nextTick', 'queueMicrotask'] });
        const guard = guardWith(chosen);
        const model = new PolicyModel(chosen, Date.now());
        try {
          for (const next of steps) {
            if ('advanceMs' in next) {
              await jest.advanceTimersByTimeAsync(next.advanceMs);
            } else {
              const expected = model.call(Date.now(), next.outcome);
              const call = await callWith(guard, next.outcome);
              expect(
                call.ran
                  ? { madeAt: call.ranAt }
                  : { refused: call.error instanceof PolyvCallRefusedError && call.error.reason },
              ).toEqual(expected);
            }
            expect(guard.state).toBe(model.state(Date.now()));
          }
        } finally {
          shutdownAll();
        }
      }),
      { numRuns: 500 },
    );
  });
});
