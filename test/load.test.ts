/**
 * The upstream limit holds under a flood. autocannon pushes far more client requests than the
 * upstream token bucket allows, each needing its own Polyv call; every answer must be data or a
 * clean refusal, and the emulator, which timestamps every call it serves, must never have seen
 * more than the bucket allows in any window. A second phase makes the per-client limit the
 * binding one and checks its 429 answers.
 *
 * Loopback only, bounded in time: two floods of a few seconds each.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import autocannon from 'autocannon';
import { startStack, type Stack } from './support/stack.js';

/** Upstream limit of the first phase: far below what the flood asks for. */
const UPSTREAM = { ratePerSecond: 20, burst: 10, queueTimeoutMs: 1_000, maxQueue: 50 };
/** Per-client limit of the second phase. */
const CLIENT = { ratePerSecond: 5, burst: 5 };
const FLOOD_SECONDS = 4;
const CLIENT_FLOOD_SECONDS = 2;
/** More connections than the upstream queue holds (50): QUEUE_FULL as well as QUEUE_TIMEOUT. */
const CONNECTIONS = 60;
/** The flood's channel: 40 red packs, so every page is small and every answer quick. */
const CHANNEL = '2812612';
const CHANNEL_RED_PACKS = 40;
/** Refusals by the upstream guard that a flood may cause (README, Errors). */
const GUARD_REASONS = new Set(['QUEUE_TIMEOUT', 'QUEUE_FULL', 'DEADLINE_EXCEEDED']);

const isRecord = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** What one answer was, or why it was not clean. */
type Outcome =
  | { kind: 'data' }
  | { kind: 'refused'; reason: string }
  | { kind: 'rateLimited'; retryAfter: string | undefined; retryAfterSeconds: unknown }
  | { kind: 'unclean'; why: string };

/** Judges one answer of a `redPacks(first: N) { totalCount }` query on CHANNEL. */
function outcomeOf(status: number, body: string): Outcome {
  if (status >= 500) return { kind: 'unclean', why: `HTTP ${status}: ${body.slice(0, 300)}` };
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return { kind: 'unclean', why: `HTTP ${status}, not JSON: ${body.slice(0, 300)}` };
  }
  if (!isRecord(parsed)) return { kind: 'unclean', why: `not an object: ${body.slice(0, 300)}` };
  const errors = parsed.errors;
  if (errors === undefined) {
    const expected = JSON.stringify(parsed.data) === dataOf(CHANNEL_RED_PACKS);
    return status === 200 && expected
      ? { kind: 'data' }
      : { kind: 'unclean', why: `HTTP ${status}, unexpected data: ${body.slice(0, 300)}` };
  }
  const first: unknown = Array.isArray(errors) && errors.length === 1 ? errors[0] : undefined;
  const extensions = isRecord(first) ? first.extensions : undefined;
  if (!isRecord(first) || typeof first.message !== 'string' || !isRecord(extensions))
    return { kind: 'unclean', why: `HTTP ${status}, odd errors: ${body.slice(0, 300)}` };
  const { code, reason } = extensions;
  if (status === 429 && code === 'RATE_LIMITED')
    return {
      kind: 'rateLimited',
      retryAfter: undefined,
      retryAfterSeconds: extensions.retryAfterSeconds,
    };
  // A refused field is null and the answer is still HTTP 200: errors as data.
  if (
    status === 200 &&
    code === 'UPSTREAM_UNAVAILABLE' &&
    typeof reason === 'string' &&
    GUARD_REASONS.has(reason) &&
    JSON.stringify(parsed.data) === '{"channel":null}'
  )
    return { kind: 'refused', reason };
  return { kind: 'unclean', why: `HTTP ${status}, not a clean refusal: ${body.slice(0, 300)}` };
}

const dataOf = (totalCount: number) => JSON.stringify({ channel: { redPacks: { totalCount } } });

interface Flood {
  /** Requests autocannon wrote. */
  sent: number;
  /** Answers seen by onResponse, by outcome. */
  outcomes: Outcome[];
  result: autocannon.Result;
  startedAt: number;
  finishedAt: number;
}

/**
 * Floods `stack` with red-pack queries on CHANNEL, `first` varying from request to request so
 * no two neighbours are the same request. Every answer is judged as it arrives.
 */
