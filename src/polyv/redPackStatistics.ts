/** Endpoint: red-pack dispatch statistics of a channel (GET /live/v4/channel/red-pack/statistics/list). */
import {
  allotTypeFromLabel,
  instantFromMillis,
  money,
  redPackStatusFromLabel,
  redPackTypeFromLabel,
  yuanToFen,
} from '../domain/convert.js';
import type { RedPackModel } from '../domain/models.js';
import type { PolyvPage } from './page.js';
import type { PolyvPages, PolyvCallOptions } from './pages.js';
import { redPackPage, type RawRedPack } from './responses.js';

/** The filters of one red-pack list; every page of the list shares them. */
export interface RedPackFilter {
  channelId: string;
  sessionId?: string | undefined;
  /** Inclusive bounds on createdTime, ms. */
  startTime?: number | undefined;
  endTime?: number | undefined;
}

export interface RedPackPageQuery extends RedPackFilter {
  pageNumber: number;
  pageSize: number;
  /** Fetch anew, past every cache (part of the DataLoader key, never sent to Polyv). */
  fresh?: boolean;
}

export async function fetchRedPackPage(
  upstream: PolyvPages,
  query: RedPackPageQuery,
  options: PolyvCallOptions = {},
): Promise<PolyvPage<RedPackModel>> {
  const { data, fetchedAt } = await upstream.call(
    {
      endpoint: 'redPackStatistics',
      method: 'GET',
      path: '/live/v4/channel/red-pack/statistics/list',
      envelope: 'v4',
      data: redPackPage,
      params: {
        channelId: query.channelId,
        sessionId: query.sessionId,
        startTime: query.startTime,
        endTime: query.endTime,
        pageNumber: query.pageNumber,
        pageSize: query.pageSize,
      },
    },
    { ...options, fresh: options.fresh || query.fresh },
  );
  return {
    items: data.contents.map(toRedPack),
    totalItems: data.totalItems,
    pageNumber: query.pageNumber,
    pageSize: query.pageSize,
    fetchedAt,
  };
}

function toRedPack(raw: RawRedPack): RedPackModel {
  return {
    id: raw.redPackId,
    channelId: raw.channelId,
    sessionId: raw.channelSessionId ?? raw.sessionId ?? null,
    sender: { openId: raw.userId, nickname: raw.nickName, avatarUrl: null },
    amount: money(yuanToFen(raw.amount)),
    balance: money(yuanToFen(raw.balance)),
    allotType: allotTypeFromLabel(raw.allotType),
    allotTypeLabel: raw.allotType,
    status: redPackStatusFromLabel(raw.status),
    statusLabel: raw.status,
    type: redPackTypeFromLabel(raw.redPackType),
    typeLabel: raw.redPackType,
    createdAt: instantFromMillis(raw.createdTime),
    receives: raw.redPackReceiveList.map((receive) => ({
      redPackId: receive.redPackId,
      user: { openId: receive.userId, nickname: receive.nickName, avatarUrl: receive.avatar },
      amount: money(yuanToFen(receive.amount)),
      receivedAt: instantFromMillis(receive.createdTime),
    })),
  };
}
