/**
 * The income list: an account's income records (gifts, rewards, payments), optionally of one
 * channel, from Polyv's income detail (POST /live/v2/user/{userId}/get-income-detail, form
 * body), newest first.
 */
import { z } from 'zod';
import { instantFromMillis, money, payTypeFromCode, yuanToFen } from '../domain/convert.js';
import type { IncomeRecordModel } from '../domain/models.js';
import { idString, millis, optionalText, yuan } from '../polyv/responses.js';
import { polyvList } from './list.js';

/** The filters of one income list; every page of the list shares them. */
export interface IncomeFilter {
  /** The Polyv account (path parameter). */
  userId: string;
  /** CST days, yyyy-MM-dd, both included. */
  startDate: string;
  endDate: string;
  /** Absent: every channel of the account. */
  channelId?: string | undefined;
}

const rawIncomeRecord = z.object({
  userId: idString,
  amount: yuan,
  goodNum: z
    .number()
    .int()
    .nullish()
    .transform((value) => value ?? null),
  channelId: idString,
  payType: z.string(),
  payTypeName: optionalText,
  viewerName: optionalText,
  payTime: millis,
  weixinAppId: optionalText,
  outTradeNo: idString,
  openId: optionalText,
});
type RawIncomeRecord = z.infer<typeof rawIncomeRecord>;

const rawPage = z.object({
  pageNumber: z.number().int(),
  pageSize: z.number().int(),
  totalItems: z.number().int().nonnegative(),
  totalPages: z.number().int().nonnegative().optional(),
  contents: z.array(rawIncomeRecord),
});

export const income = polyvList<IncomeFilter, RawIncomeRecord, IncomeRecordModel>({
  name: 'income',
  endpoint: 'incomeDetail',
  pageNumberParam: 'page',
  request: (filter) => ({
    method: 'POST',
    path: `/live/v2/user/${encodeURIComponent(filter.userId)}/get-income-detail`,
    envelope: 'v2',
    data: rawPage,
    params: { startDate: filter.startDate, endDate: filter.endDate, channelId: filter.channelId },
  }),
  toModel: toIncomeRecord,
  keyOf: (record) => ({ id: record.id, time: record.paidAt.getTime() }),
});

function toIncomeRecord(raw: RawIncomeRecord): IncomeRecordModel {
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
