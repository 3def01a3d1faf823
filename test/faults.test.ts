/**
 * Every fault the emulator can inject, in one table: whether the client retries it, how many
 * attempts that makes, and what a client of the gateway sees. The table is checked at the two
 * levels that matter: the signed client calling each endpoint directly (both envelopes), and
 * the GraphQL answer over HTTP. Calls are counted at the emulator.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { EMULATED_ENDPOINTS, FAULTS, exampleParams, type Fault } from '../emulator/index.js';
import { POLYV_ENDPOINTS, pageRequest } from '../src/polyv/endpoints.js';
import {
  PolyvError,
  PolyvMalformedResponseError,
  PolyvRateLimitedError,
  PolyvUnavailableError,
  type PolyvErrorDetails,
  type UnavailableReason,
} from '../src/polyv/errors.js';
import { generousGuard } from './support/guard.js';
import { PolyvHttpClient } from '../src/polyv/http.js';
import { PolyvPages } from '../src/polyv/pages.js';
import { ErrorCode } from '../src/publicErrors.js';
import { expectNoLeaks, secretsOf } from './support/leaks.js';
import { startStack, type GraphQLResponse, type Stack } from './support/stack.js';

/** Retries after the first attempt, at both levels. */
const RETRIES = 2;
/** Per-attempt timeout: `timeout` and `slow` (2 s late) both run into it. */
const TIMEOUT_MS = 500;
/** Enough copies of a fault that every attempt meets one, with one left over to show none was added. */
const PERSISTENT = RETRIES + 2;

type Envelope = 'v4' | 'v2';

/** What Polyv itself said, in its own envelope: passed through to clients as `extensions.polyv`. */
interface PolyvSaid {
  httpStatus: number;
  code: number;
  message: string;
  /** Whether Polyv gave a requestId (only the v4 envelope has one). */
  requestId: boolean;
}

interface FaultRow {
  /** Whether another attempt is made: the retry policy under test. */
  retried: boolean;
  /** The client's error class. */
  error: new (message: string, details: PolyvErrorDetails) => PolyvError;
  /** Public `extensions.code` and `extensions.reason`. */
  code: ErrorCode;
  reason: UnavailableReason;
  /** The error's message, the same at both levels. */
  message: RegExp;
  /** HTTP status of the last answer; absent when nothing was answered. */
  httpStatus?: number;
  /** For faults answered in Polyv's envelope: what Polyv said there, per envelope. */
  polyv?: Record<Envelope, PolyvSaid>;
}

const QPS_MESSAGE = 'qps exceeds number of calls';

// A fault added to the emulator does not type-check until it has a row here.
const FAULT_TABLE: Record<Fault, FaultRow> = {
  http500: {
    retried: true,
    error: PolyvUnavailableError,
    code: ErrorCode.UpstreamUnavailable,
    reason: 'HTTP_5XX',
    message: /^Polyv answered HTTP 500 without a JSON body$/,
    httpStatus: 500,
  },
  http502: {
    retried: true,
    error: PolyvUnavailableError,
    code: ErrorCode.UpstreamUnavailable,
    reason: 'HTTP_5XX',
    message: /^Polyv answered HTTP 502 without a JSON body$/,
    httpStatus: 502,
  },
  http503: {
    retried: true,
    error: PolyvUnavailableError,
    code: ErrorCode.UpstreamUnavailable,
    reason: 'HTTP_5XX',
    message: /^Polyv answered HTTP 503 without a JSON body$/,
    httpStatus: 503,
  },
  timeout: {
    retried: true,
    error: PolyvUnavailableError,
    code: ErrorCode.UpstreamUnavailable,
    reason: 'TIMEOUT',
    // The last attempt only gets what is left of the call's deadline, so the figure varies.
    message: /^The request to Polyv timed out after \d+ ms$/,
  },
  reset: {
    retried: true,
    error: PolyvUnavailableError,
    code: ErrorCode.UpstreamUnavailable,
    reason: 'NETWORK',
    message: /^The request to Polyv failed \(ECONNRESET\)$/,
  },
  malformedJson: {
    retried: false,
    error: PolyvMalformedResponseError,
    code: ErrorCode.UpstreamUnavailable,
    reason: 'MALFORMED',
    message: /^Polyv answered HTTP 200 with a body that is not JSON \(\d+ bytes\)$/,
    httpStatus: 200,
  },
  html: {
    retried: true,
    error: PolyvUnavailableError,
    code: ErrorCode.UpstreamUnavailable,
    reason: 'HTTP_5XX',
    message: /^Polyv answered HTTP 502 without a JSON body$/,
    httpStatus: 502,
  },
  html200: {
    retried: false,
    error: PolyvMalformedResponseError,
    code: ErrorCode.UpstreamUnavailable,
    reason: 'MALFORMED',
    message: /^Polyv answered HTTP 200 with a body that is not JSON \(looks like HTML\)$/,
    httpStatus: 200,
  },
  qps: {
    retried: true,
    error: PolyvRateLimitedError,
    code: ErrorCode.UpstreamUnavailable,
    reason: 'POLYV_RATE_LIMIT',
    message: new RegExp(`^Polyv's rate limit was exceeded: ${QPS_MESSAGE}$`),
    polyv: {
      v4: { httpStatus: 429, code: 20006, message: QPS_MESSAGE, requestId: true },
      // v2 says it inside an HTTP 200, without a requestId.
      v2: { httpStatus: 200, code: 403, message: QPS_MESSAGE, requestId: false },
    },
  },
  slow: {
    retried: true,
    error: PolyvUnavailableError,
    code: ErrorCode.UpstreamUnavailable,
    reason: 'TIMEOUT',
    message: /^The request to Polyv timed out after \d+ ms$/,
  },
};

