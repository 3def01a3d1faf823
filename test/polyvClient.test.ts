/**
 * The signed Polyv client against the emulator over real HTTP: envelopes, Polyv's errors, a refused
 * connection, and no secrets in errors. Injected faults and their retries are in faults.test.ts.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { startEmulator, type PolyvEmulator } from '../emulator/index.js';
import { generousGuard } from './support/guard.js';
import { PolyvHttpClient } from '../src/polyv/http.js';
import { PolyvPages } from '../src/polyv/pages.js';
import { listOf } from '../src/lists/list.js';

const redPackList = listOf('redPackStatistics');
const incomeList = listOf('incomeDetail');
import { PolyvApiError, PolyvError, PolyvUnavailableError } from '../src/polyv/errors.js';

let emulator: PolyvEmulator;
let client: PolyvHttpClient;

const makeClient = (overrides: Partial<ConstructorParameters<typeof PolyvHttpClient>[0]> = {}) =>
  new PolyvHttpClient({
    baseUrl: emulator.url,
    appId: emulator.credentials.appId,
    appSecret: emulator.credentials.appSecret,
    timeoutMs: 500,
    retries: 2,
    maxSockets: 8,
    guard: generousGuard(),
    backoffBaseMs: 10,
    ...overrides,
  });

/** The client without a cache: what the endpoint modules call. */
const via = (c: PolyvHttpClient) => new PolyvPages(c);
const redPacks = (c = client, pageSize = 10) =>
  redPackList.fetchPage(via(c), { channelId: '2812610', pageNumber: 1, pageSize });
const income = (c = client) =>
  incomeList.fetchPage(via(c), {
    userId: emulator.credentials.userId,
    startDate: '2026-08-01',
    endDate: '2026-11-30',
    pageNumber: 1,
    pageSize: 12,
  });

/** The rejection of a promise, asserted to be a PolyvError. */
async function failure(promise: Promise<unknown>): Promise<PolyvError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(PolyvError);
  return error as PolyvError;
}

beforeAll(async () => {
  emulator = await startEmulator({ port: 0 });
  client = makeClient();
});
afterAll(async () => {
  client.close();
  await emulator.close();
});
afterEach(() => {
  emulator.clearFaults();
  emulator.setLatency(0);
  emulator.resetCounters();
});

describe('red-pack statistics (v4 envelope)', () => {
  it('returns the newest red packs of the channel with every field converted', async () => {
    const page = await redPacks(client, 5);
    const expected = emulator.store.redPacks.get('2812610')!.slice(0, 5);
    expect(page.totalItems).toBe(3500);
    expect(page.items.map((item) => item.id)).toEqual(expected.map((pack) => pack.redPackId));
    const [first] = page.items;
    const source = expected[0]!;
    expect(first).toMatchObject({
      channelId: '2812610',
      sessionId: source.channelSessionId,
      sender: { openId: source.userId, nickname: source.nickName },
      amount: { fen: source.amountFen, currency: 'CNY' },
      allotTypeLabel: source.allotType,
      statusLabel: source.status,
      typeLabel: source.redPackType,
      createdAt: new Date(source.createdTime),
    });
    expect(first!.receives.map((receive) => receive.amount.fen)).toEqual(
      source.receives.map((receive) => receive.amountFen),
    );
  });

  it('signs every call with a fresh timestamp (Polyv accepts each one)', async () => {
    await redPacks();
    await redPacks();
    const timestamps = emulator.calls.map((call) => call.params.timestamp);
    expect(emulator.calls.every((call) => call.outcome === 'ok')).toBe(true);
    expect(timestamps).toHaveLength(2);
    for (const timestamp of timestamps) expect(timestamp).toMatch(/^\d{13}$/);
  });

  it('turns an error envelope into a typed error with Polyv code, message and requestId', async () => {
    const error = await failure(
      redPackList.fetchPage(via(client), { channelId: '99999999', pageNumber: 1, pageSize: 10 }),
    );
    expect(error).toBeInstanceOf(PolyvApiError);
    expect(error.answered).toBe(true);
    expect(error.polyvCode).toBe(20005);
    expect(error.polyvMessage).toBe('channel not found.');
    expect(error.requestId).toEqual(expect.any(String));
    expect(error.httpStatus).toBe(400);
    expect(emulator.calls).toHaveLength(1); // not retried
  });

  it('reports a wrong secret as an invalid signature, without retrying and without the secret', async () => {
    const wrong = makeClient({ appSecret: 'not-the-secret-123' });
    const error = await failure(redPacks(wrong));
    wrong.close();
    expect(error).toBeInstanceOf(PolyvApiError);
    expect(error.polyvMessage).toBe('invalid signature.');
    expect(emulator.calls).toHaveLength(1);
    expect(JSON.stringify({ ...error, message: error.message })).not.toContain(
      'not-the-secret-123',
    );
  });

  it('reports an unknown app id as "application not found."', async () => {
    const stranger = makeClient({ appId: 'nosuchapp' });
    const error = await failure(redPacks(stranger));
    stranger.close();
    expect(error.polyvCode).toBe(20001);
    expect(error.polyvMessage).toBe('application not found.');
  });
});

