/**
 * The Polyv emulator, over real HTTP with node's fetch. Expected answers are computed
 * from the emulator's store with this file's own arithmetic (fen → yuan, CST days), and
 * response shapes are checked with strict schemas transcribed from Polyv's examples.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { z } from 'zod';
import {
  BIG_CHANNEL_ID,
  extraChannelIds,
  DEMO_CHANNELS,
  DEMO_CREDENTIALS,
  KNOWN_ALLOT_TYPES,
  KNOWN_RED_PACK_STATUSES,
  KNOWN_RED_PACK_TYPES,
  MAX_FAULT_COUNT,
  MAX_LATENCY_MS,
  MAX_LIVE_EVERY_MS,
  DEFAULT_LAST_DAY,
  createDemoDataset,
  demoLastDay,
  insertIncome,
  insertRedPack,
  startEmulator,
  type EmulatedIncome,
  type EmulatedRedPack,
  type PolyvEmulator,
} from '../index.js';
import { signParams } from '../../src/polyv/sign.js';
import type { Fault } from '../index.js';

const RED_PACK_PATH = '/live/v4/channel/red-pack/statistics/list';
const BIG_CHANNEL = '2812610';
const PERIOD = { startDate: '2026-08-01', endDate: '2026-11-19' };

// ---- Shapes, transcribed from the seed examples; strict, so extra or missing keys fail.

const receiveSchema = z.strictObject({
  redPackId: z.string(),
  userId: z.string(),
  nickName: z.string(),
  avatar: z.string(),
  amount: z.number(),
  createdTime: z.number().int(),
});
const redPackSchema = z.strictObject({
  redPackId: z.string().regex(/^[0-9a-f]{32}$/),
  userId: z.string(),
  channelId: z.number().int(),
  nickName: z.string(),
  amount: z.number(),
  balance: z.number(),
  allotType: z.string(),
  createdTime: z.number().int(),
  channelSessionId: z.string(),
  status: z.string(),
  redPackType: z.string(),
  redPackReceiveList: z.array(receiveSchema),
});
const v4SuccessSchema = z.strictObject({
  code: z.literal(200),
  status: z.literal('success'),
  requestId: z.string().min(1),
  data: z.strictObject({
    pageNumber: z.number().int(),
    pageSize: z.number().int(),
    totalPages: z.number().int(),
    totalItems: z.number().int(),
    contents: z.array(redPackSchema),
  }),
  success: z.literal(true),
});
const v4ErrorSchema = z.strictObject({
  code: z.number().int(),
  status: z.literal('error'),
  requestId: z.string().min(1),
  error: z.strictObject({ code: z.number().int(), desc: z.string() }),
  success: z.literal(false),
});
const incomeSchema = z.strictObject({
  userId: z.string(),
  amount: z.number(),
  goodNum: z.number().int().nullable(),
  channelId: z.number().int(),
  payType: z.string(),
  payTypeName: z.string(),
  viewerName: z.string(),
  payTime: z.number().int(),
  weixinAppId: z.string(),
  outTradeNo: z.string(),
  openId: z.string(),
});
const v2SuccessSchema = z.strictObject({
  code: z.literal(200),
  status: z.literal('success'),
  message: z.literal(''),
  data: z.strictObject({
    pageSize: z.number().int(),
    pageNumber: z.number().int(),
    totalItems: z.number().int(),
    contents: z.array(incomeSchema),
    startRow: z.number().int(),
    firstPage: z.boolean(),
    lastPage: z.boolean(),
    prePageNumber: z.number().int(),
    limit: z.number().int(),
    totalPages: z.number().int(),
    endRow: z.number().int(),
    nextPageNumber: z.number().int(),
    offset: z.number().int(),
  }),
});
const v2ErrorSchema = z.strictObject({
  code: z.number().int(),
  status: z.literal('error'),
  message: z.string(),
  data: z.literal(''),
});

// ---- Requests.

interface HttpResult {
  status: number;
  contentType: string;
  text: string;
}

interface SigningOptions {
  appId?: string;
  secret?: string;
  timestamp?: number;
}

/** Adds appId and timestamp and signs, as the gateway will. */
function signed(
  params: Record<string, string>,
  options: SigningOptions = {},
): Record<string, string> {
  const withAuth = {
    appId: options.appId ?? DEMO_CREDENTIALS.appId,
    timestamp: String(options.timestamp ?? Date.now()),
    ...params,
  };
  return { ...withAuth, sign: signParams(withAuth, options.secret ?? DEMO_CREDENTIALS.appSecret) };
}

async function send(url: string, init?: RequestInit): Promise<HttpResult> {
  const response = await fetch(url, init);
  return {
    status: response.status,
    contentType: response.headers.get('content-type') ?? '',
    text: await response.text(),
  };
}

function getRedPacksRaw(
  emulator: PolyvEmulator,
  query: Record<string, string>,
): Promise<HttpResult> {
  return send(`${emulator.url}${RED_PACK_PATH}?${new URLSearchParams(query).toString()}`);
}

function postIncomeRaw(
  emulator: PolyvEmulator,
  form: Record<string, string>,
  userId: string = DEMO_CREDENTIALS.userId,
): Promise<HttpResult> {
  return send(`${emulator.url}/live/v2/user/${userId}/get-income-detail`, {
    method: 'POST',
    body: new URLSearchParams(form),
  });
}

async function redPackPage(emulator: PolyvEmulator, params: Record<string, string>) {
  const result = await getRedPacksRaw(emulator, signed(params));
  expect(result.status).toBe(200);
  return v4SuccessSchema.parse(JSON.parse(result.text)).data;
}