async function flood(stack: Stack, seconds: number, connections: number): Promise<Flood> {
  const outcomes: Outcome[] = [];
  let counter = 0;
  const startedAt = Date.now();
  const result = await autocannon({
    url: `${stack.gateway.url}/graphql`,
    connections,
    duration: seconds,
    // A queued request answers within the 1 s queue timeout; 10 s means something hung.
    timeout: 10,
    requests: [
      {
        method: 'POST',
        // The strict media type: RATE_LIMITED keeps its 429 (to application/json it is a 200).
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json',
        },
        setupRequest: (request) => {
          counter += 1;
          const first = (counter % 1_000) + 1;
          return {
            ...request,
            body: JSON.stringify({
              query: `{ channel(id: "${CHANNEL}") { redPacks(first: ${first}) { totalCount } } }`,
            }),
          };
        },
        onResponse: (status, body, _context, headers) => {
          const outcome = outcomeOf(status, body);
          if (outcome.kind === 'rateLimited') outcome.retryAfter = headerOf(headers, 'retry-after');
          outcomes.push(outcome);
        },
      },
    ],
  });
  const finishedAt = Date.now();
  return { sent: result.requests.sent, outcomes, result, startedAt, finishedAt };
}

/** A response header by name, whatever case the server wrote it in. */
function headerOf(headers: autocannon.Request['headers'], name: string): string | undefined {
  const entry = Object.entries(headers ?? {}).find(([key]) => key.toLowerCase() === name);
  const value = entry?.[1];
  return Array.isArray(value) ? value.join(', ') : value;
}

const countBy = <T>(items: T[], key: (item: T) => string) =>
  items.reduce((counts, item) => {
    counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
    return counts;
  }, new Map<string, number>());

/** The most timestamps in any window [t, t + windowMs) that starts at one of them. */
function peakInWindow(times: number[], windowMs: number): number {
  let peak = 0;
  let end = 0;
  for (let start = 0; start < times.length; start++) {
    while (end < times.length && (times[end] ?? Infinity) < (times[start] ?? 0) + windowMs) end++;
    peak = Math.max(peak, end - start);
  }
  return peak;
}

/**
 * Of all windows [t_i, t_j] between two calls, the one closest to (or furthest over) the bound:
 * together they are every window that starts at a call, at every length that matters.
 */
function tightestWindow(times: number[], bucket: { ratePerSecond: number; burst: number }) {
  let tightest = { count: 0, windowMs: 0, strictBound: 0, slackBound: 0, margin: Infinity };
  times.forEach((start, i) => {
    times.slice(i).forEach((end, offset) => {
      const windowMs = end - start + 1;
      const count = offset + 1;
      const slackBound = bucketBound(bucket, windowMs, STAMP_JITTER_MS);
      const margin = slackBound - count;
      if (margin < tightest.margin)
        tightest = {
          count,
          windowMs,
          strictBound: bucketBound(bucket, windowMs),
          slackBound,
          margin,
        };
    });
  });
  return tightest;
}

/**
 * The gateway takes a token, then the call crosses loopback and the emulator stamps it as it
 * answers: a few ms later, and with gateway, emulator and autocannon sharing this process's event
 * loop, up to tens of ms later. Stamps can therefore bunch up by that much more than the tokens
 * did: windows at the emulator get this much slack (one call at 20/s). A real overrun (a second
 * burst, a window that resets) is many calls, not one.
 */
const STAMP_JITTER_MS = 50;

/** What a token bucket lets through in any window of `windowMs` (+ `slackMs`), +1 for rounding. */
const bucketBound = (
  bucket: { ratePerSecond: number; burst: number },
  windowMs: number,
  slackMs = 0,
) => Math.floor(bucket.burst + (bucket.ratePerSecond * (windowMs + slackMs)) / 1000) + 1;

const table = (rows: [string, string | number][]) => {
  const width = Math.max(...rows.map(([label]) => label.length));
  return rows.map(([label, value]) => `  ${label.padEnd(width)}  ${value}`).join('\n');
};

