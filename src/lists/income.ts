/**
 * The income list: an account's income records (gifts, rewards, payments), optionally of one
 * channel, from Polyv's income detail (`incomeDetail`), newest first.
 */
import { instantFromMillis, money, payTypeFromCode, yuanToFen } from '../domain/convert.js';
import type { IncomeRecordModel } from '../domain/models.js';
import type { RecordOf } from '../polyv/endpoints.js';
import { polyvList } from './list.js';

/** The filters of one income list; every page of the list shares them. */
export interface IncomeFilter {
  /** The Polyv account (a path parameter). */
  userId: string;
  /** CST days, yyyy-MM-dd, both included. */
  startDate: string;
  endDate: string;
  /** Absent: every channel of the account. */
  channelId?: string | undefined;
}

export const income = polyvList({
  name: 'income',
  endpoint: 'incomeDetail',
  params: (filter: IncomeFilter) => ({
    userId: filter.userId,
    startDate: filter.startDate,
    endDate: filter.endDate,
    channelId: filter.channelId,
  }),
  toModel: toIncomeRecord,
  keyOf: (record) => ({ id: record.id, time: record.paidAt.getTime() }),
});

function toIncomeRecord(raw: RecordOf<'incomeDetail'>): IncomeRecordModel {
  return {
    id: raw.outTradeNo,
    channelId: raw.channelId,
    accountId: raw.userId,
    amount: money(yuanToFen(raw.amount)),
    giftCount: raw.goodNum,
    payType: payTypeFromCode(raw.payType),
    payTypeLabel: raw.payTypeName ?? raw.payType,
    payer: { openId: raw.openId ?? '', nickname: raw.viewerName, avatarUrl: null },
    paidAt: instantFromMillis(raw.payTime),
    wechatAppId: raw.weixinAppId,
  };
}
