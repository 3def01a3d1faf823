/**
 * The upstream limit holds under a flood. autocannon pushes far more client requests than the
 * upstream token bucket allows, each needing its own Polyv call; every answer must be data or a
 * clean refusal, and the emulator, which timestamps every call it serves, must never have seen
 * more than the bucket allows in any window. A second phase makes the per-client limit the
 * binding one and checks its 429 answers.
 *
 * Loopback only, bounded in time: two floods of a few seconds each.
 */
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import autocannon from 'autocannon';
import type { PolyvGrant } from '../src/polyv/guard.js';
import { startStack, type Stack } from './support/stack.js';

/**
 * Upstream limit of the first phase: far below what the flood asks for, even when a starved
 * machine lets autocannon send only a few dozen requests a second.
 */
const UPSTREAM = { ratePerSecond: 10, burst: 5, queueTimeoutMs: 1_000, maxQueue: 50 };
/** Per-client limit of the second phase. */
const CLIENT = { ratePerSecond: 5, burst: 5 };
const FLOOD_SECONDS = 4;
const CLIENT_FLOOD_SECONDS = 2;
/** More connections than the upstream queue holds (50): QUEUE_FULL as well as QUEUE_TIMEOUT. */
const CONNECTIONS = 60;
/** The flood's channel: 40 red packs, so every page is small and every answer quick. */
const CHANNEL = '2812612';
const CHANNEL_RED_PACKS = 40;
/** Refusals by the upstream guard that a flood may cause (docs/api.md, Errors). */
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
 * Of all windows [t_i, t_j] between two calls, the one closest to (or furthest over) the bound
 * widened by `slackMs`: together they are every window that starts at a call, at every length
 * that matters.
 */
function tightestWindow(
  times: number[],
  bucket: { ratePerSecond: number; burst: number },
  slackMs: number,
) {
  let tightest = { count: 0, windowMs: 0, bound: 0, margin: Infinity };
  times.forEach((start, i) => {
    times.slice(i).forEach((end, offset) => {
      const windowMs = end - start;
      const count = offset + 1;
      const bound = bucketBound(bucket, windowMs + slackMs);
      const margin = bound - count;
      if (margin < tightest.margin) tightest = { count, windowMs, bound, margin };
    });
  });
  return tightest;
}

/**
 * What a token bucket lets through in any closed window of `windowMs` between two grants:
 * burst + rate × w, exactly (the epsilon absorbs binary rounding of the fractional tokens).
 */
const bucketBound = (bucket: { ratePerSecond: number; burst: number }, windowMs: number) =>
  Math.floor(bucket.burst + (bucket.ratePerSecond * windowMs) / 1000 + 1e-9);

/**
 * Integer-ms stamps at the emulator can make a window look up to 1 ms shorter at each end than
 * the grants inside it were apart.
 */