async function incomePage(emulator: PolyvEmulator, params: Record<string, string>) {
  const result = await postIncomeRaw(emulator, signed(params));
  expect(result.status).toBe(200);
  return v2SuccessSchema.parse(JSON.parse(result.text)).data;
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

// ---- Expectations computed independently from the store.

function sumFen(amounts: readonly number[]): number {
  return amounts.reduce((sum, amount) => sum + amount, 0);
}

function expectedRedPack(pack: EmulatedRedPack) {
  const claimed = sumFen(pack.receives.map((receive) => receive.amountFen));
  return {
    redPackId: pack.redPackId,
    userId: pack.userId,
    channelId: Number(pack.channelId),
    nickName: pack.nickName,
    amount: pack.amountFen / 100,
    balance: (pack.amountFen - claimed) / 100,
    allotType: pack.allotType,
    createdTime: pack.createdTime,
    channelSessionId: pack.channelSessionId,
    status: pack.status,
    redPackType: pack.redPackType,
    redPackReceiveList: pack.receives.map((receive) => ({
      redPackId: receive.redPackId,
      userId: receive.userId,
      nickName: receive.nickName,
      avatar: receive.avatar,
      amount: receive.amountFen / 100,
      createdTime: receive.createdTime,
    })),
  };
}

function expectedIncome(row: EmulatedIncome) {
  return {
    userId: row.userId,
    amount: row.amountFen / 100,
    goodNum: row.goodNum,
    channelId: Number(row.channelId),
    payType: row.payType,
    payTypeName: row.payTypeName,
    viewerName: row.viewerName,
    payTime: row.payTime,
    weixinAppId: row.weixinAppId,
    outTradeNo: row.outTradeNo,
    openId: row.openId,
  };
}

function packsOf(emulator: PolyvEmulator, channelId: string): EmulatedRedPack[] {
  const packs = emulator.store.redPacks.get(channelId);
  if (packs === undefined) throw new Error(`no channel ${channelId} in the store`);
  return packs;
}

/** Income paid within CST days [startDate, endDate], computed with Date.parse and +08:00. */
function incomeBetween(
  emulator: PolyvEmulator,
  startDate: string,
  endDate: string,
  channelId?: string,
): EmulatedIncome[] {
  const from = Date.parse(`${startDate}T00:00:00.000+08:00`);
  const until = Date.parse(`${endDate}T23:59:59.999+08:00`);
  return emulator.store.income.filter(
    (row) =>
      row.payTime >= from &&
      row.payTime <= until &&
      (channelId === undefined || row.channelId === channelId),
  );
}

function isNewestFirst(times: readonly number[]): boolean {
  return times.every((time, index) => index === 0 || (times[index - 1] ?? time) >= time);
}

// ---------------------------------------------------------------------------------------

describe('demo dataset', () => {
  const store = createDemoDataset();
  const allPacks = [...store.redPacks.values()].flat();
  const allReceives = allPacks.flatMap((pack) => pack.receives);

  it('is identical for the same seed and different for another', () => {
    expect(createDemoDataset(42)).toEqual(store);
    expect(createDemoDataset(7).income).not.toEqual(store.income);
  });

  it('has the documented channels and sizes', () => {
    const sizes = Object.fromEntries(
      [...store.redPacks].map(([channelId, packs]) => [channelId, packs.length]),
    );
    expect(sizes).toEqual({ 2812610: 3500, 2812611: 300, 2812612: 40, 2812613: 0, 2812614: 5 });
    expect(DEMO_CHANNELS.map((channel) => channel.channelId)).toEqual(Object.keys(sizes));
    expect(store.userId).toBe('demo-user-01');
    expect(store.income).toHaveLength(600);
    expect(store.income.some((row) => row.channelId === '2812613')).toBe(true);
  });

  it('keeps every time inside the fixed period and every list newest first', () => {
    const start = Date.parse('2026-08-01T00:00:00+08:00');
    const end = Date.parse('2026-11-20T00:00:00+08:00');
    for (const packs of store.redPacks.values()) {
      expect(isNewestFirst(packs.map((pack) => pack.createdTime))).toBe(true);
    }
    expect(isNewestFirst(store.income.map((row) => row.payTime))).toBe(true);
    const times = [
      ...allPacks.map((pack) => pack.createdTime),
      ...store.income.map((row) => row.payTime),
    ];
    expect(Math.min(...times)).toBeGreaterThanOrEqual(start);
    expect(Math.max(...times)).toBeLessThan(end);
  });

  it('has consistent red packs: unique ids, claims within the amount and after the pack', () => {
    expect(new Set(allPacks.map((pack) => pack.redPackId)).size).toBe(allPacks.length);
    // Collected, then asserted once: tens of thousands of expect() calls would be slow.
    const problems = allPacks.flatMap((pack) => {
      const claimed = sumFen(pack.receives.map((receive) => receive.amountFen));
      return [
        !Number.isInteger(pack.amountFen) && `${pack.redPackId}: amount not in whole fen`,
        claimed > pack.amountFen && `${pack.redPackId}: claims exceed the amount`,
        !/^ovtl9t[A-Za-z0-9_-]{22}$/.test(pack.userId) && `${pack.redPackId}: odd sender openId`,
        ...pack.receives.map(
          (receive) =>
            (receive.redPackId !== pack.redPackId ||
              receive.createdTime <= pack.createdTime ||
              !(receive.amountFen > 0)) &&
            `${pack.redPackId}: bad claim by ${receive.userId}`,
        ),
      ].filter((problem) => problem !== false);
    });
    expect(problems).toEqual([]);
    expect(allPacks.some((pack) => pack.receives.length === 0)).toBe(true);
    const amounts = new Set(allPacks.map((pack) => pack.amountFen));
    for (const fen of [1, 10, 20, 30, 2_000_000]) expect(amounts.has(fen)).toBe(true);
  });

  it('draws receivers from a recurring pool of viewers', () => {
    const distinct = new Set(allReceives.map((receive) => receive.userId));
    expect(distinct.size).toBeLessThanOrEqual(200);
    expect(distinct.size).toBeGreaterThan(100);
    expect(allReceives.length).toBeGreaterThan(distinct.size * 10);
  });

  it('covers every documented label and a few unknown ones', () => {
    const labels = (pick: (pack: EmulatedRedPack) => string) => new Set(allPacks.map(pick));
    expect([...labels((pack) => pack.allotType)].sort()).toEqual(
      [...KNOWN_ALLOT_TYPES, '定向红包'].sort(),
    );
    expect([...labels((pack) => pack.status)].sort()).toEqual(
      [...KNOWN_RED_PACK_STATUSES, '已过期'].sort(),
    );
    expect([...labels((pack) => pack.redPackType)].sort()).toEqual(
      [...KNOWN_RED_PACK_TYPES, '拼手气红包'].sort(),
    );
  });

  it('has income of every pay type, an unknown one, and goodNum only where it belongs', () => {
    const types = new Set(store.income.map((row) => `${row.payType}:${row.payTypeName}`));
    expect([...types].sort()).toEqual(
      [
        'cash:现金打赏',
        'pay:付费观看',
        'good:道具打赏(现金礼物)',
        'point:积分打赏(积分礼物)',
        'coupon:优惠券',
      ].sort(),
    );
    for (const row of store.income) {
      if (row.payType === 'cash' || row.payType === 'pay') expect(row.goodNum).toBeNull();
      expect(row.userId).toBe('demo-user-01');
    }
    expect(store.income.some((row) => row.payType === 'point' && row.goodNum === null)).toBe(true);
    expect(new Set(store.income.map((row) => row.outTradeNo)).size).toBe(600);
  });

  it('places income on both sides of CST midnights', () => {
    const times = new Set(store.income.map((row) => row.payTime));
    for (const instant of [
      '2026-08-01T00:00:00.000+08:00',
      '2026-10-01T23:59:59.999+08:00',
      '2026-10-02T00:00:00.000+08:00',
      '2026-11-19T23:59:59.999+08:00',
    ]) {
      expect(times.has(Date.parse(instant))).toBe(true);
    }
  });
});

describe('Polyv endpoints', () => {
  let emulator: PolyvEmulator;
  beforeAll(async () => {
    emulator = await startEmulator();
  });
  afterAll(() => emulator.close());

  describe('red-pack statistics', () => {
    it('answers a signed call with the v4 envelope, ten newest items by default', async () => {
      const result = await getRedPacksRaw(emulator, signed({ channelId: BIG_CHANNEL }));
      expect(result.status).toBe(200);
      expect(result.contentType).toMatch(/^application\/json/);
      const body = v4SuccessSchema.parse(JSON.parse(result.text));
      expect(body.data).toEqual({
        pageNumber: 1,
        pageSize: 10,
        totalPages: 350,
        totalItems: 3500,
        contents: packsOf(emulator, BIG_CHANNEL).slice(0, 10).map(expectedRedPack),
      });
      // Yuan with at most two decimals, as Polyv prints them.
      for (const item of body.data.contents) {
        expect(String(item.amount)).toMatch(/^\d+(\.\d{1,2})?$/);
      }
    });

    it('filters by session', async () => {
      const expected = packsOf(emulator, BIG_CHANNEL).filter(
        (pack) => pack.channelSessionId === 'g8h352spmc',
      );
      const data = await redPackPage(emulator, {
        channelId: BIG_CHANNEL,
        sessionId: 'g8h352spmc',
        pageSize: '1000',
      });
      expect(expected.length).toBeGreaterThan(0);
      expect(data.totalItems).toBe(expected.length);
      expect(data.contents).toEqual(expected.slice(0, 1000).map(expectedRedPack));
    });

    it('filters by createdTime with both bounds included', async () => {
      const packs = packsOf(emulator, BIG_CHANNEL);
      const endTime = packs[100]?.createdTime ?? 0;
      const startTime = packs[400]?.createdTime ?? 0;
      const expected = packs.filter(
        (pack) => pack.createdTime >= startTime && pack.createdTime <= endTime,
      );
      const data = await redPackPage(emulator, {
        channelId: BIG_CHANNEL,
        startTime: String(startTime),
        endTime: String(endTime),
        pageSize: '1000',
      });
      expect(data.totalItems).toBe(expected.length);
      expect(data.contents[0]?.createdTime).toBe(endTime);
      expect(data.contents.at(-1)?.createdTime).toBe(startTime);
    });

    it('pages newest first and answers past the end with an empty page', async () => {
      const ids: string[] = [];
      for (let pageNumber = 1; pageNumber <= 4; pageNumber += 1) {
        const data = await redPackPage(emulator, {
          channelId: BIG_CHANNEL,
          pageNumber: String(pageNumber),
          pageSize: '1000',
        });
        expect(data.totalPages).toBe(4);
        expect(data.contents).toHaveLength(pageNumber === 4 ? 500 : 1000);
        ids.push(...data.contents.map((item) => item.redPackId));
      }
      expect(ids).toEqual(packsOf(emulator, BIG_CHANNEL).map((pack) => pack.redPackId));

      const past = await redPackPage(emulator, {
        channelId: BIG_CHANNEL,
        pageNumber: '5',
        pageSize: '1000',
      });
      expect(past).toEqual({
        pageNumber: 5,
        pageSize: 1000,
        totalPages: 4,
        totalItems: 3500,
        contents: [],
      });
    });

    it('answers a channel without red packs with an empty page', async () => {
      const data = await redPackPage(emulator, { channelId: '2812613' });
      expect(data).toEqual({
        pageNumber: 1,
        pageSize: 10,
        totalPages: 0,
        totalItems: 0,
        contents: [],
      });
    });

    it('accepts SHA-256 signatures', async () => {
      const params = {
        appId: DEMO_CREDENTIALS.appId,
        timestamp: String(Date.now()),
        channelId: '2812614',
        signatureMethod: 'SHA256',
      };
      const query = { ...params, sign: signParams(params, DEMO_CREDENTIALS.appSecret, 'SHA256') };
      const result = await getRedPacksRaw(emulator, query);
      expect(v4SuccessSchema.parse(JSON.parse(result.text)).data.totalItems).toBe(5);
    });
  });

  describe('income detail', () => {
    it('answers a signed call with the v2 envelope, twelve newest items by default', async () => {
      const result = await postIncomeRaw(emulator, signed(PERIOD));
      expect(result.status).toBe(200);
      const body = v2SuccessSchema.parse(JSON.parse(result.text));
      expect(body.data).toEqual({
        pageSize: 12,
        pageNumber: 1,
        totalItems: 600,
        contents: emulator.store.income.slice(0, 12).map(expectedIncome),
        startRow: 1,
        firstPage: true,
        lastPage: false,
        prePageNumber: 1,
        limit: 12,
        totalPages: 50,
        endRow: 12,
        nextPageNumber: 2,
        offset: 0,
      });
    });

    it('treats an absent channelId and channelId 0 as all channels', async () => {
      const absent = await incomePage(emulator, { ...PERIOD, pageSize: '1000' });
      const zero = await incomePage(emulator, { ...PERIOD, channelId: '0', pageSize: '1000' });
      expect(absent.totalItems).toBe(600);
      expect(zero).toEqual(absent);
      expect(absent.contents).toEqual(emulator.store.income.map(expectedIncome));
    });

    it('filters by channel', async () => {
      const expected = incomeBetween(emulator, PERIOD.startDate, PERIOD.endDate, '2812613');
      const data = await incomePage(emulator, {
        ...PERIOD,
        channelId: '2812613',
        pageSize: '1000',
      });
      expect(data.totalItems).toBe(expected.length);
      expect(data.contents).toEqual(expected.map(expectedIncome));
    });

    it.each([
      [
        '2026-10-01',
        '2026-10-01',
        '2026-10-01T23:59:59.999+08:00',
        '2026-10-02T00:00:00.000+08:00',
      ],
      [
        '2026-10-02',
        '2026-10-02',
        '2026-10-02T00:00:00.000+08:00',
        '2026-10-01T23:59:59.999+08:00',
      ],
      [
        '2026-10-02',
        '2026-10-02',
        '2026-10-02T08:00:00.000+08:00',
        '2026-10-03T00:00:00.000+08:00',
      ],
      [
        '2026-08-01',
        '2026-08-01',
        '2026-08-01T00:00:00.000+08:00',
        '2026-08-02T00:00:00.000+08:00',
      ],
      [
        '2026-11-19',
        '2026-11-19',
        '2026-11-19T23:59:59.999+08:00',
        '2026-11-18T23:59:59.999+08:00',
      ],
    ])('counts days %s..%s in China Standard Time', async (startDate, endDate, inside, outside) => {
      const expected = incomeBetween(emulator, startDate, endDate);
      const data = await incomePage(emulator, { startDate, endDate, pageSize: '1000' });
      const times = data.contents.map((item) => item.payTime);
      expect(data.totalItems).toBe(expected.length);
      expect(times).toContain(Date.parse(inside));
      expect(times).not.toContain(Date.parse(outside));
    });

    it('pages with Polyv v2 paging fields, including past the end', async () => {
      const page2 = await incomePage(emulator, { ...PERIOD, page: '2', pageSize: '5' });
      expect(page2).toMatchObject({
        pageSize: 5,
        pageNumber: 2,
        totalItems: 600,
        startRow: 6,
        endRow: 10,
        firstPage: false,
        lastPage: false,
        prePageNumber: 1,
        nextPageNumber: 3,
        limit: 5,
        totalPages: 120,
        offset: 5,
      });
      expect(page2.contents).toEqual(emulator.store.income.slice(5, 10).map(expectedIncome));

      const past = await incomePage(emulator, { ...PERIOD, page: '61', pageSize: '10' });
      expect(past).toMatchObject({
        totalItems: 600,
        totalPages: 60,
        contents: [],
        lastPage: true,
        limit: 0,
      });
    });

    it('accepts a userId in the body when it matches the path', async () => {
      const data = await incomePage(emulator, { ...PERIOD, userId: DEMO_CREDENTIALS.userId });
      expect(data.totalItems).toBe(600);
    });
  });

  describe('errors', () => {
    const now = (): number => Date.now();
    const channel = { channelId: BIG_CHANNEL };

    interface V4Case {
      name: string;
      query: () => Record<string, string>;
      status: number;
      code: number;
      desc: string;
    }
    const invalidParam = { status: 400, code: 20004, desc: 'param validate error' };
    const v4Cases: V4Case[] = [
      {
        name: 'unknown appId',
        query: () => signed(channel, { appId: 'nosuchapp' }),
        ...{ status: 400, code: 20001, desc: 'application not found.' },
      },
      {
        name: 'missing appId',
        query: () => ({ ...channel, timestamp: String(now()) }),
        ...{ status: 400, code: 20001, desc: 'application not found.' },
      },
      {
        name: 'wrong secret',
        query: () => signed(channel, { secret: 'guess' }),
        ...{ status: 400, code: 20002, desc: 'invalid signature.' },
      },
      {
        name: 'parameter changed after signing',
        query: () => ({ ...signed(channel), pageSize: '20' }),
        ...{ status: 400, code: 20002, desc: 'invalid signature.' },
      },
      {
        name: 'missing sign',
        query: () => ({ ...channel, appId: DEMO_CREDENTIALS.appId, timestamp: String(now()) }),
        ...{ status: 400, code: 20002, desc: 'invalid signature.' },
      },
      {
        name: 'timestamp 4 minutes old',
        query: () => signed(channel, { timestamp: now() - 240_000 }),
        ...{ status: 400, code: 20003, desc: 'invalid timestamp.' },
      },
      {
        name: 'timestamp in seconds',
        query: () => signed(channel, { timestamp: Math.floor(now() / 1000) }),
        ...{ status: 400, code: 20003, desc: 'invalid timestamp.' },
      },
      { name: 'missing channelId', query: () => signed({}), ...invalidParam },
      {
        name: 'pageSize 1001',
        query: () => signed({ ...channel, pageSize: '1001' }),
        ...invalidParam,
      },
      { name: 'pageSize 0', query: () => signed({ ...channel, pageSize: '0' }), ...invalidParam },
      {
        name: 'pageSize 1.5',
        query: () => signed({ ...channel, pageSize: '1.5' }),
        ...invalidParam,
      },
      {
        name: 'pageNumber 0',
        query: () => signed({ ...channel, pageNumber: '0' }),
        ...invalidParam,
      },
      {
        name: 'startTime not a number',
        query: () => signed({ ...channel, startTime: 'yesterday' }),
        ...invalidParam,
      },
      {
        name: 'unknown channel',
        query: () => signed({ channelId: '9999999' }),
        ...{ status: 400, code: 20005, desc: 'channel not found.' },
      },
      {
        name: "another account's channel",
        query: () => signed({ channelId: '1965681' }),
        ...{ status: 403, code: 20007, desc: 'access forbidden' },
      },
    ];

    it.each(v4Cases)('red-pack statistics: $name', async ({ query, status, code, desc }) => {
      const result = await getRedPacksRaw(emulator, query());
      expect(result.status).toBe(status);
      expect(v4ErrorSchema.parse(JSON.parse(result.text))).toMatchObject({
        code: status,
        error: { code, desc },
      });
    });

    interface V2Case {
      name: string;
      form: () => Record<string, string>;
      /** The account in the path; the demo account unless given. */
      userId?: string;
      code: number;
      message: string;
    }
    const badDate = { code: 400, message: 'invalid date time format' };
    const badParam = { code: 400, message: 'param validate error' };
    const forbidden = { code: 403, message: 'access forbidden' };
    const v2Cases: V2Case[] = [
      {
        name: 'unknown appId',
        form: () => signed(PERIOD, { appId: 'nosuchapp' }),
        ...{ code: 400, message: 'application not found.' },
      },
      {
        name: 'wrong secret',
        form: () => signed(PERIOD, { secret: 'guess' }),
        ...{ code: 400, message: 'invalid signature.' },
      },
      {
        name: 'stale timestamp',
        form: () => signed(PERIOD, { timestamp: now() - 240_000 }),
        ...{ code: 400, message: 'invalid timestamp.' },
      },
      {
        name: 'impossible date',
        form: () => signed({ startDate: '2026-02-30', endDate: '2026-03-01' }),
        ...badDate,
      },
      {
        name: 'slashed date',
        form: () => signed({ startDate: '2026/10/01', endDate: '2026-10-01' }),
        ...badDate,
      },
      {
        name: 'unpadded date',
        form: () => signed({ startDate: '2026-10-1', endDate: '2026-10-01' }),
        ...badDate,
      },
      { name: 'missing endDate', form: () => signed({ startDate: '2026-10-01' }), ...badDate },
      {
        name: 'start after end',
        form: () => signed({ startDate: '2026-10-02', endDate: '2026-10-01' }),
        ...badDate,
      },
      { name: 'pageSize 1001', form: () => signed({ ...PERIOD, pageSize: '1001' }), ...badParam },
      { name: 'page 0', form: () => signed({ ...PERIOD, page: '0' }), ...badParam },
      {
        name: 'channelId not a number',
        form: () => signed({ ...PERIOD, channelId: 'abc' }),
        ...badParam,
      },
      {
        name: 'body userId differs from the path',
        form: () => signed({ ...PERIOD, userId: 'someone-else' }),
        ...forbidden,
      },
      {
        name: 'unknown account in the path',
        form: () => signed(PERIOD),
        userId: 'someone-else',
        ...forbidden,
      },
    ];

    it.each(v2Cases)(
      'income detail: $name (HTTP 200, error in the envelope)',
      async ({ form, userId, code, message }) => {
        const result = await postIncomeRaw(emulator, form(), userId);
        expect(result.status).toBe(200);
        expect(v2ErrorSchema.parse(JSON.parse(result.text))).toEqual({
          code,
          status: 'error',
          message,
          data: '',
        });
      },
    );

    it('records failed calls with their outcome and without the signature', async () => {
      emulator.resetCounters();
      await getRedPacksRaw(emulator, signed({ channelId: BIG_CHANNEL }, { secret: 'guess' }));
      expect(emulator.calls).toEqual([
        {
          endpoint: 'redPackStatistics',
          method: 'GET',
          params: {
            appId: DEMO_CREDENTIALS.appId,
            timestamp: expect.any(String),
            channelId: BIG_CHANNEL,
          },
          at: expect.any(Number),
          outcome: 'invalid signature.',
        },
      ]);
    });

    it('answers other paths with 404 and other methods with 405', async () => {
      expect((await send(`${emulator.url}/live/v3/nothing`)).status).toBe(404);
      expect((await send(`${emulator.url}${RED_PACK_PATH}`, { method: 'POST' })).status).toBe(405);
      const income = await send(`${emulator.url}/live/v2/user/demo-user-01/get-income-detail`);
      expect(income.status).toBe(405);
    });
  });
});

describe('emulator clock', () => {
  it('checks timestamps against the injected clock', async () => {
    const fixed = Date.parse('2026-10-01T12:00:00+08:00');
    const emulator = await startEmulator({ clock: () => fixed });
    try {
      const onTime = await getRedPacksRaw(
        emulator,
        signed({ channelId: '2812614' }, { timestamp: fixed + 179_000 }),
      );
      expect(onTime.status).toBe(200);
      const late = await getRedPacksRaw(
        emulator,
        signed({ channelId: '2812614' }, { timestamp: fixed + 181_000 }),
      );
      expect(late.status).toBe(400);
      expect(emulator.calls.map((call) => call.at)).toEqual([fixed, fixed]);
    } finally {
      await emulator.close();
    }
  });
});

describe('faults', () => {
  let emulator: PolyvEmulator;
  beforeAll(async () => {
    emulator = await startEmulator();
  });
  afterEach(() => {
    emulator.clearFaults();
    emulator.setLatency(0);
  });
  afterAll(() => emulator.close());

  const redPacks = (): Promise<HttpResult> =>
    getRedPacksRaw(emulator, signed({ channelId: '2812614' }));
  const income = (): Promise<HttpResult> => postIncomeRaw(emulator, signed(PERIOD));

  it.each<[Fault, number]>([
    ['http500', 500],
    ['http502', 502],
    ['http503', 503],
  ])('%s answers %i without JSON, once', async (fault, status) => {
    emulator.injectFaults(fault);
    const failed = await redPacks();
    expect(failed.status).toBe(status);
    expect(isJson(failed.text)).toBe(false);
    expect((await redPacks()).status).toBe(200);
    expect(emulator.calls.at(-2)?.outcome).toBe(`fault:${fault}`);
  });

  it('malformedJson answers 200 with a truncated body', async () => {
    emulator.injectFaults('malformedJson');
    const result = await income();
    expect(result.status).toBe(200);
    expect(result.contentType).toMatch(/^application\/json/);
    expect(isJson(result.text)).toBe(false);
  });

  it('html answers 502 with an nginx page, html200 answers 200 with HTML', async () => {
    emulator.injectFaults('html');
    emulator.injectFaults('html200');
    const gateway = await redPacks();
    expect(gateway.status).toBe(502);
    expect(gateway.contentType).toMatch(/^text\/html/);
    expect(gateway.text).toContain('nginx');
    const portal = await redPacks();
    expect(portal.status).toBe(200);
    expect(portal.contentType).toMatch(/^text\/html/);
    expect(isJson(portal.text)).toBe(false);
  });

  it('qps answers in each endpoint’s own envelope', async () => {
    emulator.injectFaults('qps', 2);
    const v4 = await redPacks();
    expect(v4.status).toBe(429);
    expect(v4ErrorSchema.parse(JSON.parse(v4.text))).toMatchObject({
      code: 429,
      error: { code: 20006, desc: 'qps exceeds number of calls' },
    });
    const v2 = await income();
    expect(v2.status).toBe(200);
    expect(JSON.parse(v2.text)).toEqual({
      code: 403,
      status: 'error',
      message: 'qps exceeds number of calls',
      data: '',
    });
  });

  it('reset drops the connection without an answer', async () => {
    emulator.injectFaults('reset');
    // fetch's TypeError comes from another realm under Jest, so match the message.
    await expect(redPacks()).rejects.toThrow('fetch failed');
    expect((await redPacks()).status).toBe(200);
  });

  it('timeout holds the request until the client gives up', async () => {
    emulator.injectFaults('timeout');
    const started = Date.now();
    await expect(
      fetch(
        `${emulator.url}${RED_PACK_PATH}?${new URLSearchParams(signed({ channelId: '2812614' })).toString()}`,
        {
          signal: AbortSignal.timeout(300),
        },
      ),
    ).rejects.toThrow();
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    await waitFor(() => emulator.inFlight === 0);
    expect((await redPacks()).status).toBe(200);
  });

  it('slow answers correctly, two seconds late', async () => {
    emulator.injectFaults('slow');
    const started = Date.now();
    const result = await redPacks();
    expect(Date.now() - started).toBeGreaterThanOrEqual(2000);
    expect(v4SuccessSchema.parse(JSON.parse(result.text)).data.totalItems).toBe(5);
  });

  it('targets one endpoint and is consumed first in, first out', async () => {
    emulator.injectFaults('http503', 2, 'incomeDetail');
    emulator.injectFaults('http500');
    expect((await redPacks()).status).toBe(500);
    expect((await redPacks()).status).toBe(200);
    expect((await income()).status).toBe(503);
    expect((await income()).status).toBe(503);
    expect((await income()).status).toBe(200);
  });

  it('clearFaults drops what is pending', async () => {
    emulator.injectFaults('http500', 3);
    emulator.clearFaults();
    expect((await redPacks()).status).toBe(200);
  });

  it('close() releases a held request and does not wait for it', async () => {
    const doomed = await startEmulator();
    doomed.injectFaults('timeout');
    const held = fetch(
      `${doomed.url}${RED_PACK_PATH}?${new URLSearchParams(signed({ channelId: '2812614' })).toString()}`,
    );
    await waitFor(() => doomed.inFlight === 1);
    const started = Date.now();
    await doomed.close();
    // The held request would never end by itself: anything short of the test's timeout proves
    // close() did not wait for it, and leaves a busy machine room.
    expect(Date.now() - started).toBeLessThan(10_000);
    await expect(held).rejects.toThrow();
  });
});

describe('counters and the control API', () => {
  let emulator: PolyvEmulator;
  beforeAll(async () => {
    emulator = await startEmulator();
  });
  afterAll(() => emulator.close());

  const control = (path: string, body?: unknown): Promise<HttpResult> =>
    send(`${emulator.url}/__emulator/${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });

  it('measures concurrency under latency', async () => {
    emulator.resetCounters();
    emulator.setLatency(100);
    await Promise.all(
      Array.from({ length: 5 }, () => getRedPacksRaw(emulator, signed({ channelId: '2812614' }))),
    );
    emulator.setLatency(0);
    expect(emulator.maxInFlight).toBe(5);
    expect(emulator.inFlight).toBe(0);
    expect(emulator.calls).toHaveLength(5);
    emulator.resetCounters();
    expect(emulator.calls).toHaveLength(0);
    expect(emulator.maxInFlight).toBe(0);
  });

  it('reports stats, injects faults and sets latency over HTTP, without counting itself', async () => {
    await control('reset', {});
    await getRedPacksRaw(emulator, signed({ channelId: '2812614' }));
    await postIncomeRaw(emulator, signed(PERIOD));
    const stats = await control('stats');
    expect(JSON.parse(stats.text)).toEqual({
      totalCalls: 2,
      callsByEndpoint: { redPackStatistics: 1, incomeDetail: 1 },
      inFlight: 0,
      maxInFlight: 1,
      latencyMs: 0,
      pendingFaults: 0,
      live: [],
    });

    expect(
      (await control('faults', { fault: 'http503', count: 1, endpoint: 'incomeDetail' })).status,
    ).toBe(200);
    expect((await getRedPacksRaw(emulator, signed({ channelId: '2812614' }))).status).toBe(200);
    expect((await postIncomeRaw(emulator, signed(PERIOD))).status).toBe(503);

    expect(JSON.parse((await control('latency', { ms: 20 })).text)).toEqual({ latencyMs: 20 });
    expect(emulator.latencyMs).toBe(20);
    await control('latency', { ms: 0 });

    expect((await control('faults', { fault: 'meteor' })).status).toBe(400);
    expect(await control('nothing', {})).toMatchObject({ status: 404 });
    expect(JSON.parse((await control('nothing', {})).text)).toEqual({
      error: 'no control action POST nothing',
      code: 'UNKNOWN_ACTION',
    });
    const reset = JSON.parse((await control('reset', {})).text);
    expect(reset).toMatchObject({ totalCalls: 0 });
  });

  it('inserts a red pack and income at the head over HTTP', async () => {
    const created = await control('red-packs', { channelId: '2812612' });
    expect(created.status).toBe(201);
    const pack = redPackSchema.parse(JSON.parse(created.text));
    const data = await redPackPage(emulator, { channelId: '2812612' });
    expect(data.totalItems).toBe(41);
    expect(data.contents[0]).toEqual(pack);

    const added = await control('income', { channelId: '2812613' });
    expect(added.status).toBe(201);
    const record = incomeSchema.parse(JSON.parse(added.text));
    expect(emulator.store.income[0]?.outTradeNo).toBe(record.outTradeNo);
    expect((await control('red-packs', { channelId: '42' })).status).toBe(400);
  });
});

describe('the control API refuses browsers, bodies not declared JSON and values out of range (issue 20, point 12)', () => {
  let emulator: PolyvEmulator;
  beforeAll(async () => {
    emulator = await startEmulator();
  });
  afterAll(() => emulator.close());

  const call = async (
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = { 'content-type': 'application/json' },
  ) => {
    const answer = await send(`${emulator.url}/__emulator/${path}`, {
      method,
      headers,
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    return { status: answer.status, body: JSON.parse(answer.text) as Record<string, unknown> };
  };

  it("refuses a cross-site page's simple POST (text/plain, no preflight) with a coded 403, changing nothing", async () => {
    // What a page on any site can make a browser send to 127.0.0.1 without asking anyone.
    const forged = await call('POST', 'latency', '{"ms":1000000000000}', {
      'content-type': 'text/plain',
      origin: 'https://evil.example',
      'sec-fetch-site': 'cross-site',
    });
    expect(forged.status).toBe(403);
    expect(forged.body).toMatchObject({ code: 'CROSS_ORIGIN_REFUSED' });
    expect(emulator.latencyMs).toBe(0);
    // Any Origin but the emulator's own: another local port, or a sandboxed page's "null".
    for (const origin of ['http://127.0.0.1:1', 'null', 'http://localhost:3000'])
      expect(
        (await call('POST', 'reset', {}, { 'content-type': 'application/json', origin })).status,
      ).toBe(403);
    // A no-cors GET (an <img> or <script> tag) carries no Origin, but its Sec-Fetch-Site tells.
    for (const site of ['cross-site', 'same-site'])
      expect(await call('GET', 'stats', undefined, { 'sec-fetch-site': site })).toMatchObject({
        status: 403,
        body: { code: 'CROSS_ORIGIN_REFUSED' },
      });
    // What scripts send, and what a browser sends typing the URL: allowed.
    expect((await call('GET', 'stats', undefined, {})).status).toBe(200);
    expect((await call('GET', 'stats', undefined, { 'sec-fetch-site': 'none' })).status).toBe(200);
    expect(
      (
        await call(
          'POST',
          'latency',
          { ms: 0 },
          { 'content-type': 'application/json', origin: emulator.url },
        )
      ).status,
    ).toBe(200);
  });

  it('refuses a body not declared application/json with a coded 415', async () => {
    for (const headers of [
      { 'content-type': 'text/plain' },
      { 'content-type': 'application/x-www-form-urlencoded' },
      { 'content-type': 'multipart/form-data; boundary=x' },
      { 'content-type': 'application/jsonp' },
    ]) {
      const refused = await call('POST', 'latency', { ms: 5 }, headers);
      expect(refused).toMatchObject({ status: 415, body: { code: 'UNSUPPORTED_MEDIA_TYPE' } });
    }
    // A body without any content-type (fetch would say text/plain: send it raw).
    const { request } = await import('node:http');
    const bare = await new Promise<number>((resolve, reject) => {
      const outgoing = request(
        `${emulator.url}/__emulator/latency`,
        { method: 'POST' },
        (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        },
      );
      outgoing.on('error', reject);
      outgoing.end('{"ms":5}');
    });
    expect(bare).toBe(415);
    expect(emulator.latencyMs).toBe(0);
    expect(
      (
        await call(
          'POST',
          'latency',
          { ms: 0 },
          { 'content-type': 'Application/JSON; charset=utf-8' },
        )
      ).status,
    ).toBe(200);
    // No body at all needs no content-type.
    expect((await call('POST', 'reset', undefined, {})).status).toBe(200);
  });

  it.each([
    [
      'POST',
      'latency',
      { ms: 1e12 },
      { code: 'OUT_OF_RANGE', field: 'ms', min: 0, max: MAX_LATENCY_MS },
    ],
    [
      'POST',
      'latency',
      { ms: -1 },
      { code: 'OUT_OF_RANGE', field: 'ms', min: 0, max: MAX_LATENCY_MS },
    ],
    ['POST', 'latency', { ms: '20' }, { code: 'OUT_OF_RANGE', field: 'ms' }],
    ['POST', 'latency', {}, { code: 'INVALID_FIELD', field: 'ms' }],
    ['POST', 'latency', { ms: 5, seconds: 1 }, { code: 'UNKNOWN_FIELD', field: 'seconds' }],
    [
      'POST',
      'faults',
      { fault: 'http503', count: MAX_FAULT_COUNT + 1 },
      { code: 'OUT_OF_RANGE', field: 'count', min: 1, max: MAX_FAULT_COUNT },
    ],
    ['POST', 'faults', { fault: 'http503', count: 1e15 }, { code: 'OUT_OF_RANGE', field: 'count' }],
    ['POST', 'faults', { fault: 'http503', count: 0 }, { code: 'OUT_OF_RANGE', field: 'count' }],
    ['POST', 'faults', { fault: 'http503', count: 1.5 }, { code: 'OUT_OF_RANGE', field: 'count' }],
    ['POST', 'faults', { fault: 'meteor' }, { code: 'INVALID_FIELD', field: 'fault' }],
    ['POST', 'faults', { count: 2 }, { code: 'INVALID_FIELD', field: 'fault' }],
    [
      'POST',
      'faults',
      { fault: 'http503', endpoint: 'everything' },
      { code: 'INVALID_FIELD', field: 'endpoint' },
    ],
    [
      'POST',
      'live',
      { channelId: '2812610', everyMs: MAX_LIVE_EVERY_MS + 1 },
      { code: 'OUT_OF_RANGE', field: 'everyMs', min: 10, max: MAX_LIVE_EVERY_MS },
    ],
    [
      'POST',
      'live',
      { channelId: '2812610', everyMs: 1 },
      { code: 'OUT_OF_RANGE', field: 'everyMs' },
    ],
    [
      'POST',
      'live',
      { channelId: 'x'.repeat(10_000) },
      { code: 'INVALID_FIELD', field: 'channelId' },
    ],
    ['POST', 'live', { channelId: -5 }, { code: 'INVALID_FIELD', field: 'channelId' }],
    ['POST', 'red-packs', { channelId: 1e21 }, { code: 'INVALID_FIELD', field: 'channelId' }],
    [
      'POST',
      'red-packs',
      { channelId: '2812610', amountFen: 1e12 },
      { code: 'UNKNOWN_FIELD', field: 'amountFen' },
    ],
    [
      'POST',
      'receives',
      { redPackId: 'f'.repeat(65) },
      { code: 'INVALID_FIELD', field: 'redPackId' },
    ],
    ['POST', 'income', { channelId: {} }, { code: 'INVALID_FIELD', field: 'channelId' }],
    ['DELETE', 'live', { channelId: true }, { code: 'INVALID_FIELD', field: 'channelId' }],
    ['POST', 'reset', { everything: true }, { code: 'UNKNOWN_FIELD', field: 'everything' }],
    [
      'DELETE',
      'faults',
      { endpoint: 'incomeDetail' },
      { code: 'UNKNOWN_FIELD', field: 'endpoint' },
    ],
  ])('%s %s %j: a coded 400 naming the field', async (method, action, body, expected) => {
    const before = JSON.stringify({
      latency: emulator.latencyMs,
      faults: emulator.pendingFaults,
      live: emulator.liveSchedules,
    });
    const refused = await call(method, action, body);
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject(expected);
    expect(String(refused.body['error'])).toContain(String(expected.field));
    if ('max' in expected)
      expect(String(refused.body['error'])).toContain(`from ${expected.min} to ${expected.max}`);
    expect(
      JSON.stringify({
        latency: emulator.latencyMs,
        faults: emulator.pendingFaults,
        live: emulator.liveSchedules,
      }),
    ).toBe(before);
  });

  it('bounds latency and live intervals in process too (past 2^31 - 1 ms a timer fires at once)', async () => {
    expect(() => emulator.setLatency(1e12)).toThrow(RangeError);
    expect(() => emulator.setLatency(MAX_LATENCY_MS + 1)).toThrow(RangeError);
    emulator.setLatency(MAX_LATENCY_MS);
    emulator.setLatency(0);
    expect(() => emulator.startLive('2812610', 2 ** 31)).toThrow(RangeError);
    await expect(startEmulator({ latencyMs: 1e12 })).rejects.toThrow(RangeError);
    // The largest values allowed are taken as they are.
    expect(await call('POST', 'latency', { ms: MAX_LATENCY_MS })).toEqual({
      status: 200,
      body: { latencyMs: MAX_LATENCY_MS },
    });
    emulator.setLatency(0);
    expect((await call('POST', 'faults', { fault: 'qps', count: MAX_FAULT_COUNT })).body).toEqual({
      pendingFaults: MAX_FAULT_COUNT,
    });
    emulator.clearFaults();
  });
});

describe('inserting records', () => {
  let emulator: PolyvEmulator;
  beforeAll(async () => {
    emulator = await startEmulator();
  });
  afterAll(() => emulator.close());

  it('insertRedPack puts the record at the head, sent now by the emulator clock', async () => {
    const before = Date.now();
    const pack = emulator.insertRedPack(BIG_CHANNEL, {
      amountFen: 1000,
      receives: [{ userId: 'ovtl9tAAAAAHBBA8QUNVjjM4WIs', nickName: '神经蛙', amountFen: 410 }],
    });
    // The demo data ends on DEFAULT_LAST_DAY, in the past: a red pack sent now is stamped now.
    expect(pack.createdTime).toBeGreaterThanOrEqual(before);
    expect(pack.createdTime).toBeLessThanOrEqual(Date.now());
    // A burst stays in order without running ahead of the clock (by more than a ms each).
    const burst = [1, 2, 3].map(() => emulator.insertRedPack('2812614').createdTime);
    expect([...burst].sort((a, b) => a - b)).toEqual(burst);
    expect(new Set(burst).size).toBe(3);
    expect(burst[2]!).toBeLessThanOrEqual(Date.now() + 3);
    const data = await redPackPage(emulator, { channelId: BIG_CHANNEL });
    expect(data.totalItems).toBe(3501);
    expect(data.contents[0]).toMatchObject({
      redPackId: pack.redPackId,
      amount: 10,
      balance: 5.9,
      redPackReceiveList: [{ userId: 'ovtl9tAAAAAHBBA8QUNVjjM4WIs', amount: 4.1 }],
    });
  });

  it('insertRedPack stamps just after the newest red pack when the clock is behind the data', async () => {
    const newest = (store: PolyvEmulator['store']) =>
      Math.max(...[...store.redPacks.values()].map((packs) => packs[0]?.createdTime ?? 0));
    const behind = await startEmulator({ clock: () => Date.parse('2026-01-01T00:00:00Z') });
    try {
      const latest = newest(behind.store);
      const first = behind.insertRedPack('2812614');
      const second = behind.insertRedPack('2812612');
      expect([first.createdTime, second.createdTime]).toEqual([latest + 1, latest + 2]);
      // The data-level insert, without a clock, keeps its deterministic minute.
      expect(insertRedPack(behind.store, '2812614').createdTime).toBe(latest + 60_002);
      expect(() => insertRedPack(behind.store, '2812614', { createdTime: latest })).toThrow(
        /createdTime must be an integer no earlier than/,
      );
    } finally {
      await behind.close();
    }
  });

  it('refuses claims beyond the amount and unknown channels', () => {
    expect(() =>
      emulator.insertRedPack(BIG_CHANNEL, {
        amountFen: 100,
        receives: [{ userId: 'x', nickName: 'x', amountFen: 101 }],
      }),
    ).toThrow(RangeError);
    expect(() => emulator.insertRedPack('42')).toThrow(RangeError);
  });

  it('insertIncome puts the record at the head', async () => {
    const previous = emulator.store.income[0]?.payTime ?? 0;
    const row = emulator.insertIncome({ channelId: '2812613', amountFen: 1, payType: 'cash' });
    expect(row.payTime).toBe(previous + 60_000);
    const day = new Date(row.payTime + 8 * 3600_000).toISOString().slice(0, 10);
    const data = await incomePage(emulator, { startDate: day, endDate: day, channelId: '2812613' });
    expect(data.contents[0]).toEqual({ ...expectedIncome(row), amount: 0.01 });
  });

  it('is deterministic: the same inserts on the same seed give the same records', () => {
    const a = createDemoDataset(42);
    const b = createDemoDataset(42);
    expect(insertRedPack(a, BIG_CHANNEL)).toEqual(insertRedPack(b, BIG_CHANNEL));
    expect(insertIncome(a)).toEqual(insertIncome(b));
    expect(a).toEqual(b);
  });
});

describe("the demo data's last day (lastDay, EMULATOR_LAST_DAY)", () => {
  const DAY_MS = 24 * 60 * 60 * 1000;
  const cstMidnight = (day: string) => Date.parse(`${day}T00:00:00+08:00`);
  const cstDay = (ms: number) => new Date(ms + 8 * 3600_000).toISOString().slice(0, 10);
  const plain = createDemoDataset(42);

  it('is 1 August to 19 November 2026 unless asked: the days the tests are written for', () => {
    expect(DEFAULT_LAST_DAY).toBe('2026-11-19');
    expect(plain.period).toEqual({
      firstDay: '2026-08-01',
      lastDay: '2026-11-19',
      start: cstMidnight('2026-08-01'),
      end: cstMidnight('2026-11-20'),
    });
  });

  it.each(['2026-12-05', '2028-02-29', '2031-01-01'])(
    'ending on %s: the same records, shifted by whole days, on the same CST edges',
    (lastDay) => {
      const shifted = createDemoDataset(42, undefined, { lastDay });
      const shift = cstMidnight(lastDay) - cstMidnight(DEFAULT_LAST_DAY);
      expect(shift % DAY_MS).toBe(0);
      expect(shifted.period).toEqual({
        firstDay: cstDay(plain.period.start + shift),
        lastDay,
        start: plain.period.start + shift,
        end: cstMidnight(lastDay) + DAY_MS,
      });
      const back = (time: number) => time - shift;
      for (const [channelId, packs] of plain.redPacks)
        expect(
          shifted.redPacks.get(channelId)!.map((pack) => ({
            ...pack,
            createdTime: back(pack.createdTime),
            receives: pack.receives.map((receive) => ({
              ...receive,
              createdTime: back(receive.createdTime),
            })),
          })),
        ).toEqual(packs);
      // WeChat order numbers carry the CST day of payment (digits 11 to 18): shifted with it.
      const digits = (time: number) => cstDay(time).replaceAll('-', '');
      expect(
        shifted.income.map((row) => ({
          ...row,
          payTime: back(row.payTime),
          outTradeNo: `${row.outTradeNo.slice(0, 10)}${digits(back(row.payTime))}${row.outTradeNo.slice(18)}`,
        })),
      ).toEqual(plain.income);
      expect(
        shifted.income.every((row) => row.outTradeNo.slice(10, 18) === digits(row.payTime)),
      ).toBe(true);
      // The first and the last instant of the period are still paid at.
      const paid = shifted.income.map((row) => row.payTime);
      expect(paid).toContain(shifted.period.start);
      expect(paid).toContain(shifted.period.end - 1);
    },
  );

  it.each(['2026-02-30', '2026-2-3', 'yesterday', ''])('refuses %j', async (lastDay) => {
    await expect(startEmulator({ lastDay })).rejects.toThrow(
      /lastDay must be a real calendar day written yyyy-MM-dd/,
    );
  });

  it.each([
    ['2026-12-06T10:25:00Z', '2026-12-05'],
    // 00:30 on the 6th in China, still the 5th in UTC.
    ['2026-12-05T16:30:00Z', '2026-12-05'],
    ['2026-12-05T15:59:59.999Z', '2026-12-04'],
    ['2028-03-01T00:00:00Z', '2028-02-29'],
  ])('for a demo, at %s, ends yesterday in China Standard Time: %s', (now, lastDay) => {
    expect(demoLastDay(Date.parse(now))).toBe(lastDay);
  });
});

describe('the big channel option (--big-channel-red-packs)', () => {
  let emulator: PolyvEmulator;
  beforeAll(async () => {
    emulator = await startEmulator({ bigChannelRedPacks: 2500 });
  });
  afterAll(() => emulator.close());

  it('adds channel 2812699 with that many red packs, served like any channel', async () => {
    const data = await redPackPage(emulator, {
      channelId: BIG_CHANNEL_ID,
      pageNumber: '3',
      pageSize: '1000',
    });
    expect(BIG_CHANNEL_ID).toBe('2812699');
    expect(data.totalItems).toBe(2500);
    expect(data.contents).toHaveLength(500);
    const packs = emulator.store.redPacks.get(BIG_CHANNEL_ID)!;
    expect(isNewestFirst(packs.map((pack) => pack.createdTime))).toBe(true);
    expect(Math.max(...packs.map((pack) => pack.receives.length))).toBeLessThanOrEqual(3);
    expect(emulator.store.channels.map((channel) => channel.channelId)).toContain(BIG_CHANNEL_ID);
  });

  it('is deterministic and leaves the rest of the demo data as it was', () => {
    const plain = createDemoDataset(42);
    const big = createDemoDataset(42, undefined, { bigChannelRedPacks: 2500 });
    expect(createDemoDataset(42, undefined, { bigChannelRedPacks: 2500 })).toEqual(big);
    expect(big.income).toEqual(plain.income);
    for (const [channelId, packs] of plain.redPacks)
      expect(big.redPacks.get(channelId)).toEqual(packs);
    expect(plain.redPacks.has(BIG_CHANNEL_ID)).toBe(false);
  });

  it('refuses a count that is not a non-negative integer', async () => {
    await expect(startEmulator({ bigChannelRedPacks: -1 })).rejects.toThrow(RangeError);
    await expect(startEmulator({ bigChannelRedPacks: 1.5 })).rejects.toThrow(RangeError);
  });
});

describe('extra channels (--extra-channels N)', () => {
  let emulator: PolyvEmulator;
  beforeAll(async () => {
    emulator = await startEmulator({ extraChannels: 3 });
  });
  afterAll(() => emulator.close());

  it('adds channels 2812700 onwards, each with a few red packs, served like any channel', async () => {
    expect(extraChannelIds(3)).toEqual(['2812700', '2812701', '2812702']);
    for (const channelId of extraChannelIds(3)) {
      const data = await redPackPage(emulator, { channelId, pageNumber: '1', pageSize: '100' });
      expect(data.totalItems).toBe(20);
      expect(data.contents).toHaveLength(20);
    }
    const notThere = await getRedPacksRaw(emulator, signed({ channelId: '2812703' }));
    expect(notThere.text).toContain('channel not found');
  });

  it('is deterministic and leaves the rest of the demo data as it was', () => {
    const plain = createDemoDataset(42);
    const extra = createDemoDataset(42, undefined, { extraChannels: 3 });
    expect(createDemoDataset(42, undefined, { extraChannels: 3 })).toEqual(extra);
    expect(extra.income).toEqual(plain.income);
    for (const [channelId, packs] of plain.redPacks)
      expect(extra.redPacks.get(channelId)).toEqual(packs);
  });

  it('refuses a count that is not an integer from 0 to 99', async () => {
    await expect(startEmulator({ extraChannels: -1 })).rejects.toThrow(RangeError);
    await expect(startEmulator({ extraChannels: 100 })).rejects.toThrow(RangeError);
  });
});

async function waitFor(condition: () => boolean, timeoutMs = 2000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
