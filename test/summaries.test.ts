/**
 * Summaries across all pages, compared with totals computed independently from the emulator's
 * own data, to the fen; the ceiling; consistency when records arrive during the walk; sharing
 * pages with connections.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { cstDayOf, fenToDecimal } from '../src/domain/convert.js';
import { redPackBalanceFen, type EmulatedIncome, type EmulatedRedPack } from '../emulator/index.js';
import { startStack, type Stack } from './support/stack.js';

let stack: Stack;
beforeAll(async () => {
  stack = await startStack({ env: { POLYV_MAX_CONCURRENCY: '4' } });
});
afterAll(() => stack.close());
beforeEach(() => {
  stack.emulator.resetCounters();
  stack.emulator.setLatency(0);
});

const yuan = (fen: number) => fenToDecimal(fen);

/** What a red-pack summary must say, computed straight from the emulator's records. */
function expectedRedPackSummary(packs: EmulatedRedPack[]) {
  const receives = packs.flatMap((pack) => pack.receives);
  const byLabel = (label: (pack: EmulatedRedPack) => string) => {
    const rows = new Map<string, { count: number; fen: number }>();
    for (const pack of packs) {
      const row = rows.get(label(pack)) ?? { count: 0, fen: 0 };
      row.count++;
      row.fen += pack.amountFen;
      rows.set(label(pack), row);
    }
    return [...rows]
      .map(([name, row]) => ({ label: name, count: row.count, amount: { amount: yuan(row.fen) } }))
      .sort((a, b) => a.label.localeCompare(b.label));
  };
  const perReceiver = new Map<string, number>();
  for (const receive of receives)
    perReceiver.set(receive.userId, (perReceiver.get(receive.userId) ?? 0) + receive.amountFen);
  return {
    count: packs.length,
    totalAmount: { amount: yuan(packs.reduce((sum, pack) => sum + pack.amountFen, 0)) },
    totalReceived: { amount: yuan(receives.reduce((sum, receive) => sum + receive.amountFen, 0)) },
    totalBalance: { amount: yuan(packs.reduce((sum, pack) => sum + redPackBalanceFen(pack), 0)) },
    receiveCount: receives.length,
    receiverCount: perReceiver.size,
    byType: byLabel((pack) => pack.redPackType),
    byStatus: byLabel((pack) => pack.status),
    topAmount: Math.max(...perReceiver.values()),
  };
}

const RED_PACK_SUMMARY = `query($channel: ID!, $sessionId: ID, $startTime: DateTime, $endTime: DateTime) {
  channel(id: $channel) { redPackSummary(sessionId: $sessionId, startTime: $startTime, endTime: $endTime) {
    count totalAmount { amount } totalReceived { amount } totalBalance { amount } receiveCount receiverCount
    byType { type label count amount { amount } } byStatus { status label count amount { amount } }
    topReceivers(first: 3) { user { openId } count amount { amount fen } } asOf } } }`;

interface Summary {
  count: number;
  byType: { type: string; label: string }[];
  byStatus: { label: string }[];
  topReceivers: { amount: { fen: number } }[];
  asOf: string;
  [field: string]: unknown;
}

async function redPackSummary(variables: Record<string, unknown>) {
  const response = await stack.graphql<{ channel: { redPackSummary: Summary } }>(
    RED_PACK_SUMMARY,
    variables,
  );
  if (response.errors) throw new Error(JSON.stringify(response.errors));
  const summary = response.data!.channel.redPackSummary;
  const sortRows = <T extends { label: string }>(rows: T[]) =>
    [...rows].sort((a, b) => a.label.localeCompare(b.label));
  return { summary, byType: sortRows(summary.byType), byStatus: sortRows(summary.byStatus) };
}