const STAMP_ROUNDING_MS = 2;

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

  it(`never grants more than ${UPSTREAM.burst} + ${UPSTREAM.ratePerSecond}/s upstream calls, and answers every request cleanly`, async () => {
    stack.emulator.resetCounters();
    const grants: PolyvGrant[] = [];
    stack.gateway.guard.onGrant((grant) => grants.push(grant));
    const loopDelay = monitorEventLoopDelay({ resolution: 10 });
    loopDelay.enable();
    const run = await flood(stack, FLOOD_SECONDS, CONNECTIONS);
    // Requests still queued when autocannon stopped finish within the queue timeout; their
    // calls count too. Wait until the guard has nothing waiting or in flight.
    while (stack.gateway.guard.queueDepth > 0 || stack.gateway.guard.inFlight > 0) await sleep(20);
    loopDelay.disable();

    const unclean = run.outcomes.filter((outcome) => outcome.kind === 'unclean');
    const data = run.outcomes.filter((outcome) => outcome.kind === 'data').length;
    const reasons = countBy(
      run.outcomes.flatMap((outcome) => (outcome.kind === 'refused' ? [outcome] : [])),
      (outcome) => outcome.reason,
    );
    const rateLimited = run.outcomes.filter((outcome) => outcome.kind === 'rateLimited').length;

    // The promise is made where tokens are granted: check it there, exactly.
    const granted = grants.map((grant) => grant.grantedAt).sort((a, b) => a - b);
    const spanMs = (granted.at(-1) ?? 0) - (granted[0] ?? 0);
    const peakPerSecond = peakInWindow(granted, 1_000);
    // Polyv's view: each call lands between its grant and its answer, so the emulator's stamps
    // can bunch up by at most the longest such interval measured in this run (plus rounding).
    const calls = stack.emulator.calls;
    const stamps = calls.map((call) => call.at).sort((a, b) => a - b);
    const landingSlackMs = Math.ceil(Math.max(0, ...grants.map((grant) => grant.heldMs)));
    const stampSlackMs = landingSlackMs + STAMP_ROUNDING_MS;
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
          ['upstream tokens granted / calls seen by Polyv', `${grants.length} / ${calls.length}`],
          ['upstream calls in flight at once, at most', stack.emulator.maxInFlight],
          [
            'grants allowed over the run',
            `${bucketBound(UPSTREAM, spanMs)} (burst + rate × ${spanMs} ms, first to last grant)`,
          ],
          [
            'peak grants in any 1 s window',
            `${peakPerSecond} (limit ${UPSTREAM.burst} + ${UPSTREAM.ratePerSecond} = ${UPSTREAM.burst + UPSTREAM.ratePerSecond})`,
          ],
          [
            'event-loop delay, max / p99',
            `${(loopDelay.max / 1e6).toFixed(0)} / ${(loopDelay.percentile(99) / 1e6).toFixed(0)} ms`,
          ],
          ['longest grant-to-answer (Polyv-view slack)', `${landingSlackMs} ms`],
          ['peak calls at Polyv in any 1 s window', peakInWindow(stamps, 1_000)],
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
    // Every call that reached Polyv was an answered page, nothing else, one per grant.
    expect(new Set(calls.map((call) => `${call.endpoint} ${call.outcome}`))).toEqual(
      new Set(['redPackStatistics ok']),
    );
    expect(calls.length).toBe(grants.length);

    // The limit held exactly on the grants, in every window between two of them.
    const windows = [50, 100, 250, 500, 1_000, 2_000, 3_000, spanMs + 1].map((windowMs) => ({
      windowMs,
      peak: peakInWindow(granted, windowMs),
      bound: bucketBound(UPSTREAM, windowMs),
    }));
    console.log(
      'peak grants by window (peak / burst + rate × w): ' +
        windows.map((w) => `${w.windowMs} ms: ${w.peak} / ${w.bound}`).join(', '),
    );
    expect(windows.filter((window) => window.peak > window.bound)).toEqual([]);
    const tightest = tightestWindow(granted, UPSTREAM, 0);
    console.log(
      `tightest window of grants: ${tightest.count} in ${tightest.windowMs.toFixed(1)} ms;` +
        ` burst + rate × w allows ${tightest.bound}`,
    );
    expect(tightest.count).toBeLessThanOrEqual(tightest.bound);
    // Cross-check at Polyv, with the slack measured above rather than assumed.
    const landed = tightestWindow(stamps, UPSTREAM, stampSlackMs);
    console.log(
      `tightest window at Polyv: ${landed.count} calls in ${landed.windowMs} ms;` +
        ` allows ${landed.bound} with ${stampSlackMs} ms measured slack`,
    );
    expect(landed.count).toBeLessThanOrEqual(landed.bound);

    // The flood really pressed on the limit, however fast this machine is today: some window of
    // grants reached the bound. (How many requests were then turned away depends on how fast
    // autocannon could send, so it is reported above, not asserted.)
    expect(tightest.margin).toBeLessThanOrEqual(1);
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
    // Every admission happened while autocannon was sending; its stamps are whole ms.
    const allowed = bucketBound(CLIENT, run.finishedAt - run.startedAt + STAMP_ROUNDING_MS);
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