describe('an upstream-bound flood', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      env: {
        POLYV_RATE_PER_SECOND: String(UPSTREAM.ratePerSecond),
        POLYV_RATE_BURST: String(UPSTREAM.burst),
        POLYV_QUEUE_TIMEOUT_MS: String(UPSTREAM.queueTimeoutMs),
        POLYV_MAX_QUEUE: String(UPSTREAM.maxQueue),
        // Every request must need its own Polyv call: no page may come from a cache.
        GATEWAY_CACHE: 'off',
        // The stack's client limits stay far above the flood: here only the upstream limit binds.
      },
    });
  });
  afterAll(() => stack.close());

  it(`never lets more than ${UPSTREAM.burst} + ${UPSTREAM.ratePerSecond}/s calls reach Polyv, and answers every request cleanly`, async () => {
    stack.emulator.resetCounters();
    const run = await flood(stack, FLOOD_SECONDS, CONNECTIONS);
    // Requests still queued when autocannon stopped finish within the queue timeout; their
    // calls count too.
    await sleep(UPSTREAM.queueTimeoutMs + 500);

    const unclean = run.outcomes.filter((outcome) => outcome.kind === 'unclean');
    const data = run.outcomes.filter((outcome) => outcome.kind === 'data').length;
    const reasons = countBy(
      run.outcomes.flatMap((outcome) => (outcome.kind === 'refused' ? [outcome] : [])),
      (outcome) => outcome.reason,
    );
    const rateLimited = run.outcomes.filter((outcome) => outcome.kind === 'rateLimited').length;

    const calls = stack.emulator.calls;
    const times = calls.map((call) => call.at).sort((a, b) => a - b);
    const spanMs = (times.at(-1) ?? 0) - (times[0] ?? 0);
    const peakPerSecond = peakInWindow(times, 1_000);
    console.log(
      [
        `upstream-bound flood: ${CONNECTIONS} connections for ${FLOOD_SECONDS} s, upstream limit` +
          ` ${UPSTREAM.burst} + ${UPSTREAM.ratePerSecond}/s, queue ${UPSTREAM.maxQueue}` +
          ` waiting at most ${UPSTREAM.queueTimeoutMs} ms`,
        table([
          ['client requests sent', run.sent],
          ['answers received', run.outcomes.length],
          ['2xx answered with data', data],
          ...[...reasons].map(([reason, count]): [string, number] => [
            `UPSTREAM_UNAVAILABLE ${reason}`,
            count,
          ]),
          ['RATE_LIMITED (429)', rateLimited],
          ['unclean answers', unclean.length],
          ['connection errors / timeouts', `${run.result.errors} / ${run.result.timeouts}`],
          ['upstream calls', calls.length],
          ['upstream calls in flight at once, at most', stack.emulator.maxInFlight],
          [
            'upstream calls allowed over the run',
            `${bucketBound(UPSTREAM, spanMs)} (burst + rate × ${spanMs} ms, first to last call, +1)`,
          ],
          [
            'peak calls in any 1 s window',
            `${peakPerSecond} (limit ${UPSTREAM.burst} + ${UPSTREAM.ratePerSecond} = ${UPSTREAM.burst + UPSTREAM.ratePerSecond})`,
          ],
        ]),
      ].join('\n'),
    );

    // Every answer was clean, and none was lost.
    expect(unclean.slice(0, 5)).toEqual([]);
    expect(run.result.errors).toBe(0);
    expect(run.result.timeouts).toBe(0);
    expect(run.result['5xx']).toBe(0);
    expect(run.outcomes.length).toBeGreaterThan(0);
    // The concurrency bound (POLYV_MAX_CONCURRENCY, 20 by default) held too.
    expect(stack.emulator.maxInFlight).toBeLessThanOrEqual(20);
    // Every call that reached Polyv was an answered page, nothing else.
    expect(new Set(calls.map((call) => `${call.endpoint} ${call.outcome}`))).toEqual(
      new Set(['redPackStatistics ok']),
    );

    // The limit held in every window, from 50 ms to the whole run, starting at every call.
    const windows = [50, 100, 250, 500, 1_000, 2_000, 3_000, spanMs + 1].map((windowMs) => ({
      windowMs,
      peak: peakInWindow(times, windowMs),
      bound: bucketBound(UPSTREAM, windowMs, STAMP_JITTER_MS),
    }));
    console.log(
      'peak upstream calls by window (peak / burst + rate × w, +1 / with stamp slack): ' +
        windows
          .map(
            (w) =>
              `${w.windowMs} ms: ${w.peak} / ${bucketBound(UPSTREAM, w.windowMs)} / ${w.bound}`,
          )
          .join(', '),
    );
    expect(windows.filter((window) => window.peak > window.bound)).toEqual([]);
    // Exhaustively: every window that starts at a call and ends at a later one.
    const tightest = tightestWindow(times, UPSTREAM);
    console.log(
      `tightest window: ${tightest.count} calls in ${tightest.windowMs} ms; burst + rate × w, +1` +
        ` allows ${tightest.strictBound}, and ${tightest.slackBound} with ${STAMP_JITTER_MS} ms stamp slack`,
    );
    expect(tightest.count).toBeLessThanOrEqual(tightest.slackBound);
    // And over the flood as a whole (from its first request to the last possible queued call).
    const floodMs = run.finishedAt - run.startedAt + UPSTREAM.queueTimeoutMs;
    expect(calls.length).toBeLessThanOrEqual(bucketBound(UPSTREAM, floodMs));

    // The flood really pressed on the limit: the test is not vacuous.
    expect(run.sent).toBeGreaterThan(3 * bucketBound(UPSTREAM, FLOOD_SECONDS * 1_000));
    expect(calls.length).toBeGreaterThanOrEqual(
      Math.floor(0.6 * (UPSTREAM.burst + UPSTREAM.ratePerSecond * FLOOD_SECONDS)),
    );
    expect([...reasons.values()].reduce((sum, count) => sum + count, 0)).toBeGreaterThan(0);
    // Each answer with data took exactly one call (no cache, one page per request).
    expect(data).toBeGreaterThan(0);
    expect(data).toBeLessThanOrEqual(calls.length);
  }, 30_000);
});

