/**
 * Dashboard totals, computed from every record: pure functions over our models, summing
 * integer fen (never floats). Breakdowns keep one row per distinct Polyv label, so labels we
 * do not know yet stay apart (their enum is UNKNOWN, their label is theirs).
 */
import { cstDayOf, daysBetween, money } from './convert.js';
import type {
  IncomeRecordModel,
  MoneyModel,
  PayType,
  RedPackModel,
  RedPackStatus,
  RedPackType,
  WechatUserModel,
} from './models.js';

export interface RedPackTypeTotalModel {
  type: RedPackType;
  label: string;
  count: number;
  amount: MoneyModel;
}
export interface RedPackStatusTotalModel {
  status: RedPackStatus;
  label: string;
  count: number;
  amount: MoneyModel;
}
export interface ReceiverTotalModel {
  user: WechatUserModel;
  count: number;
  amount: MoneyModel;
}
export interface RedPackSummaryModel {
  count: number;
  totalAmount: MoneyModel;
  totalReceived: MoneyModel;
  totalBalance: MoneyModel;
  receiveCount: number;
  receiverCount: number;
  byType: RedPackTypeTotalModel[];
  byStatus: RedPackStatusTotalModel[];
  /** Every receiver, largest amount first; `topReceivers(first)` takes the head. */
  receivers: ReceiverTotalModel[];
  asOf: Date;
}
export interface PayTypeTotalModel {
  payType: PayType;
  label: string;
  count: number;
  amount: MoneyModel;
}
export interface DayTotalModel {
  date: string;
  count: number;
  amount: MoneyModel;
}
export interface IncomeSummaryModel {
  count: number;
  total: MoneyModel;
  byPayType: PayTypeTotalModel[];
  byDay: DayTotalModel[];
  asOf: Date;
}

interface Tally<K> {
  key: K;
  label: string;
  count: number;
  fen: number;
}

/** Counts and sums by label, largest amount first (then by label, so the order is stable). */
function tallyBy<T, K>(
  items: readonly T[],
  keyOf: (item: T) => { key: K; label: string },
  fenOf: (item: T) => number,
): Tally<K>[] {
  const tallies = new Map<string, Tally<K>>();
  for (const item of items) {
    const { key, label } = keyOf(item);
    const tally = tallies.get(label) ?? { key, label, count: 0, fen: 0 };
    tally.count++;
    tally.fen += fenOf(item);
    tallies.set(label, tally);
  }
  return [...tallies.values()].sort(
    (a, b) => b.fen - a.fen || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0),
  );
}

export function summariseRedPacks(
  redPacks: readonly RedPackModel[],
  asOf: Date,
): RedPackSummaryModel {
  let amount = 0;
  let received = 0;
  let balance = 0;
  let receiveCount = 0;
  const receivers = new Map<string, { user: WechatUserModel; count: number; fen: number }>();
  for (const redPack of redPacks) {
    amount += redPack.amount.fen;
    balance += redPack.balance.fen;
    for (const receive of redPack.receives) {
      receiveCount++;
      received += receive.amount.fen;
      const receiver = receivers.get(receive.user.openId) ?? {
        user: receive.user,
        count: 0,
        fen: 0,
      };
      receiver.count++;
      receiver.fen += receive.amount.fen;
      receivers.set(receive.user.openId, receiver);
    }
  }
  return {
    count: redPacks.length,
    totalAmount: money(amount),
    totalReceived: money(received),
    totalBalance: money(balance),
    receiveCount,
    receiverCount: receivers.size,
    byType: tallyBy(
      redPacks,
      (p) => ({ key: p.type, label: p.typeLabel }),
      (p) => p.amount.fen,
    ).map((t) => ({
      type: t.key,
      label: t.label,
      count: t.count,
      amount: money(t.fen),
    })),
    byStatus: tallyBy(
      redPacks,
      (p) => ({ key: p.status, label: p.statusLabel }),
      (p) => p.amount.fen,
    ).map((t) => ({
      status: t.key,
      label: t.label,
      count: t.count,
      amount: money(t.fen),
    })),
    receivers: [...receivers.values()]
      .sort(
        (a, b) => b.fen - a.fen || b.count - a.count || (a.user.openId < b.user.openId ? -1 : 1),
      )
      .map((r) => ({ user: r.user, count: r.count, amount: money(r.fen) })),
    asOf,
  };
}

/** Income totals; `byDay` has every CST day from startDate to endDate, zero where nothing happened. */
export function summariseIncome(
  records: readonly IncomeRecordModel[],
  startDate: string,
  endDate: string,
  asOf: Date,
): IncomeSummaryModel {
  const days = new Map(daysBetween(startDate, endDate).map((date) => [date, { count: 0, fen: 0 }]));
  let total = 0;
  for (const record of records) {
    total += record.amount.fen;
    const day = days.get(cstDayOf(record.paidAt));
    if (day) {
      day.count++;
      day.fen += record.amount.fen;
    }
  }
  return {
    count: records.length,
    total: money(total),
    byPayType: tallyBy(
      records,
      (r) => ({ key: r.payType, label: r.payTypeLabel }),
      (r) => r.amount.fen,
    ).map((t) => ({
      payType: t.key,
      label: t.label,
      count: t.count,
      amount: money(t.fen),
    })),
    byDay: [...days].map(([date, day]) => ({ date, count: day.count, amount: money(day.fen) })),
    asOf,
  };
}
