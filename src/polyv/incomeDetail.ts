/** Endpoint: account income detail (POST /live/v2/user/{userId}/get-income-detail, form body). */
import { instantFromMillis, money, payTypeFromCode, yuanToFen } from '../domain/convert.js';
import type { IncomeRecordModel } from '../domain/models.js';
import type { PolyvPage } from './page.js';
import type { PolyvPages, PolyvCallOptions } from './pages.js';
import { incomePage, type RawIncomeRecord } from './responses.js';

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

export interface IncomePageQuery extends IncomeFilter {
  pageNumber: number;
  pageSize: number;
  /** Fetch anew, past every cache (part of the DataLoader key, never sent to Polyv). */
  fresh?: boolean;
}

export async function fetchIncomePage(
  upstream: PolyvPages,
  query: IncomePageQuery,
  options: PolyvCallOptions = {},
): Promise<PolyvPage<IncomeRecordModel>> {
  const { data, fetchedAt } = await upstream.call(
    {
      endpoint: 'incomeDetail',
      method: 'POST',
      path: `/live/v2/user/${encodeURIComponent(query.userId)}/get-income-detail`,
      envelope: 'v2',
      data: incomePage,
      params: {
        startDate: query.startDate,
        endDate: query.endDate,
        channelId: query.channelId,
        page: query.pageNumber,
        pageSize: query.pageSize,
      },
    },
    { ...options, fresh: options.fresh || query.fresh },
  );
  return {
    items: data.contents.map(toIncomeRecord),
    totalItems: data.totalItems,
    pageNumber: query.pageNumber,
    pageSize: query.pageSize,
    fetchedAt,
  };
}

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