describe('income detail (v2 envelope)', () => {
  it('returns income records converted', async () => {
    const page = await income();
    const inRange = emulator.store.income;
    expect(page.totalItems).toBe(inRange.length);
    expect(page.items.map((record) => record.id)).toEqual(
      inRange.slice(0, 12).map((record) => record.outTradeNo),
    );
    expect(page.items[0]).toMatchObject({
      accountId: emulator.credentials.userId,
      amount: { fen: inRange[0]!.amountFen },
      payTypeLabel: inRange[0]!.payTypeName,
      paidAt: new Date(inRange[0]!.payTime),
    });
  });

  it('treats code != 200 inside an HTTP 200 answer as an error', async () => {
    const error = await failure(
      incomeList.fetchPage(via(client), {
        userId: emulator.credentials.userId,
        startDate: '2026-10-02',
        endDate: '2026-10-01',
        pageNumber: 1,
        pageSize: 12,
      }),
    );
    expect(error).toBeInstanceOf(PolyvApiError);
    expect(error.httpStatus).toBe(200);
    expect(error.polyvCode).toBe(400);
    expect(error.polyvMessage).toBe('invalid date time format');
  });

  it('reports another account as access forbidden', async () => {
    const error = await failure(
      incomeList.fetchPage(via(client), {
        userId: 'someone-else',
        startDate: '2026-10-01',
        endDate: '2026-10-02',
        pageNumber: 1,
        pageSize: 12,
      }),
    );
    expect(error.polyvMessage).toBe('access forbidden');
  });
});

// Every fault the emulator injects, and how often each is retried: faults.test.ts.
describe('failures without an answer', () => {
  it('reports a refused connection as UPSTREAM_UNAVAILABLE', async () => {
    const nowhere = makeClient({ baseUrl: 'http://127.0.0.1:9', retries: 1 });
    const error = await failure(redPacks(nowhere));
    nowhere.close();
    expect(error).toBeInstanceOf(PolyvUnavailableError);
    expect(error.message).toContain('ECONNREFUSED');
  });

  it('never puts the secret or a signature in an error', async () => {
    emulator.injectFaults('timeout', 1);
    emulator.injectFaults('malformedJson', 1);
    const errors = [
      await failure(redPacks(makeClient({ retries: 0 }))),
      await failure(redPacks(makeClient({ retries: 0 }))),
    ];
    for (const error of errors) {
      const text = [error.message, error.stack, JSON.stringify(error), String(error.cause)].join(
        '\n',
      );
      expect(text).not.toContain(emulator.credentials.appSecret);
      expect(text).not.toMatch(/sign=|[0-9A-F]{32}/);
    }
  });
});