describe('red-pack summary', () => {
  it('adds up all 3,500 red packs of a channel exactly, in 4 upstream pages', async () => {
    const packs = stack.emulator.store.redPacks.get('2812610')!;
    const expected = expectedRedPackSummary(packs);
    const { summary, byType, byStatus } = await redPackSummary({ channel: '2812610' });
    expect(summary).toMatchObject({
      count: expected.count,
      totalAmount: expected.totalAmount,
      totalReceived: expected.totalReceived,
      totalBalance: expected.totalBalance,
      receiveCount: expected.receiveCount,
      receiverCount: expected.receiverCount,
    });
    expect(byType.map(({ type: _type, ...row }) => row)).toEqual(expected.byType);
    expect(
      byStatus.map(({ status: _status, ...row }: { status?: string; label: string }) => row),
    ).toEqual(expected.byStatus);
    expect(summary.topReceivers[0]!.amount.fen).toBe(expected.topAmount);
    expect(summary.topReceivers).toHaveLength(3);
    expect(stack.emulator.calls.map((call) => call.params.pageSize)).toEqual([
      '1000',
      '1000',
      '1000',
      '1000',
    ]);
  });

  it('keeps unknown labels apart as UNKNOWN rows', async () => {
    const { byType } = await redPackSummary({ channel: '2812610' });
    expect(byType.find((row) => row.label === '拼手气红包')).toMatchObject({ type: 'UNKNOWN' });
    expect(byType.find((row) => row.label === '普通红包')).toMatchObject({ type: 'NORMAL' });
  });

  it('applies the filters: a session, a time range', async () => {
    const packs = stack.emulator.store.redPacks.get('2812611')!;
    const session = packs[0]!.channelSessionId;
    const bySession = await redPackSummary({ channel: '2812611', sessionId: session });
    expect(bySession.summary.count).toBe(
      packs.filter((pack) => pack.channelSessionId === session).length,
    );
    const [from, to] = [packs[120]!.createdTime, packs[20]!.createdTime];
    const inRange = packs.filter((pack) => pack.createdTime >= from && pack.createdTime <= to);
    const byTime = await redPackSummary({
      channel: '2812611',
      startTime: new Date(from).toISOString(),
      endTime: new Date(to).toISOString(),
    });
    expect(byTime.summary).toMatchObject({
      count: inRange.length,
      totalAmount: expectedRedPackSummary(inRange).totalAmount,
    });
  });

  it('summarises an empty list', async () => {
    const { summary } = await redPackSummary({ channel: '2812613' });
    expect(summary).toMatchObject({
      count: 0,
      totalAmount: { amount: '0.00' },
      receiverCount: 0,
      byType: [],
      topReceivers: [],
    });
  });

  it('shares upstream pages with connections through the page cache and its single flight', async () => {
    const cached = await startStack({ env: { GATEWAY_CACHE: 'on' } });
    try {
      // In one request, at the same time: the connection and the summary want the same page.
      const together = await cached.graphql(
        `{ channel(id: "2812611") { redPacks(first: 1000) { totalCount } redPackSummary { count } } }`,
      );
      expect(together.errors).toBeUndefined();
      expect(cached.emulator.calls).toHaveLength(1);
      // Across requests: a connection after the summary reuses its page.
      await cached.graphql(`{ channel(id: "2812611") { redPacks(first: 1000) { nodes { id } } } }`);
      expect(cached.emulator.calls).toHaveLength(1);
    } finally {
      await cached.close();
    }
  });

  it('rejects topReceivers(first) outside 1 to 100', async () => {
    const response = await stack.graphql(
      `{ channel(id: "2812614") { redPackSummary { topReceivers(first: 0) { count } } } }`,
    );
    expect(response.errors![0]!.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      argument: 'first',
    });
  });
});

describe('income summary', () => {
  const INCOME = `query($from: Date!, $to: Date!, $channelId: ID) { incomeSummary(startDate: $from, endDate: $to, channelId: $channelId) {
    count total { amount fen } byPayType { payType label count amount { amount } } byDay { date count amount { amount } } asOf } }`;

  function expected(records: EmulatedIncome[], days: string[]) {
    return {
      count: records.length,
      total: records.reduce((sum, record) => sum + record.amountFen, 0),
      byDay: days.map((date) => {
        const onDay = records.filter((record) => cstDayOf(record.payTime) === date);
        return {
          date,
          count: onDay.length,
          amount: { amount: yuan(onDay.reduce((sum, record) => sum + record.amountFen, 0)) },
        };
      }),
    };
  }

  it('adds up the account income by pay type and by CST day, every day present', async () => {
    const from = Date.parse('2026-09-28T00:00:00+08:00');
    const to = Date.parse('2026-10-06T00:00:00+08:00');
    const records = stack.emulator.store.income.filter(
      (record) => record.payTime >= from && record.payTime < to,
    );
    const days = [
      '2026-09-28',
      '2026-09-29',
      '2026-09-30',
      '2026-10-01',
      '2026-10-02',
      '2026-10-03',
      '2026-10-04',
      '2026-10-05',
    ];
    const response = await stack.graphql<{
      incomeSummary: {
        count: number;
        total: { fen: number };
        byDay: unknown[];
        byPayType: { label: string; count: number }[];
      };
    }>(INCOME, {
      from: '2026-09-28',
      to: '2026-10-05',
    });
    const summary = response.data!.incomeSummary;
    const want = expected(records, days);
    expect(summary.count).toBe(want.count);
    expect(summary.total.fen).toBe(want.total);
    expect(summary.byDay).toEqual(want.byDay);
    const labels = new Map<string, number>();
    for (const record of records)
      labels.set(record.payTypeName, (labels.get(record.payTypeName) ?? 0) + 1);
    expect(Object.fromEntries(summary.byPayType.map((row) => [row.label, row.count]))).toEqual(
      Object.fromEntries(labels),
    );
  });

  it('is the same through Channel.incomeSummary and Query.incomeSummary(channelId)', async () => {
    const viaQuery = await stack.graphql<{ incomeSummary: unknown }>(INCOME, {
      from: '2026-08-01',
      to: '2026-11-30',
      channelId: '2812613',
    });
    const viaChannel = await stack.graphql<{ channel: { incomeSummary: unknown } }>(
      `{ channel(id: "2812613") { incomeSummary(startDate: "2026-08-01", endDate: "2026-11-30") { count total { amount fen } byPayType { payType label count amount { amount } } byDay { date count amount { amount } } asOf } } }`,
    );
    // Two requests, two walks: the same totals; asOf says when each was read.
    const withoutAsOf = ({ asOf: _asOf, ...totals }: { asOf: string }) => totals;
    expect(withoutAsOf(viaChannel.data!.channel.incomeSummary as { asOf: string })).toEqual(
      withoutAsOf(viaQuery.data!.incomeSummary as { asOf: string }),
    );
    const records = stack.emulator.store.income.filter((record) => record.channelId === '2812613');
    expect((viaQuery.data!.incomeSummary as { count: number }).count).toBe(records.length);
  });

  it('covers at most 366 days: a longer range is refused before any upstream call, on both fields', async () => {
    // A leap year is 366 days and answers, with one byDay row per day.
    const leapYear = await stack.graphql<{ incomeSummary: { byDay: unknown[] } }>(INCOME, {
      from: '2024-01-01',
      to: '2024-12-31',
    });
    expect(leapYear.errors).toBeUndefined();
    expect(leapYear.data!.incomeSummary.byDay).toHaveLength(366);

    // Found by the fuzz: 1970 to 9999 built a 2.9-million-day series and held the process for seconds.
    for (const [from, to, days] of [
      ['2023-01-01', '2024-01-02', 367],
      ['1970-01-01', '9999-12-31', 2_932_897],
    ] as const) {
      const calls = stack.emulator.calls.length;
      const viaQuery = await stack.graphql(INCOME, { from, to });
      const viaChannel = await stack.graphql(
        `query($from: Date!, $to: Date!) { channel(id: "2812613") { incomeSummary(startDate: $from, endDate: $to) { count } } }`,
        { from, to },
      );
      for (const response of [viaQuery, viaChannel]) {
        expect(response.errors).toHaveLength(1);
        expect(response.errors![0]).toMatchObject({
          message: `An income summary covers at most 366 days; ${from} to ${to} is ${days}. Ask for a longer period year by year.`,
          extensions: { code: 'BAD_USER_INPUT', argument: 'endDate' },
        });
      }
      expect(stack.emulator.calls.length).toBe(calls);
    }
  });
});

