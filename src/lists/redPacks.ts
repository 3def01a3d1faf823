/**
 * The red-pack list: a channel's red packs with their receives, from Polyv's red-pack dispatch
 * statistics (GET /live/v4/channel/red-pack/statistics/list), newest first.
 */
import { z } from 'zod';
import {
  allotTypeFromLabel,
  instantFromMillis,
  money,
  redPackStatusFromLabel,
  redPackTypeFromLabel,
  yuanToFen,
} from '../domain/convert.js';
import type { RedPackModel } from '../domain/models.js';
import { idString, millis, optionalText, yuan } from '../polyv/responses.js';
import { polyvList } from './list.js';

/** The filters of one red-pack list; every page of the list shares them. */
export interface RedPackFilter {
  channelId: string;
  sessionId?: string | undefined;
  /** Inclusive bounds on createdTime, ms. */
  startTime?: number | undefined;
  endTime?: number | undefined;
}

const rawReceive = z.object({
  redPackId: idString,
  userId: z.string(),
  nickName: optionalText,
  avatar: optionalText,
  amount: yuan,
  createdTime: millis,
});

const rawRedPack = z.object({
  redPackId: idString,
  userId: z.string(),
  channelId: idString,
  nickName: optionalText,
  amount: yuan,
  balance: yuan,
  allotType: z.string(),
  createdTime: millis,
  status: z.string(),
  redPackType: z.string(),
  channelSessionId: idString.nullish(),
  sessionId: idString.nullish(),
  redPackReceiveList: z
    .array(rawReceive)
    .nullish()
    .transform((list) => list ?? []),
});
type RawRedPack = z.infer<typeof rawRedPack>;

const rawPage = z.object({
  pageNumber: z.number().int(),
  pageSize: z.number().int(),
  totalPages: z.number().int().nonnegative(),
  totalItems: z.number().int().nonnegative(),
  contents: z.array(rawRedPack),
});

export const redPacks = polyvList<RedPackFilter, RawRedPack, RedPackModel>({
  name: 'redPacks',
  endpoint: 'redPackStatistics',
  pageNumberParam: 'pageNumber',
  request: (filter) => ({
    method: 'GET',
    path: '/live/v4/channel/red-pack/statistics/list',
    envelope: 'v4',
    data: rawPage,
    params: {
      channelId: filter.channelId,
      sessionId: filter.sessionId,
      startTime: filter.startTime,
      endTime: filter.endTime,
    },
  }),
  toModel: toRedPack,
  keyOf: (redPack) => ({ id: redPack.id, time: redPack.createdAt.getTime() }),
});

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