/** The table as rows, in the emulator's order, with the attempts each fault costs. */
const ROWS = FAULTS.map((fault) => {
  const row = FAULT_TABLE[fault];
  return { fault, ...row, attempts: row.retried ? RETRIES + 1 : 1 };
});
/** Retried faults met 1..RETRIES times: the call still succeeds, within the same request. */
const RECOVERIES = ROWS.filter((row) => row.retried).flatMap((row) =>
  Array.from({ length: RETRIES }, (_, index) => ({ ...row, times: index + 1 })),
);

/** What the last answer said, for one envelope. */
function answerOf(row: FaultRow, envelope: Envelope) {
  const said = row.polyv?.[envelope];
  return {
    httpStatus: said?.httpStatus ?? row.httpStatus,
    polyv: said && {
      code: said.code,
      message: said.message,
      // The emulator's requestIds look like Polyv's: 32 lowercase hex digits.
      requestId: said.requestId ? expect.stringMatching(/^[0-9a-f]{32}$/) : undefined,
    },
  };
}

const outcomes = (fault: Fault, times: number) => Array<string>(times).fill(`fault:${fault}`);

// One emulator serves both levels: the gateway's, also called directly by a client of our own.
let stack: Stack;
/** Signatures seen by the emulator, gathered before each reset for the leak check at the end. */
const secrets = new Set<string>();
/** Every GraphQL answer of this suite, for the same check. */
const transcript: string[] = [];

beforeAll(async () => {
  stack = await startStack({
    env: {
      POLYV_TIMEOUT_MS: String(TIMEOUT_MS),
      POLYV_RETRIES: String(RETRIES),
      // The breaker and the shared QPS back-off have tests of their own (resilience.test.ts):
      // here every fault must reach the retry logic, quickly.
      POLYV_BREAKER_VOLUME: '100000',
      POLYV_QPS_BACKOFF_MS: '50',
    },
  });
});
afterEach(() => {
  for (const secret of secretsOf(stack.emulator)) secrets.add(secret);
  stack.emulator.clearFaults();
  stack.emulator.resetCounters();
});
afterAll(async () => {
  expectNoLeaks([...transcript, JSON.stringify(stack.logs)].join('\n'), [...secrets]);
  await stack.close();
});

