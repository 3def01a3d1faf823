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

/** Something that takes records page by page and builds a summary at the end. */
export interface SummaryBuilder<T, S> {
  add(records: readonly T[]): void;
  build(asOf: Date): S;
}

/**
 * Red-pack totals built page by page, so a walk never holds every record at once. They can
 * also take a red pack back out (`remove`), so live totals (src/live/) follow a red pack that
 * changed by removing what it was and adding what it is, instead of adding everything up again.
 */
export interface RedPackSummaryBuilder extends SummaryBuilder<RedPackModel, RedPackSummaryModel> {
  remove(redPacks: readonly RedPackModel[]): void;
}

export function redPackSummaryBuilder(): RedPackSummaryBuilder {
  let count = 0;
  let amount = 0;
  let received = 0;
  let balance = 0;
  let receiveCount = 0;
  const byType = new Map<string, Tally<RedPackType>>();
  const byStatus = new Map<string, Tally<RedPackStatus>>();
  const receivers = new Map<string, { user: WechatUserModel; count: number; fen: number }>();
  /** Adds red packs (sign 1) or takes them back out (sign -1). */
  const apply = (redPacks: readonly RedPackModel[], sign: 1 | -1) => {
    for (const redPack of redPacks) {
      count += sign;
      amount += sign * redPack.amount.fen;
      balance += sign * redPack.balance.fen;
      tallyInto(byType, redPack.type, redPack.typeLabel, redPack.amount.fen, sign);
      tallyInto(byStatus, redPack.status, redPack.statusLabel, redPack.amount.fen, sign);
      for (const receive of redPack.receives) {
        receiveCount += sign;
        received += sign * receive.amount.fen;
        let receiver = receivers.get(receive.user.openId);
        if (!receiver) {
          receiver = { user: receive.user, count: 0, fen: 0 };
          receivers.set(receive.user.openId, receiver);
        }
        receiver.count += sign;
        receiver.fen += sign * receive.amount.fen;
        if (receiver.count === 0) receivers.delete(receive.user.openId);
      }
    }
  };
  return {
    add: (redPacks) => apply(redPacks, 1),
    remove: (redPacks) => apply(redPacks, -1),
    build(asOf) {
      return {
        count,
        totalAmount: money(amount),
        totalReceived: money(received),
        totalBalance: money(balance),
        receiveCount,
        receiverCount: receivers.size,
        byType: sortTallies(byType).map((t) => ({
          type: t.key,
          label: t.label,
          count: t.count,
          amount: money(t.fen),
        })),
        byStatus: sortTallies(byStatus).map((t) => ({
          status: t.key,
          label: t.label,
          count: t.count,
          amount: money(t.fen),
        })),
        receivers: [...receivers.values()]
          .sort(
            (a, b) =>
              b.fen - a.fen || b.count - a.count || (a.user.openId < b.user.openId ? -1 : 1),
          )
          .map((r) => ({ user: r.user, count: r.count, amount: money(r.fen) })),
        asOf,
      };
    },
  };
}

/** Income totals built page by page; `byDay` has every CST day from startDate to endDate. */
export function incomeSummaryBuilder(
  startDate: string,
  endDate: string,
): SummaryBuilder<IncomeRecordModel, IncomeSummaryModel> {
  const days = new Map(daysBetween(startDate, endDate).map((date) => [date, { count: 0, fen: 0 }]));
  const byPayType = new Map<string, Tally<PayType>>();
  let count = 0;
  let total = 0;
  return {
    add(records) {
      for (const record of records) {
        count++;
        total += record.amount.fen;
        tallyInto(byPayType, record.payType, record.payTypeLabel, record.amount.fen);
        const day = days.get(cstDayOf(record.paidAt));
        if (day) {
          day.count++;
          day.fen += record.amount.fen;
        }
      }
    },
    build(asOf) {
      return {
        count,
        total: money(total),
        byPayType: sortTallies(byPayType).map((t) => ({
          payType: t.key,
          label: t.label,
          count: t.count,
          amount: money(t.fen),
        })),
        byDay: [...days].map(([date, day]) => ({ date, count: day.count, amount: money(day.fen) })),
        asOf,
      };
    },
  };
}

/**
 * Counts and sums by label: unknown labels stay apart, each in a row of its own. A negative
 * sign takes a record back out; a row left with no record goes.
 */
function tallyInto<K>(
  tallies: Map<string, Tally<K>>,
  key: K,
  label: string,
  fen: number,
  sign: 1 | -1 = 1,
): void {
  let tally = tallies.get(label);
  if (!tally) {
    tally = { key, label, count: 0, fen: 0 };
    tallies.set(label, tally);
  }
  tally.count += sign;
  tally.fen += sign * fen;
  if (tally.count === 0) tallies.delete(label);
}

/** Largest amount first, then by label, so the order is stable. */
const sortTallies = <K>(tallies: Map<string, Tally<K>>) =>
  [...tallies.values()].sort(
    (a, b) => b.fen - a.fen || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0),
  );