describe('a client-bound flood', () => {
  let stack: Stack;
  beforeAll(async () => {
    stack = await startStack({
      env: {
        GATEWAY_RATE_PER_SECOND: String(CLIENT.ratePerSecond),
        GATEWAY_RATE_BURST: String(CLIENT.burst),
        // Without keys, one bucket per client address: all of autocannon is 127.0.0.1.
        GATEWAY_AUTH: 'off',
        GATEWAY_CACHE: 'off',
      },
    });
  });
  afterAll(() => stack.close());

  it(`answers past ${CLIENT.burst} + ${CLIENT.ratePerSecond}/s with 429, Retry-After and RATE_LIMITED`, async () => {
    const run = await flood(stack, CLIENT_FLOOD_SECONDS, 10);
    const limited = run.outcomes.filter((outcome) => outcome.kind === 'rateLimited');
    const others = run.outcomes.filter((outcome) => outcome.kind !== 'rateLimited');
    const allowed = bucketBound(CLIENT, run.finishedAt - run.startedAt);
    console.log(
      [
        `client-bound flood: 10 connections for ${CLIENT_FLOOD_SECONDS} s, client limit` +
          ` ${CLIENT.burst} + ${CLIENT.ratePerSecond}/s per address`,
        table([
          ['client requests sent', run.sent],
          ['answers received', run.outcomes.length],
          ['429 RATE_LIMITED', limited.length],
          ['other answers', `${others.length} (allowed at most ${allowed})`],
          ['upstream calls', stack.emulator.calls.length],
        ]),
      ].join('\n'),
    );

    expect(run.result.errors).toBe(0);
    expect(run.result['5xx']).toBe(0);
    expect(limited.length).toBeGreaterThan(0);
    // Each 429 says when to come back, in the header and in the error, the same whole seconds.
    for (const outcome of limited) {
      expect(outcome.retryAfter).toMatch(/^[1-9]\d*$/);
      expect(outcome.retryAfterSeconds).toBe(Number(outcome.retryAfter));
    }
    // What got through fits the bucket, and each of those was answered with data.
    expect(others.length).toBeLessThanOrEqual(allowed);
    expect(others.filter((outcome) => outcome.kind !== 'data')).toEqual([]);
    // Each admitted request made its one call (one more may have been in flight when autocannon
    // stopped listening); the bucket bounds those too.
    expect(stack.emulator.calls.length).toBeGreaterThanOrEqual(others.length);
    expect(stack.emulator.calls.length).toBeLessThanOrEqual(allowed);
  }, 30_000);
});