describe.each(EMULATED_ENDPOINTS)('the signed client calling %s', (endpoint) => {
  let client: PolyvHttpClient;
  beforeAll(() => {
    client = new PolyvHttpClient({
      baseUrl: stack.emulator.url,
      appId: stack.emulator.credentials.appId,
      appSecret: stack.emulator.credentials.appSecret,
      timeoutMs: TIMEOUT_MS,
      retries: RETRIES,
      maxSockets: 8,
      guard: generousGuard(),
      backoffBaseMs: 10,
    });
  });
  afterAll(() => client.close());

  /** One page of 10 records, as the endpoint is declared (no cache). */
  const page = async () => {
    const params = exampleParams(endpoint, stack.emulator.store);
    const request = pageRequest(endpoint, params, { number: 1, size: 10 });
    const { data } = await new PolyvPages(client).call(request);
    return { items: data.contents };
  };

  it.each(ROWS)(
    '$fault every time: $reason after $attempts attempt(s), then the next call succeeds',
    async ({ fault, attempts, ...row }) => {
      stack.emulator.injectFaults(fault, PERSISTENT);
      const started = Date.now();
      const error = await page().then(
        () => undefined,
        (reason: unknown) => reason,
      );
      // Within the call's own deadline (TIMEOUT_MS per attempt), with room for a busy machine.
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(error).toBeInstanceOf(PolyvError);
      expect(error).toBeInstanceOf(row.error);
      const { httpStatus, polyv } = answerOf(row, POLYV_ENDPOINTS[endpoint].envelope);
      expect(error).toMatchObject({
        endpoint,
        // What the formatter turns into the public code.
        answered: row.code === ErrorCode.UpstreamError,
        retryable: row.retried,
        reason: row.reason,
        attempts,
        httpStatus,
        polyvCode: polyv?.code,
        polyvMessage: polyv?.message,
        requestId: polyv?.requestId,
      });
      expect((error as PolyvError).message).toMatch(row.message);
      expect(stack.emulator.calls.map((call) => call.outcome)).toEqual(outcomes(fault, attempts));
      expect(stack.emulator.pendingFaults).toBe(PERSISTENT - attempts);

      stack.emulator.clearFaults();
      expect((await page()).items).toHaveLength(10);
    },
  );

  it.each(RECOVERIES)('$fault $times time(s): retried, and the call succeeds', async (row) => {
    stack.emulator.injectFaults(row.fault, row.times);
    expect((await page()).items).toHaveLength(10);
    expect(stack.emulator.calls.map((call) => call.outcome)).toEqual([
      ...outcomes(row.fault, row.times),
      'ok',
    ]);
  });
});

describe('the GraphQL answer over HTTP', () => {
  const QUERY = '{ channel(id: "2812612") { redPacks(first: 2) { totalCount } } }';
  const ANSWER = { channel: { redPacks: { totalCount: 40 } } };

  async function ask(): Promise<GraphQLResponse> {
    const response = await stack.graphql(QUERY);
    transcript.push(JSON.stringify(response));
    return response;
  }

  it.each(ROWS)(
    '$fault every time: $code ($reason) after $attempts attempt(s); the gateway stays up',
    async ({ fault, attempts, ...row }) => {
      stack.emulator.injectFaults(fault, PERSISTENT);
      const response = await ask();
      expect(response.status).toBe(200);
      expect(response.data).toEqual({ channel: null });
      const { httpStatus, polyv } = answerOf(row, 'v4');
      expect(response.errors).toEqual([
        expect.objectContaining({
          message: expect.stringMatching(row.message),
          path: ['channel', 'redPacks'],
          extensions: {
            code: row.code,
            endpoint: 'redPackStatistics',
            reason: row.reason,
            ...(httpStatus !== undefined ? { httpStatus } : {}),
            attempts,
            ...(polyv ? { polyv } : {}),
          },
        }),
      ]);
      expect(stack.emulator.calls.map((call) => call.outcome)).toEqual(outcomes(fault, attempts));
      expect(stack.emulator.pendingFaults).toBe(PERSISTENT - attempts);

      stack.emulator.clearFaults();
      expect((await fetch(`${stack.gateway.url}/healthz`)).status).toBe(200);
      expect((await ask()).data).toEqual(ANSWER);
    },
  );

  it.each(RECOVERIES)(
    '$fault $times time(s): retried and answered within the same request',
    async (row) => {
      stack.emulator.injectFaults(row.fault, row.times);
      const response = await ask();
      expect(response.errors).toBeUndefined();
      expect(response.data).toEqual(ANSWER);
      expect(stack.emulator.calls.map((call) => call.outcome)).toEqual([
        ...outcomes(row.fault, row.times),
        'ok',
      ]);
    },
  );
});