describe('limits and consistency', () => {
  it('refuses a summary past the records ceiling, after one page call', async () => {
    const small = await startStack({ env: { GATEWAY_SUMMARY_MAX_RECORDS: '1000' } });
    try {
      const response = await small.graphql(
        `{ channel(id: "2812610") { redPackSummary { count } } }`,
      );
      expect(response.errors![0]!.extensions).toMatchObject({
        code: 'QUERY_LIMIT_EXCEEDED',
        limit: 'summaryRecords',
        max: 1000,
        actual: 3500,
      });
      expect(small.emulator.calls).toHaveLength(1);
    } finally {
      await small.close();
    }
  });

  it('counts summaries into the query limits', async () => {
    const ids = Array.from({ length: 11 }, (_, index) => `"${2812610 + index}"`).join(',');
    const response = await stack.graphql(
      `{ channels(ids: [${ids}]) { redPackSummary { count } } }`,
    );
    expect(response.errors![0]!.extensions).toMatchObject({
      code: 'QUERY_LIMIT_EXCEEDED',
      limit: 'upstreamCalls',
    });
    expect(stack.emulator.calls).toHaveLength(0);
  });

  it('never mixes two states: records arriving mid-walk make it walk again, and asOf says when', async () => {
    // One page at a time, so the insertion lands between page 2 and page 3 of the first walk.
    const sequential = await startStack({ env: { POLYV_MAX_CONCURRENCY: '1' } });
    try {
      sequential.emulator.setLatency(150);
      const before = Date.now();
      const pending = sequential.graphql<{ channel: { redPackSummary: Summary } }>(
        RED_PACK_SUMMARY,
        { channel: '2812610' },
      );
      while (sequential.emulator.calls.length < 2)
        await new Promise((resolve) => setTimeout(resolve, 5));
      const inserted = [
        sequential.emulator.insertRedPack('2812610'),
        sequential.emulator.insertRedPack('2812610'),
      ];
      const summary = (await pending).data!.channel.redPackSummary;

      const packs = sequential.emulator.store.redPacks.get('2812610')!;
      expect(packs.slice(0, 2).map((pack) => pack.redPackId)).toEqual(
        inserted.map((pack) => pack.redPackId).reverse(),
      );
      expect(summary.count).toBe(packs.length);
      expect(summary.totalAmount).toEqual(expectedRedPackSummary(packs).totalAmount);
      expect(Date.parse(summary.asOf)).toBeGreaterThanOrEqual(before);
      // The first walk (4 pages, the last two disagreeing with the first) was thrown away.
      expect(sequential.emulator.calls.length).toBeGreaterThanOrEqual(8);
    } finally {
      await sequential.close();
    }
  });
});
